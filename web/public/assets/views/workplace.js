// @ts-check
/** The operator workplace: conversation lists on the left, the open
 * conversation on the right, live through the operator WebSocket. What the
 * operator types is kept per conversation and survives a dropped connection:
 * a message leaves the composer only when the server acknowledged it. */

import { api } from '../api.js';
import { h, show, time } from '../dom.js';
import { t } from '../i18n.js';
import { Live, resumeAfter, wsUrl } from '../live.js';
import { renderMessage, clientId } from '../messages.js';
import { endSession } from '../nav.js';
import { explain } from '../forms.js';

const PAGE = 200;

/** A short tone for a new conversation, made here: no sound file to load. */
function chime() {
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.frequency.value = 880;
    volume.gain.setValueAtTime(0.15, audio.currentTime);
    volume.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.3);
    tone.connect(volume).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.3);
    tone.onended = () => audio.close();
  } catch {
    /* no sound here: the title and the list still show it */
  }
}

/**
 * @param {HTMLElement} main
 * @param {any} me
 * @param {(p: string) => boolean} holds
 * @returns {() => void} what to do when the screen is left
 */
export function workplaceView(main, me, holds) {
  const seesAll = holds('conversations.all');
  /** @type {Map<string, any>} conversations by id */
  const conversations = new Map();
  /** @type {Map<string, number>} */
  const unread = new Map();
  /** @type {Map<string, string>} names of colleagues, for "assigned to …" lines */
  const colleagues = new Map([[me.employee.id, me.employee.name]]);
  api('GET', '/api/v1/presence')
    .then((list) => list.forEach((/** @type {any} */ p) => colleagues.set(p.employee_id, p.name)))
    .catch(() => {});
  /** @type {Map<string, number>} how far the visitor has read, by conversation */
  const readUpTo = new Map();
  /** @type {Map<string, string>} drafts by conversation */
  const drafts = new Map();
  /** @type {Map<string, {conversation_id: string, text: string, note: boolean}>} unacknowledged sends by client id */
  const pending = new Map();
  let tab = 'mine';
  /** @type {string | null} */
  let openId = null;
  /** @type {Map<number, any>} messages of the open conversation by seq */
  let history = new Map();
  /** @type {Map<number, any>} where replies to a messenger stand, by seq (open conversation) */
  let deliveries = new Map();
  let oldest = Infinity;
  let noteMode = false;
  /** The conversation a page of history is on its way for: scrolling asks once. */
  /** @type {string | null} */
  let loadingFor = null;

  const status = h('p', { class: 'connection', role: 'status', 'aria-live': 'polite' }, t('live.connecting'));
  const presence = /** @type {HTMLSelectElement} */ (h(
    'select',
    { 'aria-label': t('presence.label'), id: 'presence', onchange: () => live.send({ type: 'presence', status: presence.value }) },
    ['online', 'away', 'offline'].map((s) => h('option', { value: s }, t(`presence.${s}`))),
  ));
  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  const list = h('ul', { class: 'conversations', id: 'conversation-list', 'aria-label': t('workplace.conversations') });
  const pane = h('section', { class: 'conversation', 'aria-live': 'off' }, h('p', { class: 'empty' }, t('workplace.pick')));

  show(
    main,
    h(
      'div',
      { class: 'workplace' },
      h('aside', { class: 'side' }, h('div', { class: 'bar' }, presence, status), tabs, list),
      pane,
    ),
  );

  const live = new Live(wsUrl('/api/v1/ws'), {
    onState: (online) => {
      status.textContent = online ? t('live.online') : t('live.offline');
      status.className = `connection ${online ? 'online' : 'offline'}`;
    },
    onOpen: () => {
      // Catch up on what happened while away.
      loadList();
      const frames = [];
      for (const [id, p] of pending) frames.push({ type: 'send', client_id: id, ...p });
      if (openId) frames.push({ type: 'sync', conversation_id: openId, after_seq: resumeAfter(history) });
      if (openId && seesAll) frames.push({ type: 'subscribe', conversation_id: openId });
      return frames;
    },
    onFrame,
    onRevoked: () => endSession(),
  });

  /** @param {any} f */
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
        const p = pending.get(f.client_id);
        pending.delete(f.client_id);
        if (p && openId === p.conversation_id) renderPending();
        break;
      }
      case 'conversation':
        if (!conversations.has(f.conversation.id)) {
          // The frame carries only what changed; the list needs the rest.
          fetchConversation(f.conversation.id);
          break;
        }
        conversations.set(f.conversation.id, { ...conversations.get(f.conversation.id), ...f.conversation });
        if (f.conversation.state === 'queued' || (f.conversation.operator_id === me.employee.id && !unread.has(f.conversation.id))) {
          notifyNew(f.conversation.id);
        }
        renderList();
        if (openId === f.conversation.id) renderHeader();
        break;
      case 'typing':
        if (f.conversation_id === openId) showTyping();
        break;
      case 'delivery':
        if (f.conversation_id === openId) markDelivery(f);
        break;
      case 'read':
        readUpTo.set(f.conversation_id, Math.max(readUpTo.get(f.conversation_id) || 0, f.seq));
        if (f.conversation_id === openId) markRead();
        break;
      case 'presence':
        if (f.employee_id === me.employee.id) presence.value = f.status;
        break;
      case 'error':
        if (f.client_id && pending.has(f.client_id)) {
          pending.delete(f.client_id);
          flash(explain({ code: f.code }));
        }
        break;
    }
  }

  /** @param {any} m */
  function receive(m) {
    const c = conversations.get(m.conversation_id);
    if (c) {
      c.last_seq = Math.max(c.last_seq || 0, m.seq);
      c.updated_at = m.at;
    } else {
      fetchConversation(m.conversation_id);
    }
    if (m.conversation_id === openId) {
      if (!history.has(m.seq)) {
        history.set(m.seq, m);
        appendMessage(m);
      }
      if (document.hasFocus()) live.send({ type: 'read', conversation_id: openId, seq: m.seq });
    } else if (m.author.kind === 'visitor') {
      unread.set(m.conversation_id, (unread.get(m.conversation_id) || 0) + 1);
    }
    renderList();
  }

  /** @param {string} id */
  function notifyNew(id) {
    if (!unread.has(id)) unread.set(id, 0);
    document.title = `(${[...unread.values()].filter((n) => n > 0).length || '•'}) ${t('nav.workplace')} · Ostrog`;
    if ('Notification' in window && Notification.permission === 'granted' && document.hidden) {
      new Notification(t('workplace.new_conversation'));
    }
    chime();
  }

  /** @param {string} id */
  async function fetchConversation(id) {
    try {
      const c = await api('GET', `/api/v1/conversations/${id}`);
      conversations.set(c.id, c);
      if (c.state === 'queued' || c.operator_id === me.employee.id) notifyNew(c.id);
      renderList();
    } catch (err) {
      flash(explain(err));
    }
  }

  async function loadList() {
    try {
      const states = tab === 'queue' ? ['queued'] : ['assigned', 'queued', 'new'];
      const lists = await Promise.all(states.map((s) => api('GET', `/api/v1/conversations?state=${s}&limit=200`)));
      for (const c of lists.flatMap((l) => l.items)) conversations.set(c.id, c);
      renderList();
    } catch (err) {
      flash(explain(err));
    }
  }

  function visible() {
    const all = [...conversations.values()];
    const shown = all.filter((c) => {
      if (tab === 'mine') return c.operator_id === me.employee.id && c.state !== 'closed';
      if (tab === 'queue') return c.state === 'queued' || c.state === 'new';
      return c.state !== 'closed';
    });
    return shown.sort((a, b) => b.updated_at - a.updated_at);
  }

  function renderList() {
    const names = seesAll ? ['mine', 'queue', 'all'] : ['mine'];
    show(
      tabs,
      names.map((n) =>
        h(
          'button',
          { type: 'button', role: 'tab', 'aria-selected': String(tab === n), id: `tab-${n}`, onclick: () => { tab = n; loadList(); renderList(); } },
          t(`workplace.${n}`),
        ),
      ),
    );
    const items = visible();
    show(
      list,
      items.length
        ? items.map((c) => {
            const count = unread.get(c.id) || 0;
            return h(
              'li',
              {},
              h(
                'button',
                {
                  type: 'button',
                  class: `conversation-item ${c.id === openId ? 'open' : ''}`,
                  'data-id': c.id,
                  'aria-current': c.id === openId ? 'true' : undefined,
                  onclick: () => open(c.id),
                },
                h('span', { class: 'title' }, `${t('workplace.visitor')} ${c.visitor_id.slice(0, 6)}`),
                h('span', { class: `channel-badge ${c.channel}` }, t(`channel.${c.channel}`)),
                h('span', { class: `state ${c.state}` }, t(`state.${c.state}`)),
                h('time', {}, time(c.updated_at)),
                count ? h('span', { class: 'unread', 'aria-label': t('workplace.unread', { n: count }) }, String(count)) : null,
              ),
            );
          })
        : h('li', { class: 'empty' }, t('workplace.none')),
    );
  }

  /** @param {string} id */
  async function open(id) {
    if (openId && seesAll) live.send({ type: 'unsubscribe', conversation_id: openId });
    saveDraft();
    openId = id;
    history = new Map();
    deliveries = new Map();
    oldest = Infinity;
    unread.delete(id);
    renderList();
    renderPane();
    if (seesAll) live.send({ type: 'subscribe', conversation_id: id });
    await loadOlder();
    const c = conversations.get(id);
    if (c && c.channel !== 'widget') {
      api('GET', `/api/v1/conversations/${id}/deliveries`)
        .then((list) => id === openId && list.forEach(markDelivery))
        .catch(() => {});
    }
  }

  /** A reply's way to the messenger: sending, sent, or not delivered and why. @param {any} d */
  function markDelivery(d) {
    deliveries.set(d.seq, d);
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

  const messages = h('ol', { class: 'messages', id: 'messages', 'aria-live': 'polite' });
  const typing = h('p', { class: 'typing', 'aria-live': 'polite' });
  const composer = /** @type {HTMLTextAreaElement} */ (h('textarea', { id: 'composer', rows: 3, 'aria-label': t('workplace.message'), maxlength: 4000 }));
  const header = h('div', { class: 'conversation-header' });
  const notice = h('p', { class: 'error', role: 'alert' });
  const upload = /** @type {HTMLInputElement} */ (h('input', { type: 'file', id: 'attach', class: 'visually-hidden' }));
  const pendingList = h('ul', { class: 'pending' });

  messages.addEventListener('scroll', () => {
    if (messages.scrollTop < 40) loadOlder();
  });
  composer.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    } else if (openId) {
      live.send({ type: 'typing', conversation_id: openId });
    }
  });
  upload.addEventListener('change', async () => {
    const file = upload.files && upload.files[0];
    if (!file || !openId) return;
    const data = new FormData();
    data.append('file', file, file.name);
    notice.textContent = t('file.scanning');
    try {
      await api('POST', `/api/v1/conversations/${openId}/files`, data);
      notice.textContent = '';
    } catch (err) {
      notice.textContent = explain(err);
    }
    upload.value = '';
  });

  function renderPane() {
    composer.value = (openId && drafts.get(openId)) || '';
    show(messages);
    show(
      pane,
      header,
      messages,
      typing,
      pendingList,
      notice,
      h(
        'form',
        { class: 'composer', onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); send(); } },
        composer,
        h(
          'div',
          { class: 'actions' },
          h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'note-mode', onchange: (/** @type {Event} */ e) => { noteMode = /** @type {HTMLInputElement} */ (e.target).checked; composer.classList.toggle('note', noteMode); } }), t('workplace.as_note')),
          h('label', { class: 'button quiet', for: 'attach' }, t('workplace.attach')),
          upload,
          h('button', { type: 'submit', id: 'send' }, t('workplace.send')),
        ),
      ),
    );
    renderHeader();
    renderPending();
    composer.focus();
  }

  function renderHeader() {
    const c = openId ? conversations.get(openId) : null;
    if (!c) return show(header);
    const mine = c.operator_id === me.employee.id;
    show(
      header,
      h('h2', {}, `${t('workplace.visitor')} ${c.visitor_id.slice(0, 6)}`),
      h('span', { class: `state ${c.state}` }, t(`state.${c.state}`)),
      seesAll && !mine && c.state !== 'closed'
        ? h('button', { type: 'button', id: 'take', onclick: () => act('take') }, t('workplace.take'))
        : null,
      holds('conversations.transfer') && c.state === 'assigned'
        ? h('button', { type: 'button', id: 'transfer', class: 'quiet', onclick: transferForm }, t('workplace.transfer'))
        : null,
      c.state !== 'closed' ? h('button', { type: 'button', id: 'close', class: 'quiet', onclick: () => act('close') }, t('workplace.close')) : null,
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

  /** Whom to hand the open conversation to: connected colleagues, with a note. */
  async function transferForm() {
    if (!openId) return;
    const id = openId;
    let colleagues;
    try {
      colleagues = (await api('GET', '/api/v1/presence')).filter((/** @type {any} */ p) => p.employee_id !== me.employee.id);
    } catch (err) {
      notice.textContent = explain(err);
      return;
    }
    const to = /** @type {HTMLSelectElement} */ (
      h('select', { id: 'transfer-to', 'aria-label': t('workplace.transfer_to') }, colleagues.map((/** @type {any} */ p) => h('option', { value: p.employee_id }, `${p.name} (${t(`presence.${p.status}`)})`)))
    );
    const note = /** @type {HTMLInputElement} */ (h('input', { id: 'transfer-note', maxlength: 1000, 'aria-label': t('workplace.transfer_note'), placeholder: t('workplace.transfer_note') }));
    const box = h(
      'form',
      {
        class: 'transfer',
        onsubmit: async (/** @type {Event} */ e) => {
          e.preventDefault();
          try {
            const c = await api('POST', `/api/v1/conversations/${id}/transfer`, { to: to.value, note: note.value });
            if (c && c.id) conversations.set(c.id, { ...conversations.get(c.id), ...c });
            renderHeader();
            renderList();
          } catch (err) {
            notice.textContent = explain(err);
          }
        },
      },
      colleagues.length ? [to, note, h('button', { type: 'submit', id: 'transfer-submit' }, t('workplace.transfer'))] : h('span', {}, t('workplace.nobody')),
    );
    header.append(box);
    (colleagues.length ? to : header).focus();
  }

  /** @param {'take' | 'close'} what */
  async function act(what) {
    if (!openId) return;
    try {
      const c = await api('POST', `/api/v1/conversations/${openId}/${what}`);
      if (c && c.id) conversations.set(c.id, { ...conversations.get(c.id), ...c });
      renderHeader();
      renderList();
    } catch (err) {
      notice.textContent = explain(err);
    }
  }

  async function loadOlder() {
    const id = openId;
    if (!id || oldest <= 1 || loadingFor === id) return;
    loadingFor = id;
    try {
      await loadPage(id);
    } finally {
      if (loadingFor === id) loadingFor = null;
    }
  }

  /** @param {string} id */
  async function loadPage(id) {
    // The first page is the latest one; then each page is the one before.
    const before = `&before=${oldest === Infinity ? Number.MAX_SAFE_INTEGER : oldest}`;
    const first = oldest === Infinity;
    try {
      const page = await api('GET', `/api/v1/conversations/${id}/messages?limit=${PAGE}${before}`);
      if (id !== openId) return;
      const fresh = page.items.filter((/** @type {any} */ m) => !history.has(m.seq));
      if (!fresh.length) {
        oldest = 1;
        return;
      }
      const keep = messages.scrollHeight - messages.scrollTop;
      // One insertion (one layout) per page, however long it is.
      const earlier = document.createDocumentFragment();
      for (const m of fresh) {
        history.set(m.seq, m);
        oldest = Math.min(oldest, m.seq);
        earlier.append(item(m));
      }
      messages.insertBefore(earlier, messages.firstChild);
      if (first) messages.scrollTop = messages.scrollHeight;
      else messages.scrollTop = messages.scrollHeight - keep;
      markRead();
      const last = Math.max(...history.keys());
      live.send({ type: 'read', conversation_id: id, seq: last });
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
      names: (id) => colleagues.get(id) || '',
    });
    if (m.author.kind === 'employee' && m.kind !== 'note') li.classList.add('to-visitor');
    if (m.personal_data && holds('personal_data.reveal')) li.append(revealButtons(m));
    const d = deliveries.get(m.seq);
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

  /** Our messages the visitor has seen get a double tick. */
  function markRead() {
    const upTo = (openId && readUpTo.get(openId)) || 0;
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

  function send() {
    const text = composer.value.trim();
    if (!text || !openId) return;
    const id = clientId();
    const p = { conversation_id: openId, text, note: noteMode };
    pending.set(id, p);
    live.send({ type: 'send', client_id: id, ...p });
    composer.value = '';
    drafts.delete(openId);
    renderPending();
  }

  /** Sent but not yet acknowledged: shown greyed until the server has it. */
  function renderPending() {
    show(
      pendingList,
      [...pending.values()].filter((p) => p.conversation_id === openId).map((p) => h('li', { class: 'message mine waiting' }, h('p', {}, p.text), h('small', {}, t('message.sending')))),
    );
  }

  /** @type {number | undefined} */
  let typingTimer;
  function showTyping() {
    typing.textContent = t('workplace.typing');
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(() => (typing.textContent = ''), 4000);
  }

  function saveDraft() {
    if (openId) {
      if (composer.value) drafts.set(openId, composer.value);
      else drafts.delete(openId);
    }
  }

  /** @param {string} text */
  function flash(text) {
    notice.textContent = text;
  }

  /** Alt+↓ / Alt+↑: next or previous conversation; Alt+K: close this one. */
  /** @param {KeyboardEvent} e */
  function shortcuts(e) {
    if (e.altKey && e.code === 'KeyK' && openId) {
      e.preventDefault();
      act('close');
      return;
    }
    if (!e.altKey || (e.key !== 'ArrowDown' && e.key !== 'ArrowUp')) return;
    const items = visible();
    if (!items.length) return;
    const at = items.findIndex((c) => c.id === openId);
    const next = e.key === 'ArrowDown' ? (at + 1) % items.length : (at - 1 + items.length) % items.length;
    e.preventDefault();
    open(items[next].id);
  }
  document.addEventListener('keydown', shortcuts);
  if ('Notification' in window && Notification.permission === 'default') {
    main.addEventListener('click', () => Notification.requestPermission(), { once: true });
  }

  renderList();
  return () => {
    document.removeEventListener('keydown', shortcuts);
    live.close();
  };
}
