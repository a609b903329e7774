// @ts-check
/** One message as both sides show it. Text is always text (never HTML). */

import { h, time } from './dom.js';
import { t } from './i18n.js';

/**
 * @param {any} m a message as the API and the protocol give it
 * @param {{ mine: boolean, file: (id: string) => string, thumbnail: (id: string) => string, names?: (id: string) => string }} how
 */
export function renderMessage(m, how) {
  const classes = ['message', m.kind, how.mine ? 'mine' : 'theirs'];
  if (m.kind === 'event') {
    // A transfer's note is for the employees (visitors never get transfer events).
    const note = m.event && m.event.name === 'transferred' && m.event.note ? h('q', { class: 'event-note' }, m.event.note) : null;
    return h('li', { class: 'message event', 'data-seq': m.seq }, h('span', {}, eventText(m.event, how.names)), note ? ' ' : null, note, ' ', h('time', {}, time(m.at)));
  }
  let body;
  if (m.kind === 'file' && m.file) {
    const f = m.file;
    body = h(
      'a',
      { class: 'attachment', href: how.file(f.file_id), download: f.name, rel: 'noopener' },
      f.thumbnail ? h('img', { src: how.thumbnail(f.file_id), alt: f.name, loading: 'lazy' }) : null,
      h('span', {}, `${f.name} (${size(f.size)})`),
      h('small', { class: 'scan' }, t('file.scanned')),
    );
  } else {
    body = h('p', {}, m.text);
  }
  return h(
    'li',
    { class: classes.join(' '), 'data-seq': m.seq },
    m.kind === 'note' ? h('small', { class: 'badge' }, t('message.note')) : null,
    body,
    h('time', { datetime: new Date(m.at).toISOString() }, time(m.at)),
  );
}

/**
 * @param {any} e
 * @param {((id: string) => string) | undefined} names
 */
function eventText(e, names) {
  const who = (/** @type {string} */ id) => (names ? names(id) : '');
  switch (e && e.name) {
    case 'assigned':
      return t('event.assigned', { who: who(e.operator) });
    case 'transferred':
      return e.from && who(e.from) ? t('event.transferred_from', { from: who(e.from), who: who(e.to) }) : t('event.transferred', { who: who(e.to) });
    case 'taken_over':
      return t('event.taken_over', { by: who(e.by), from: who(e.from) });
    case 'requeued':
      return t('event.requeued', { from: who(e.from), seconds: e.seconds });
    case 'closed':
      return t('event.closed');
    case 'reopened':
      return t('event.reopened');
    case 'rated':
      return e.comment ? t('event.rated_comment', { rating: e.rating, comment: e.comment }) : t('event.rated', { rating: e.rating });
    case 'queued':
      return t('event.queued');
    default:
      return e && e.name ? e.name : '';
  }
}

/** @param {number} bytes */
export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A random id for a message, so that sending it twice stores it once. */
export function clientId() {
  // crypto.randomUUID needs a secure context; an intranet http:// address is not one.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
