// @ts-check
/** The workplace's lists of conversations (mine, the queue, all, closed)
 * with their unread counts, labels and routes (team, urgency), loaded on
 * every (re)connection and completed as frames name conversations it lacks;
 * a search over messages and contacts' names (within what the employee may
 * see: the server filters); the alert for a new conversation; Alt+↓ / Alt+↑
 * to the next or previous conversation. */

import { api } from '../../api.js';
import { h, show, time } from '../../dom.js';
import { t } from '../../i18n.js';
import { explain } from '../../forms.js';
import { contactName, keepContacts } from './contact.js';
import { keepLabels, labelChipList, labelFilter, loadLabels } from './labels.js';
import { keepRoutes, loadTeams, routeChips } from './routes.js';
import { bulkBar, rowCheckbox } from './bulk.js';

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
 * @param {import('./state.js').State} state
 * @param {HTMLElement} tabs the tabs above the list
 * @param {HTMLElement} list the list (`#conversation-list`)
 * @returns {() => void} what to do when the screen is left
 */
export function conversationList(state, tabs, list) {
  const { me, seesAll } = state;
  /** What the search box holds, and the conversations found for it. */
  let query = '';
  /** @type {any[]} */
  let found = [];
  /** @type {number | undefined} */
  let searchTimer;
  const search = h('input', {
    type: 'search',
    id: 'conversation-search',
    placeholder: t('workplace.search'),
    'aria-label': t('workplace.search'),
    maxlength: 200,
    oninput: () => {
      window.clearTimeout(searchTimer);
      searchTimer = window.setTimeout(runSearch, 300);
    },
  });
  tabs.before(search);
  tabs.before(labelFilter(state, () => loadList()));
  tabs.after(bulkBar(state, () => loadList()));
  loadLabels(state);
  loadTeams(state);

  async function runSearch() {
    query = /** @type {HTMLInputElement} */ (search).value.trim();
    found = [];
    if (query) {
      try {
        const page = await api('GET', `/api/v1/conversations?limit=50&q=${encodeURIComponent(query)}${labelParam()}`);
        keepContacts(state, page.contacts);
        keepLabels(state, page);
        keepRoutes(state, page);
        for (const p of page.previews || []) state.previews.set(p.conversation_id, p.text);
        for (const c of page.items) state.conversations.set(c.id, { ...state.conversations.get(c.id), ...c });
        found = page.items.map((/** @type {any} */ c) => c.id);
      } catch (err) {
        state.notify('notice', explain(err));
      }
    }
    render();
  }
  state.subscribe('connected', () => loadList());
  state.subscribe('missing', fetchConversation);
  state.subscribe('arrived', notifyNew);
  state.subscribe('list', render);
  state.subscribe('opened', render);

  /** @param {string} id */
  function notifyNew(id) {
    if (!state.unread.has(id)) state.unread.set(id, 0);
    document.title = `(${[...state.unread.values()].filter((n) => n > 0).length || '•'}) ${t('nav.workplace')} · Ostrog`;
    if ('Notification' in window && Notification.permission === 'granted' && document.hidden) {
      new Notification(t('workplace.new_conversation'));
    }
    chime();
  }

  /** @param {string} id */
  async function fetchConversation(id) {
    try {
      const c = await api('GET', `/api/v1/conversations/${id}`);
      state.conversations.set(c.id, c);
      if (!state.contacts.has(c.visitor_id)) keepContacts(state, [await api('GET', `/api/v1/conversations/${id}/contact`)]);
      if (c.state === 'queued' || c.operator_id === me.employee.id) notifyNew(c.id);
      render();
      await fetchMarks(c);
      render();
    } catch (err) {
      state.notify('notice', explain(err));
    }
  }

  /** A conversation's labels, route and preview come only with a page of
   * the list: the first page of its state has it, as it just changed.
   * @param {any} c */
  async function fetchMarks(c) {
    const page = await api('GET', `/api/v1/conversations?state=${c.state}&limit=20`);
    const about = (/** @type {any} */ x) => x.conversation_id === c.id;
    if (!page.items.some((/** @type {any} */ x) => x.id === c.id)) return;
    const only = { items: [c], labels: (page.labels || []).filter(about), routes: (page.routes || []).filter(about) };
    keepLabels(state, only);
    keepRoutes(state, only);
    for (const p of (page.previews || []).filter(about)) state.previews.set(p.conversation_id, p.text);
    if (state.openId === c.id) state.notify('header');
  }

  async function loadList() {
    try {
      const states = state.tab === 'queue' ? ['queued'] : state.tab === 'closed' ? ['closed'] : ['assigned', 'queued', 'new'];
      const lists = await Promise.all(states.map((s) => api('GET', `/api/v1/conversations?state=${s}&limit=200${labelParam()}`)));
      for (const l of lists) keepContacts(state, l.contacts);
      for (const l of lists) keepLabels(state, l);
      for (const l of lists) keepRoutes(state, l);
      for (const p of lists.flatMap((l) => l.previews || [])) state.previews.set(p.conversation_id, p.text);
      for (const c of lists.flatMap((l) => l.items)) state.conversations.set(c.id, c);
      render();
    } catch (err) {
      state.notify('notice', explain(err));
    }
  }

  /** The list's label filter, as a query parameter. */
  function labelParam() {
    return state.labelFilter ? `&label=${encodeURIComponent(state.labelFilter)}` : '';
  }

  function visible() {
    if (query) return found.map((id) => state.conversations.get(id)).filter(Boolean);
    const labelled = (/** @type {any} */ c) => !state.labelFilter || (state.conversationLabels.get(c.id) || []).includes(state.labelFilter);
    const all = [...state.conversations.values()].filter(labelled);
    const shown = all.filter((c) => {
      if (state.tab === 'mine') return c.operator_id === me.employee.id && c.state !== 'closed';
      if (state.tab === 'queue') return c.state === 'queued' || c.state === 'new';
      if (state.tab === 'closed') return c.state === 'closed';
      return c.state !== 'closed';
    });
    return shown.sort((a, b) => b.updated_at - a.updated_at);
  }

  function render() {
    const names = seesAll ? ['mine', 'queue', 'all', 'closed'] : ['mine', 'closed'];
    show(
      tabs,
      names.map((n) =>
        h(
          'button',
          { type: 'button', role: 'tab', 'aria-selected': String(state.tab === n), id: `tab-${n}`, onclick: () => { state.tab = n; loadList(); render(); } },
          t(`workplace.${n}`),
        ),
      ),
    );
    const items = visible();
    const openId = state.openId;
    show(
      list,
      items.length
        ? items.map((c) => {
            const count = state.unread.get(c.id) || 0;
            return h(
              'li',
              { class: state.selecting ? 'selecting' : undefined },
              rowCheckbox(state, c, contactName(state, c.visitor_id)),
              h(
                'button',
                {
                  type: 'button',
                  class: `conversation-item ${c.id === openId ? 'open' : ''}`,
                  'data-id': c.id,
                  'aria-current': c.id === openId ? 'true' : undefined,
                  onclick: () => state.open(c.id),
                },
                h('span', { class: 'title' }, contactName(state, c.visitor_id)),
                state.previews.has(c.id) ? h('span', { class: 'preview' }, state.previews.get(c.id)) : null,
                chips(c.id),
                h('span', { class: `channel-badge ${c.channel}` }, t(`channel.${c.channel}`)),
                h('span', { class: `state ${c.state}` }, t(`state.${c.state}`)),
                h('time', {}, time(c.updated_at)),
                // Shared views say whose it is.
                (state.tab !== 'mine' || query) && c.operator_id && c.operator_id !== me.employee.id
                  ? h('span', { class: 'assignee' }, state.colleagues.get(c.operator_id) || '')
                  : null,
                count ? h('span', { class: 'unread', 'aria-label': t('workplace.unread', { n: count }) }, String(count)) : null,
              ),
            );
          })
        : h('li', { class: 'empty' }, t(query ? 'workplace.nothing_found' : 'workplace.none')),
    );
  }

  /** The conversation's urgency, team and labels, in one row. @param {string} id */
  function chips(id) {
    const marks = [...routeChips(state, id), ...labelChipList(state, id)];
    return marks.length ? h('span', { class: 'labels' }, marks) : null;
  }

  /** Alt+↓ / Alt+↑: next or previous conversation. @param {KeyboardEvent} e */
  function shortcuts(e) {
    if (!e.altKey || (e.key !== 'ArrowDown' && e.key !== 'ArrowUp')) return;
    const items = visible();
    if (!items.length) return;
    const at = items.findIndex((c) => c.id === state.openId);
    const next = e.key === 'ArrowDown' ? (at + 1) % items.length : (at - 1 + items.length) % items.length;
    e.preventDefault();
    state.open(items[next].id);
  }
  document.addEventListener('keydown', shortcuts);

  render();
  return () => document.removeEventListener('keydown', shortcuts);
}
