// @ts-check
/** The contact's earlier conversations in the contact panel: each with its
 * dates and outcome (who closed it, the rating), opening read-only in a
 * dialog — its transcript, no composer. A visitor has one conversation
 * that reopens when they write again; the server lists each stretch from
 * opening to closing as a conversation of its own. */

import { api } from '../../api.js';
import { h, show, dateTime } from '../../dom.js';
import { t } from '../../i18n.js';
import { renderMessage } from '../../messages.js';
import { explain } from '../../forms.js';

const PAGE = 200;

/**
 * Fills `box` with the earlier conversations of conversation `id`'s contact.
 * @param {import('./state.js').State} state
 * @param {HTMLElement} box
 * @param {string} id
 */
export async function historyPanel(state, box, id) {
  show(box);
  let page;
  try {
    page = await api('GET', `/api/v1/conversations/${id}/contact/conversations`);
  } catch (err) {
    show(box, h('p', { class: 'error', role: 'alert' }, explain(err)));
    return;
  }
  if (id !== state.openId) return;
  const earlier = page.items.filter((/** @type {any} */ c) => !c.current);
  const list = earlier.length
    ? h('ol', { class: 'past-conversations' }, earlier.map((/** @type {any} */ c) => h('li', {}, entry(state, id, c))))
    : h('p', { class: 'quiet' }, t('history.none'));
  show(
    box,
    h('details', { class: 'context-panel', id: 'contact-history' }, h('summary', {}, t('history.title', { n: earlier.length })), list),
  );
}

/** What a past conversation's line says: when, and how it ended. @param {any} c */
export function outcome(c) {
  if (c.to_seq == null) return t('history.open');
  const closed = c.closed_by_name
    ? t('history.closed_by', { who: c.closed_by_name, when: dateTime(c.closed_at) })
    : t('history.closed', { when: dateTime(c.closed_at) });
  return c.rating ? `${closed} · ${t('history.rating', { rating: c.rating })}` : closed;
}

/**
 * @param {import('./state.js').State} state
 * @param {string} id
 * @param {any} c
 */
function entry(state, id, c) {
  return h(
    'button',
    { type: 'button', class: 'past-conversation', onclick: () => readOnly(state, id, c) },
    h('strong', {}, t('history.started', { when: dateTime(c.started_at) })),
    h('span', { class: 'outcome' }, outcome(c)),
  );
}

/**
 * The transcript of one past conversation, read-only, in a dialog.
 * @param {import('./state.js').State} state
 * @param {string} id
 * @param {any} c
 */
async function readOnly(state, id, c) {
  const messages = h('ol', { class: 'messages read-only' });
  const error = h('p', { class: 'error', role: 'alert' });
  const dialog = /** @type {HTMLDialogElement} */ (
    h(
      'dialog',
      { class: 'past-transcript', id: 'past-conversation', 'aria-labelledby': 'past-conversation-title' },
      h(
        'header',
        {},
        h('h2', { id: 'past-conversation-title' }, t('history.started', { when: dateTime(c.started_at) })),
        h('button', { type: 'button', class: 'quiet', id: 'past-conversation-close', onclick: () => dialog.close() }, t('close')),
      ),
      h('p', { class: 'quiet' }, `${outcome(c)} · ${t('history.read_only')}`),
      messages,
      error,
    )
  );
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  const end = c.to_seq == null ? Number.MAX_SAFE_INTEGER : c.to_seq + 1;
  let after = c.after_seq;
  try {
    for (;;) {
      const page = await api('GET', `/api/v1/conversations/${id}/messages?after=${after}&before=${end}&limit=${PAGE}`);
      for (const m of page.items) {
        messages.append(
          renderMessage(m, {
            mine: m.author.kind === 'employee',
            file: (f) => `/api/v1/files/${f}`,
            thumbnail: (f) => `/api/v1/files/${f}/thumbnail`,
            names: (e) => state.colleagues.get(e) || '',
          }),
        );
        after = m.seq;
      }
      if (page.items.length < PAGE) break;
    }
  } catch (err) {
    error.textContent = explain(err);
  }
}
