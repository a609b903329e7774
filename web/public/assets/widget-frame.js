// @ts-check
/** The chat inside the widget's frame: a launcher button, and when open the
 * conversation, with files, and a rating when the operator closes it. It
 * speaks the language of the widget's settings. The visitor's token stays in
 * this frame's storage; the company's page never sees it. */

import { api } from './api.js';
import { h, show } from './dom.js';
import { t, fixLanguage } from './i18n.js';
import { Live, resumeAfter, wsUrl } from './live.js';
import { renderMessage, clientId } from './messages.js';
import { explain } from './forms.js';

const root = /** @type {HTMLElement} */ (document.getElementById('widget'));
const widgetId = location.pathname.split('/')[2] || '';
const TOKEN_KEY = `ostrog.visitor.${widgetId}`;
/** The page the widget is on, as the loader passed it (in the fragment, which
 * no request carries); the operator sees it beside the conversation. */
const page = new URLSearchParams(location.hash.slice(1)).get('page') || '';

/** @type {Map<number, any>} */
const seen = new Map();
/** Sends not yet acknowledged by client id: waiting, or failed with a reason.
 * @typedef {{ text: string, failed: string, timer: number | undefined }} Pending
 * @type {Map<string, Pending>} */
const pending = new Map();
/** How long a send may wait for the server's acknowledgement before it counts as failed. */
const ACK_TIMEOUT_MS = 8000;
/** @type {string | null} */
let conversationId = null;
let opened = false;

// The message list is what scrolls (the greeting scrolls with it, as the first item).
const messages = h('ol', { class: 'messages', id: 'messages', 'aria-live': 'polite' });
/** The greeting and the after-hours line, kept when the list is emptied. @type {HTMLElement[]} */
let intro = [];
const newMessages = h('button', { type: 'button', class: 'new-messages', id: 'new-messages', hidden: true });
/** Whether the visitor is at the newest message: then new ones scroll into view. */
let atNewest = true;
const status = h('p', { class: 'connection', role: 'status' });
const typing = h('p', { class: 'typing', 'aria-live': 'polite' });
const notice = h('p', { class: 'error', role: 'alert' });
const rating = h('div', { class: 'rating', id: 'rating' });
const consentBox = h('div', { class: 'consent', id: 'consent' });
/** @type {{ version: number, text: string, required: boolean, given: boolean } | null} */
let consent = null;
const input = /** @type {HTMLTextAreaElement} */ (h('textarea', { id: 'widget-input', rows: 2, maxlength: 4000 }));
const upload = /** @type {HTMLInputElement} */ (h('input', { type: 'file', id: 'widget-attach', class: 'visually-hidden' }));
const launcher = h('button', { type: 'button', class: 'launcher', id: 'launcher' });
const sendButton = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', id: 'widget-send' }));
const panel = h('section', { class: 'widget-panel', hidden: true });

/** @param {boolean} open */
function setOpen(open) {
  opened = open;
  panel.hidden = !open;
  launcher.hidden = open;
  window.parent.postMessage({ type: 'ostrog:resize', open }, '*');
  if (open) {
    toNewest();
    input.focus();
    markRead();
  }
}

/** Shows the newest message and hides the "new messages" pill. */
function toNewest() {
  messages.scrollTop = messages.scrollHeight;
  atNewest = true;
  newMessages.hidden = true;
}

/** The list grew: follow it if the visitor was at the newest message (or it
 * is their own); otherwise offer the pill rather than pull them away from
 * what they are reading. @param {boolean} own */
function grew(own) {
  if (own || atNewest || !opened) toNewest();
  else newMessages.hidden = false;
}

messages.addEventListener('scroll', () => {
  atNewest = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 32;
  if (atNewest) newMessages.hidden = true;
});
// A smaller panel (a phone's keyboard opening) keeps the newest in view.
new ResizeObserver(() => {
  if (atNewest) messages.scrollTop = messages.scrollHeight;
}).observe(messages);

/** @param {any} m */
function receive(m) {
  if (seen.has(m.seq)) return;
  seen.set(m.seq, m);
  conversationId = m.conversation_id;
  // Before a later message or a send still waiting (those stay last).
  const later = [...messages.children].find((li) => li.classList.contains('pending') || Number(li.getAttribute('data-seq')) > m.seq);
  const item = renderMessage(m, {
    mine: m.author.kind === 'visitor',
    file: (id) => `/api/v1/widget/${widgetId}/files/${id}`,
    thumbnail: (id) => `/api/v1/widget/${widgetId}/files/${id}/thumbnail`,
  });
  withToken(item);
  messages.insertBefore(item, later || null);
  grew(m.author.kind === 'visitor');
  typing.textContent = '';
  if (m.author.kind === 'employee') {
    if (opened) markRead();
    else launcher.classList.add('attention');
  }
}

/** Tells the operator how far the visitor has read (seen in the open panel). */
function markRead() {
  const seq = lastSeq();
  if (seq && conversationId && !document.hidden) live.send({ type: 'read', seq });
}

