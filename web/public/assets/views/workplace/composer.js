// @ts-check
/** Writing to the client: the composer (Enter sends, Shift+Enter breaks the
 * line; `/` opens the quick replies, `replies.js`), internal notes,
 * attachments, and the sends still waiting for the server. What the
 * operator types is kept per conversation, and a message leaves the waiting
 * list only when the server acknowledged it, so a dropped connection loses
 * nothing. */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';
import { clientId } from '../../messages.js';
import { explain } from '../../forms.js';
import { quickReplies } from './replies.js';

/** How long a send may wait for the server's acknowledgement before it counts as failed. */
const ACK_TIMEOUT_MS = 8000;

/**
 * @param {import('./state.js').State} state
 * @param {HTMLElement} form the composer's form (`form.composer`)
 * @param {HTMLElement} pendingList the sends waiting for acknowledgement (`ul.pending`)
 */
export function conversationComposer(state, form, pendingList) {
  /** Why a send failed (refused, or not acknowledged in time), by client id. @type {Map<string, string>} */
  const failures = new Map();
  /** @type {Map<string, number>} */
  const timers = new Map();
  let typedAt = 0;
  const composer = /** @type {HTMLTextAreaElement} */ (h('textarea', { id: 'composer', rows: 3, 'aria-label': t('workplace.message'), maxlength: 4000 }));
  const upload = /** @type {HTMLInputElement} */ (h('input', { type: 'file', id: 'attach', class: 'visually-hidden' }));
  const replies = quickReplies(state, composer);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  composer.addEventListener('keydown', (e) => {
    // While the quick replies are open, the arrows, Enter and Esc are theirs.
    if (replies.keydown(e)) return;
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    } else if (state.openId && Date.now() - typedAt > 2000) {
      // Once in a while is enough for "typing…"; a frame per key would spend the socket's frame budget.
      typedAt = Date.now();
      state.send({ type: 'typing', conversation_id: state.openId });
    }
  });
  upload.addEventListener('change', async () => {
    const file = upload.files && upload.files[0];
    if (!file || !state.openId) return;
    const data = new FormData();
    data.append('file', file, file.name);
    state.notify('notice', t('file.scanning'));
    try {
      await api('POST', `/api/v1/conversations/${state.openId}/files`, data);
      state.notify('notice', '');
    } catch (err) {
      state.notify('notice', explain(err));
    }
    upload.value = '';
  });

  state.subscribe('leaving', saveDraft);
  state.subscribe('opened', render);
  state.subscribe('pending', renderPending);
  state.subscribe('failed', (/** @type {{client_id: string, reason: string}} */ f) => fail(f.client_id, f.reason));

  function render() {
    composer.value = (state.openId && state.drafts.get(state.openId)) || '';
    show(
      form,
      h('div', { class: 'composer-input' }, composer, replies.popup),
      h(
        'div',
        { class: 'actions' },
        h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'note-mode', onchange: (/** @type {Event} */ e) => { state.noteMode = /** @type {HTMLInputElement} */ (e.target).checked; composer.classList.toggle('note', state.noteMode); } }), t('workplace.as_note')),
        h('label', { class: 'button quiet', for: 'attach' }, t('workplace.attach')),
        upload,
        h('button', { type: 'button', class: 'quiet', id: 'quick-replies-open', title: t('replies.button_hint'), onclick: replies.start }, t('replies.button')),
        h('button', { type: 'submit', id: 'send' }, t('workplace.send')),
      ),
    );
    renderPending();
    composer.focus();
  }

  function send() {
    const text = composer.value.trim();
    if (!text || !state.openId) return;
    const id = clientId();
    state.pending.set(id, { conversation_id: state.openId, text, note: state.noteMode });
    composer.value = '';
    replies.sent();
    state.drafts.delete(state.openId);
    transmit(id);
  }

  /** Sends (or sends again: the server keeps a client id once); without an
   * acknowledgement in time the send counts as failed. @param {string} id */
  function transmit(id) {
    const p = state.pending.get(id);
    if (!p) return;
    failures.delete(id);
    window.clearTimeout(timers.get(id));
    timers.set(id, window.setTimeout(() => fail(id, t('message.no_ack')), ACK_TIMEOUT_MS));
    state.send({ type: 'send', client_id: id, ...p });
    renderPending();
  }

  /** @param {string} id @param {string} reason */
  function fail(id, reason) {
    if (!state.pending.has(id)) return;
    window.clearTimeout(timers.get(id));
    failures.set(id, reason);
    renderPending();
  }

  /** Sent but not yet acknowledged: greyed until the server has it; a failed
   * one says why and offers to resend. */
  function renderPending() {
    for (const id of failures.keys()) if (!state.pending.has(id)) failures.delete(id);
    const items = [...state.pending].filter(([, p]) => p.conversation_id === state.openId).map(([id, p]) => {
      const why = failures.get(id);
      const line = why
        ? h('small', { class: 'failed' }, t('message.failed', { reason: why }), ' ', h('button', { type: 'button', class: 'link resend', onclick: () => transmit(id) }, t('message.resend')))
        : h('small', {}, t('message.sending'));
      return h('li', { class: `message mine ${why ? 'failed' : 'waiting'}`, 'data-client-id': id }, h('p', {}, p.text), line);
    });
    show(pendingList, items);
  }

  function saveDraft() {
    if (state.openId) {
      if (composer.value) state.drafts.set(state.openId, composer.value);
      else state.drafts.delete(state.openId);
    }
  }
}
