// @ts-check
/** The open conversation: its header (take, transfer, close, the client's
 * data), its messages paged in as the operator scrolls up, with masked
 * personal data revealed on request, delivery marks and read ticks; the
 * client typing; refusals. Alt+K closes the open conversation. */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';
import { renderMessage } from '../../messages.js';
import { explain } from '../../forms.js';
import { transferForm } from './transfer.js';
import { contactName, contactPanel } from './contact.js';
import { conversationLabels } from './labels.js';
import { colleaguesHere } from './here.js';

const PAGE = 200;

/**
 * @param {import('./state.js').State} state
 * @param {HTMLElement} pane the conversation's section
 * @param {{ pending: HTMLElement, form: HTMLElement }} composer the composer's nodes, shown under the messages
 * @returns {() => void} what to do when the screen is left
 */
export function conversationPane(state, pane, composer) {
  const { me, holds, seesAll } = state;
  /** Names of the colleagues connected now, for events and the header. */
  const learnNames = () =>
    api('GET', '/api/v1/presence')
      .then((list) => list.forEach((/** @type {any} */ p) => state.colleagues.set(p.employee_id, p.name)))
      .catch(() => {});
  learnNames();

  const messages = h('ol', { class: 'messages', id: 'messages', 'aria-live': 'polite' });
  const typing = h('p', { class: 'typing', 'aria-live': 'polite' });
  const header = h('div', { class: 'conversation-header' });
  const notice = h('p', { class: 'error', id: 'notice', role: 'alert' });
  const contact = h('div', { class: 'contact' });
  const confirmation = h('p', { class: 'confirmation', id: 'confirmation', role: 'status' });
  const here = colleaguesHere(state);
  const labels = conversationLabels(state);

  messages.addEventListener('scroll', () => {
    if (messages.scrollTop < 40) loadOlder();
  });

  state.subscribe('opened', opened);
  state.subscribe('header', renderHeader);
  state.subscribe('message', appendMessage);
  state.subscribe('typing', showTyping);
  state.subscribe('delivery', markDelivery);
  state.subscribe('read', markRead);
  state.subscribe('notice', (/** @type {string} */ text) => (notice.textContent = text));
  state.subscribe('confirmed', (/** @type {string} */ text) => (confirmation.textContent = text));
  state.subscribe('lost', (/** @type {string} */ id) => {
    if (id !== state.openId || state.handingOver.delete(id)) return;
    const c = state.conversations.get(id);
    const who = c && c.operator_id ? state.colleagues.get(c.operator_id) || t('workplace.colleague') : '';
    notice.textContent = who ? t('workplace.taken_from_you', { who }) : t('workplace.requeued_from_you');
  });
  state.subscribe('leaving', () => {
    notice.textContent = '';
    confirmation.textContent = '';
  });

  async function opened() {
    const id = /** @type {string} */ (state.openId);
    // Colleagues who connected since the page loaded are named in its events too.
    await learnNames();
    if (id !== state.openId) return;
    show(messages);
    show(pane, header, labels, here, contact, messages, typing, composer.pending, confirmation, notice, composer.form);
    renderHeader();
    contactPanel(state, contact, id);
    await loadOlder();
    const c = state.conversations.get(id);
    if (c && c.channel !== 'widget') {
      api('GET', `/api/v1/conversations/${id}/deliveries`)
        .then((list) => id === state.openId && list.forEach(markDelivery))
        .catch(() => {});
    }
  }

  /** A reply's way to the messenger: sending, sent, or not delivered and why. @param {any} d */
  function markDelivery(d) {
    state.deliveries.set(d.seq, d);
    const li = messages.querySelector(`li[data-seq="${d.seq}"]`);
    if (!li) return;
    li.querySelector('.delivery')?.remove();
    li.append(deliveryMark(d));
  }

  /** @param {any} d */
  function deliveryMark(d) {
    const text = d.status === 'failed' ? t('delivery.failed', { reason: d.error || '' }) : t(`delivery.${d.status}`);
    return h('small', { class: `delivery ${d.status}`, role: d.status === 'failed' ? 'alert' : undefined }, text);
  }

  function renderHeader() {
    const c = state.openId ? state.conversations.get(state.openId) : null;
    if (!c) return show(header);
    const mine = c.operator_id === me.employee.id;
    // An operator who sees only their own (it was taken over): nothing to do here any more.
    const mayAct = mine || seesAll;
    composer.form.style.display = mayAct ? '' : 'none';
    show(
      header,
      h('h2', {}, contactName(state, c.visitor_id)),
      h('span', { class: `state ${c.state}` }, t(`state.${c.state}`)),
      c.operator_id && !mine ? h('span', { class: 'assignee' }, t('workplace.assigned_to', { who: state.colleagues.get(c.operator_id) || t('workplace.colleague') })) : null,
      // Offered only where the server takes it: a holder of `conversations.all`
      // takes a waiting conversation, or takes over one assigned to someone else.
      seesAll && !mine && c.state !== 'closed'
        ? h('button', { type: 'button', id: 'take', onclick: () => (c.operator_id ? act('take_over', { from: c.operator_id }) : act('take')) }, t(c.operator_id ? 'workplace.take_over' : 'workplace.take'))
        : null,
      holds('conversations.transfer') && c.state === 'assigned'
        ? h('button', { type: 'button', id: 'transfer', class: 'quiet', onclick: () => transferForm(state, header) }, t('workplace.transfer'))
        : null,
      c.state !== 'closed' && mayAct ? h('button', { type: 'button', id: 'close', class: 'quiet', onclick: () => act('close') }, t('workplace.close')) : null,
      holds('personal_data.export') || holds('personal_data.erase') ? clientData(c.visitor_id) : null,
    );
  }

  /** A way to the subject's data (requests, export, erasure) in the cabinet. @param {string} visitor */
  function clientData(visitor) {
    const href = `/personal-data?visitor=${visitor}`;
    return h(
      'a',
      {
        href,
        id: 'client-data',
        class: 'button quiet',
        onclick: (/** @type {MouseEvent} */ e) => {
          e.preventDefault();
          window.history.pushState(null, '', href);
          window.dispatchEvent(new PopStateEvent('popstate'));
        },
      },
      t('workplace.client_data'),
    );
  }

  /** @param {'take' | 'close'} what */
  /** @param {string} what @param {object} [body] */
  async function act(what, body) {
    if (!state.openId) return;
    try {
      const c = await api('POST', `/api/v1/conversations/${state.openId}/${what}`, body);
      if (c && c.id) state.conversations.set(c.id, { ...state.conversations.get(c.id), ...c });
      renderHeader();
      state.notify('list');
    } catch (err) {
      notice.textContent = explain(err);
    }
  }

  async function loadOlder() {
    const id = state.openId;
    if (!id || state.oldest <= 1 || state.loadingFor === id) return;
    state.loadingFor = id;
    try {
      await loadPage(id);
    } finally {
      if (state.loadingFor === id) state.loadingFor = null;
    }
  }

  /** @param {string} id */
  async function loadPage(id) {
    // The first page is the latest one; then each page is the one before.
    const before = `&before=${state.oldest === Infinity ? Number.MAX_SAFE_INTEGER : state.oldest}`;
    const first = state.oldest === Infinity;
    try {
      const page = await api('GET', `/api/v1/conversations/${id}/messages?limit=${PAGE}${before}`);
      if (id !== state.openId) return;
      const fresh = page.items.filter((/** @type {any} */ m) => !state.history.has(m.seq));
      if (!fresh.length) {
        state.oldest = 1;
        return;
      }
      const keep = messages.scrollHeight - messages.scrollTop;
      // One insertion (one layout) per page, however long it is.
      const earlier = document.createDocumentFragment();
      for (const m of fresh) {
        state.history.set(m.seq, m);
        state.oldest = Math.min(state.oldest, m.seq);
        earlier.append(item(m));
      }
      messages.insertBefore(earlier, messages.firstChild);
      if (first) messages.scrollTop = messages.scrollHeight;
      else messages.scrollTop = messages.scrollHeight - keep;
      markRead();
      const last = Math.max(...state.history.keys());
      state.send({ type: 'read', conversation_id: id, seq: last });
    } catch (err) {
      notice.textContent = explain(err);
    }
  }

  /** @param {any} m */
  function item(m) {
    const li = renderMessage(m, {
      mine: m.author.kind === 'employee',
      file: (id) => `/api/v1/files/${id}`,
      thumbnail: (id) => `/api/v1/files/${id}/thumbnail`,
      names: (id) => state.colleagues.get(id) || '',
    });
    if (m.author.kind === 'employee' && m.kind !== 'note') li.classList.add('to-visitor');
    if (m.personal_data && holds('personal_data.reveal')) li.append(revealButtons(m));
    const d = state.deliveries.get(m.seq);
    if (d) li.append(deliveryMark(d));
    return li;
  }

  /** One button per masked value; each reveal asks why and is audited. @param {any} m */
  function revealButtons(m) {
    const box = h('div', { class: 'reveal' });
    for (const p of m.personal_data) {
      const button = h('button', { type: 'button', class: 'link', 'data-reveal': p.index }, t('reveal.button', { what: t(`reveal.${p.category}`) }));
      button.addEventListener('click', async () => {
        const reason = prompt(t('reveal.reason'));
        if (!reason || !reason.trim()) return;
        try {
          const r = await api('POST', `/api/v1/conversations/${m.conversation_id}/messages/${m.seq}/reveal`, { index: p.index, reason });
          button.replaceWith(h('span', { class: 'revealed' }, `${t(`reveal.${r.category}`)}: `, h('code', {}, r.value)));
        } catch (err) {
          notice.textContent = explain(err);
        }
      });
      box.append(button);
    }
    return box;
  }

  /** Our messages the client has seen get a double tick. */
  function markRead() {
    const upTo = (state.openId && state.readUpTo.get(state.openId)) || 0;
    for (const li of messages.querySelectorAll('li.to-visitor:not(.read)')) {
      if (Number(li.getAttribute('data-seq')) <= upTo) {
        li.classList.add('read');
        li.setAttribute('title', t('message.read'));
      }
    }
  }

  /** @param {any} m */
  function appendMessage(m) {
    const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 60;
    const later = [...messages.children].find((li) => Number(li.getAttribute('data-seq')) > m.seq);
    messages.insertBefore(item(m), later || null);
    if (atBottom || m.author.kind === 'employee') messages.scrollTop = messages.scrollHeight;
    typing.textContent = '';
    markRead();
  }

  /** @type {number | undefined} */
  let typingTimer;
  function showTyping() {
    typing.textContent = t('workplace.typing');
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(() => (typing.textContent = ''), 4000);
  }

  /** Alt+K: close the open conversation. @param {KeyboardEvent} e */
  function shortcuts(e) {
    if (e.altKey && e.code === 'KeyK' && state.openId) {
      e.preventDefault();
      act('close');
    }
  }
  document.addEventListener('keydown', shortcuts);

  return () => document.removeEventListener('keydown', shortcuts);
}