/** Fetches a file of this conversation with the visitor's token. @param {string} url */
async function authorized(url) {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${localStorage.getItem(TOKEN_KEY) || ''}` } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return URL.createObjectURL(await response.blob());
}

/** Files need the visitor's token, which links and images cannot send:
 * thumbnails are loaded, and downloads started, by the script instead.
 * @param {HTMLElement} item */
function withToken(item) {
  const img = item.querySelector('a.attachment img');
  if (img instanceof HTMLImageElement) {
    const url = img.src;
    img.removeAttribute('src');
    // A picture grows the list when it arrives: keep the newest in view.
    img.addEventListener('load', () => {
      if (atNewest) toNewest();
    });
    authorized(url).then((blob) => (img.src = blob)).catch(() => img.remove());
  }
  const link = item.querySelector('a.attachment');
  if (link instanceof HTMLAnchorElement) {
    link.addEventListener('click', async (e) => {
      e.preventDefault();
      try {
        const save = h('a', { href: await authorized(link.href), download: link.getAttribute('download') || 'file' });
        save.click();
      } catch {
        notice.textContent = t('error.offline');
      }
    });
  }
}

function lastSeq() {
  return seen.size ? Math.max(...seen.keys()) : 0;
}

/** @param {import('./frames.js').ToVisitor} f */
function onFrame(f) {
  switch (f.type) {
    case 'welcome':
      localStorage.setItem(TOKEN_KEY, f.token);
      consent = f.consent;
      renderConsent();
      if (f.conversation) {
        conversationId = f.conversation.id;
        live.send({ type: 'sync', after_seq: resumeAfter(seen) });
      }
      break;
    case 'ack':
      window.clearTimeout(pending.get(f.client_id)?.timer);
      pending.delete(f.client_id);
      renderPending();
      break;
    case 'message':
      receive(f.message);
      break;
    case 'messages':
      f.items.forEach(receive);
      break;
    case 'typing':
      typing.textContent = t('widget.operator_typing');
      window.setTimeout(() => (typing.textContent = ''), 4000);
      break;
    case 'closed':
      askRating();
      break;
    case 'consent':
      if (consent) consent.given = f.accepted;
      renderConsent();
      if (!f.accepted) notice.textContent = t('widget.consent_withdrawn');
      break;
    case 'rated':
      show(rating, h('p', {}, t('widget.thanks')));
      break;
    case 'error':
      if (f.code === 'invalid_token') {
        forget();
        break;
      }
      if (f.client_id && pending.has(f.client_id)) {
        failSend(f.client_id, explain({ code: f.code }));
        break;
      }
      notice.textContent = explain({ code: f.code });
      break;
  }
}

/** Our data was erased (or our token is gone): from now on a new visitor. */
function forget() {
  localStorage.removeItem(TOKEN_KEY);
  seen.clear();
  pending.forEach((p) => window.clearTimeout(p.timer));
  pending.clear();
  conversationId = null;
  show(messages, intro);
  renderPending();
}

/** The company's consent text until the visitor accepts it; then a way to withdraw it. */
function renderConsent() {
  const blocked = !!consent && consent.required && !consent.given;
  input.disabled = blocked;
  sendButton.disabled = blocked;
  if (!consent) return show(consentBox);
  const version = consent.version;
  if (consent.given) {
    return show(
      consentBox,
      h('button', { type: 'button', class: 'link', id: 'consent-withdraw', onclick: () => live.send({ type: 'consent', version, accepted: false }) }, t('widget.consent_withdraw')),
    );
  }
  show(
    consentBox,
    h('p', { class: 'consent-text', id: 'consent-text' }, consent.text),
    h('button', { type: 'button', id: 'consent-accept', onclick: () => live.send({ type: 'consent', version, accepted: true }) }, t('widget.consent_accept')),
  );
}

/** Stars to choose, an optional comment, and "Send": nothing goes until
 * the visitor sends, so a slip of the finger on a star can be corrected. */
function askRating() {
  let chosen = 0;
  const comment = /** @type {HTMLTextAreaElement} */ (h('textarea', { id: 'rating-comment', maxlength: 1000, rows: 2 }));
  const submit = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', id: 'rating-send', disabled: true, onclick: () => live.send({ type: 'rate', rating: chosen, comment: comment.value.trim() || null }) }, t('widget.rate_send')));
  const stars = [1, 2, 3, 4, 5].map((n) =>
    h('button', {
      type: 'button', 'aria-label': t('widget.rate', { n }), 'aria-pressed': 'false', 'data-rating': n,
      onclick: () => {
        chosen = n;
        stars.forEach((s, i) => s.setAttribute('aria-pressed', String(i < n)));
        submit.disabled = false;
      },
    }, '★'));
  show(
    rating,
    h('p', {}, t('widget.closed')),
    h('div', { class: 'stars', role: 'group', 'aria-label': t('widget.closed') }, stars),
    h('label', { for: 'rating-comment' }, t('widget.rate_comment')),
    comment,
    submit,
  );
}

/** Sends still waiting, and failed ones with their reason and "Resend", after the messages. */
function renderPending() {
  messages.querySelectorAll('li.pending').forEach((li) => li.remove());
  for (const [id, p] of pending) {
    const state = p.failed
      ? h('small', { class: 'failed' }, t('message.failed', { reason: p.failed }), ' ', h('button', { type: 'button', class: 'link resend', onclick: () => transmit(id) }, t('message.resend')))
      : h('small', {}, t('message.sending'));
    messages.append(h('li', { class: `message mine pending ${p.failed ? 'failed' : 'waiting'}`, 'data-client-id': id }, h('p', {}, p.text), state));
  }
}

/** A send the server refused, or never acknowledged: say why, offer to resend.
 * @param {string} id @param {string} reason */
function failSend(id, reason) {
  const p = pending.get(id);
  if (!p) return;
  window.clearTimeout(p.timer);
  p.failed = reason;
  renderPending();
  grew(true);
}

/** Sends (or sends again: the server keeps a client id once) and waits for the acknowledgement. @param {string} id */
function transmit(id) {
  const p = pending.get(id);
  if (!p) return;
  p.failed = '';
  window.clearTimeout(p.timer);
  p.timer = window.setTimeout(() => failSend(id, t(live.online ? 'message.no_ack' : 'error.offline')), ACK_TIMEOUT_MS);
  live.send({ type: 'send', client_id: id, text: p.text });
  renderPending();
  grew(true);
}

function send() {
  const text = input.value.trim();
  if (!text) return;
  const id = clientId();
  pending.set(id, { text, failed: '', timer: undefined });
  input.value = '';
  show(rating);
  transmit(id);
}

async function attach() {
  const file = upload.files && upload.files[0];
  if (!file) return;
  const data = new FormData();
  data.append('file', file, file.name);
  notice.textContent = t('file.scanning');
  try {
    const response = await fetch(`/api/v1/widget/${widgetId}/files`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${localStorage.getItem(TOKEN_KEY) || ''}` },
      body: data,
    });
    const reply = await response.json().catch(() => ({}));
    notice.textContent = response.ok ? '' : explain({ code: (reply.error && reply.error.code) || `http_${response.status}` });
  } catch {
    notice.textContent = t('error.offline');
  }
  upload.value = '';
}

