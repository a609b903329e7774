// @ts-check
/** The workplace's live connection: the bar with the operator's presence and
 * whether the connection is up, and the server's frames applied to the
 * state. On every (re)connection it resends what the server has not
 * acknowledged and catches up on the open conversation. */

import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';
import { Live, resumeAfter, wsUrl } from '../../live.js';
import { endSession } from '../../nav.js';
import { explain } from '../../forms.js';

/**
 * @param {import('./state.js').State} state
 * @param {HTMLElement} bar where the presence and the connection's status go
 * @returns {() => void} closes the connection
 */
export function workplaceSocket(state, bar) {
  const { me, seesAll } = state;
  const status = h('p', { class: 'connection', role: 'status', 'aria-live': 'polite' }, t('live.connecting'));
  const presence = /** @type {HTMLSelectElement} */ (h(
    'select',
    { 'aria-label': t('presence.label'), id: 'presence', onchange: () => live.send({ type: 'presence', status: presence.value }) },
    ['online', 'away', 'offline'].map((s) => h('option', { value: s }, t(`presence.${s}`))),
  ));
  show(bar, presence, status);

  const live = new Live(wsUrl('/api/v1/ws'), {
    onState: (online) => {
      status.textContent = online ? t('live.online') : t('live.offline');
      status.className = `connection ${online ? 'online' : 'offline'}`;
    },
    onOpen: () => {
      // Catch up on what happened while away.
      state.notify('connected');
      const frames = [];
      for (const [id, p] of state.pending) frames.push({ type: 'send', client_id: id, ...p });
      if (state.openId) frames.push({ type: 'sync', conversation_id: state.openId, after_seq: resumeAfter(state.history) });
      if (state.openId && seesAll) frames.push({ type: 'subscribe', conversation_id: state.openId });
      if (state.openId) frames.push({ type: 'here', conversation_id: state.openId, activity: 'joined' });
      if (document.hidden) frames.push({ type: 'visibility', hidden: true });
      return frames;
    },
    onFrame,
    onRevoked: () => endSession(),
  });

  // Absent operators get no chats: a page put away (another site in the tab,
  // kept in the back/forward cache) closes its socket until it is shown again,
  // and a hidden page says so, for the server to set its operator away.
  const pagehide = () => {
    if (state.openId) live.send({ type: 'here', conversation_id: state.openId, activity: 'left' });
    live.pause();
  };
  const pageshow = () => live.resume();
  const visibility = () => {
    if (live.online) live.send({ type: 'visibility', hidden: document.hidden });
  };
  window.addEventListener('pagehide', pagehide);
  window.addEventListener('pageshow', pageshow);
  document.addEventListener('visibilitychange', visibility);

  state.subscribe('send', (frame) => live.send(frame));
  state.subscribe('leaving', () => {
    if (state.openId && seesAll) live.send({ type: 'unsubscribe', conversation_id: state.openId });
  });
  state.subscribe('opened', () => {
    if (seesAll) live.send({ type: 'subscribe', conversation_id: state.openId });
  });

  /** @param {import('../../frames.js').ToEmployee} f */
  function onFrame(f) {
    switch (f.type) {
      case 'welcome':
        presence.value = f.presence;
        break;
      case 'message':
        receive(f.message);
        break;
      case 'messages':
        f.items.forEach(receive);
        break;
      case 'ack': {
        const p = state.pending.get(f.client_id);
        state.pending.delete(f.client_id);
        if (p && state.openId === p.conversation_id) state.notify('pending');
        break;
      }
      case 'conversation': {
        const id = f.conversation.id;
        if (!state.conversations.has(id)) {
          // The frame carries only what changed; the list needs the rest.
          state.notify('missing', id);
          break;
        }
        const before = state.conversations.get(id);
        state.conversations.set(id, { ...before, ...f.conversation });
        if (before.operator_id === me.employee.id && f.conversation.operator_id !== me.employee.id) state.notify('lost', id);
        if (f.conversation.state === 'queued' || (f.conversation.operator_id === me.employee.id && !state.unread.has(id))) {
          state.notify('arrived', id);
        }
        state.notify('list');
        if (state.openId === id) state.notify('header');
        break;
      }
      case 'typing':
        if (f.conversation_id === state.openId) state.notify('typing');
        break;
      case 'colleague':
        if (f.employee_id !== me.employee.id) state.notify('colleague', f);
        break;
      case 'delivery':
        if (f.conversation_id === state.openId) state.notify('delivery', f);
        break;
      case 'read':
        state.readUpTo.set(f.conversation_id, Math.max(state.readUpTo.get(f.conversation_id) || 0, f.seq));
        if (f.conversation_id === state.openId) state.notify('read');
        break;
      case 'presence':
        if (f.employee_id === me.employee.id) presence.value = f.status;
        break;
      case 'error':
        // A refused send stays, with its reason, for the operator to resend (composer.js).
        if (f.client_id && state.pending.has(f.client_id)) state.notify('failed', { client_id: f.client_id, reason: explain({ code: f.code }) });
        break;
    }
  }

  /** @param {any} m */
  function receive(m) {
    const c = state.conversations.get(m.conversation_id);
    // The list's one-line preview (employees get texts masked).
    if (m.kind === 'text' && m.text) state.previews.set(m.conversation_id, m.text.split(/\s+/).join(' ').slice(0, 120));
    if (c) {
      c.last_seq = Math.max(c.last_seq || 0, m.seq);
      c.updated_at = m.at;
    } else {
      state.notify('missing', m.conversation_id);
    }
    if (m.conversation_id === state.openId) {
      if (!state.history.has(m.seq)) {
        state.history.set(m.seq, m);
        state.notify('message', m);
      }
      if (document.hasFocus()) live.send({ type: 'read', conversation_id: state.openId, seq: m.seq });
    } else if (m.author.kind === 'visitor') {
      state.unread.set(m.conversation_id, (state.unread.get(m.conversation_id) || 0) + 1);
    }
    state.notify('list');
  }

  return () => {
    window.removeEventListener('pagehide', pagehide);
    window.removeEventListener('pageshow', pageshow);
    document.removeEventListener('visibilitychange', visibility);
    live.close();
  };
}