/** @type {Live} */
let live;
let typedAt = 0;

async function start() {
  const info = await api('GET', `/api/v1/widget/${widgetId}`);
  fixLanguage(info.language);
  launcher.setAttribute('aria-label', t('widget.open'));
  launcher.replaceChildren(h('img', { src: new URL('./chat.svg', import.meta.url).href, alt: '' }));
  launcher.addEventListener('click', () => {
    launcher.classList.remove('attention');
    setOpen(true);
  });
  input.setAttribute('aria-label', t('widget.placeholder'));
  input.setAttribute('placeholder', t('widget.placeholder'));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    } else if (conversationId && Date.now() - typedAt > 2000) {
      // Once in a while is enough for "typing…"; a frame per key would hit the rate limit.
      typedAt = Date.now();
      live.send({ type: 'typing' });
    }
  });
  upload.addEventListener('change', attach);
  sendButton.textContent = t('widget.send');
  show(
    panel,
    h(
      'header',
      {},
      h('h1', {}, info.name),
      h('button', { type: 'button', class: 'quiet', id: 'widget-close', 'aria-label': t('widget.close'), onclick: () => setOpen(false) }, '×'),
    ),
    status,
    h('div', { class: 'widget-body' }, messages, newMessages),
    typing,
    rating,
    consentBox,
    notice,
    h(
      'form',
      { class: 'composer', onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); send(); } },
      input,
      h('div', { class: 'actions' }, h('label', { class: 'button quiet icon', for: 'widget-attach', title: t('widget.attach') }, h('img', { src: new URL('./paperclip.svg', import.meta.url).href, alt: t('widget.attach') })), upload, sendButton),
    ),
  );
  intro = [info.greeting ? h('li', { class: 'greeting' }, info.greeting) : null, info.open_now ? null : h('li', { class: 'greeting' }, t('widget.after_hours'))].filter((x) => x !== null);
  show(messages, intro);
  newMessages.textContent = t('widget.new_messages');
  newMessages.addEventListener('click', toNewest);
  show(root, launcher, panel);
  // The loader keeps the frame hidden until now: a refused or broken frame never shows.
  window.parent.postMessage({ type: 'ostrog:ready' }, '*');
  live = new Live(wsUrl(`/api/v1/widget/${widgetId}/ws`), {
    onState: (online) => {
      status.textContent = online ? '' : t('widget.offline');
    },
    onOpen: () => {
      const token = localStorage.getItem(TOKEN_KEY);
      // Sends still waiting go again (the server keeps each once); failed ones wait for "Resend".
      const again = [...pending].filter(([, p]) => !p.failed).map(([client_id, p]) => ({ type: 'send', client_id, text: p.text }));
      return [{ type: 'hello', v: 1, ...(token ? { token } : {}), ...(page ? { page } : {}) }, ...again];
    },
    onFrame,
    // Cut off by the server: this visitor's data was erased. Start afresh.
    onRevoked: () => {
      forget();
      window.setTimeout(() => live.connect(), 1000);
    },
  });
}

start().catch((e) => show(root, h('p', { class: 'error' }, String(e && e.message))));
