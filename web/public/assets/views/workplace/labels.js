// @ts-check
/** Labels in the workplace: the catalogue (loaded once per visit), the
 * labels of each listed conversation (from the list's pages), chips that
 * show them, the list's filter by label, and the open conversation's
 * picker, offered to whoever may act on it. The server decides who may
 * set labels; the picker only saves the whole set. */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';
import { explain } from '../../forms.js';

/** Loads the catalogue into `state.labels`; the list redraws with names. @param {import('./state.js').State} state */
export async function loadLabels(state) {
  try {
    const list = await api('GET', '/api/v1/labels');
    state.labels = new Map(list.map((/** @type {any} */ l) => [l.id, l]));
    state.notify('list');
    state.notify('header');
  } catch {
    /* no catalogue: the chips stay away, the rest works */
  }
}

/** Keeps the labels a page of the list carries (conversations without labels have none).
 * @param {import('./state.js').State} state @param {any} page */
export function keepLabels(state, page) {
  for (const c of page.items) state.conversationLabels.delete(c.id);
  for (const l of page.labels || []) state.conversationLabels.set(l.conversation_id, l.label_ids);
}

/** A conversation's labels as chips, by name. @param {import('./state.js').State} state @param {string} id */
export function labelChips(state, id) {
  const chips = labelChipList(state, id);
  return chips.length ? h('span', { class: 'labels' }, chips) : null;
}

/** The chips alone, for a row that shows more (the list adds the route's). @param {import('./state.js').State} state @param {string} id */
export function labelChipList(state, id) {
  const known = (state.conversationLabels.get(id) || []).map((l) => state.labels.get(l)).filter(Boolean);
  known.sort((a, b) => a.name.localeCompare(b.name));
  return known.map((l) => h('span', { class: `label-chip ${l.colour}` }, l.name));
}

/** The list's filter: every label, or only conversations carrying one.
 * @param {import('./state.js').State} state @param {() => void} changed */
export function labelFilter(state, changed) {
  const select = /** @type {HTMLSelectElement} */ (h('select', { id: 'label-filter', 'aria-label': t('labels.filter'), onchange: () => { state.labelFilter = select.value || null; changed(); } }));
  let shown = '';
  const fill = () => {
    // Redrawn only when the catalogue changed: the list changes all the time.
    const now = [...state.labels.values()].map((l) => `${l.id}:${l.name}`).join('|');
    if (now === shown && select.options.length) return;
    shown = now;
    show(select, h('option', { value: '' }, t('labels.all')), [...state.labels.values()].map((l) => h('option', { value: l.id, selected: l.id === state.labelFilter }, l.name)));
    select.hidden = state.labels.size === 0;
  };
  state.subscribe('list', fill);
  fill();
  return select;
}

/** The open conversation's labels and, for whoever may act on it, a
 * picker that saves the whole set. @param {import('./state.js').State} state */
export function conversationLabels(state) {
  const row = h('div', { class: 'label-row', id: 'conversation-labels' });
  let picking = false;
  state.subscribe('opened', () => { picking = false; render(); });
  state.subscribe('header', render);

  function render() {
    const c = state.openId ? state.conversations.get(state.openId) : null;
    if (!c) return show(row);
    const mayAct = c.operator_id === state.me.employee.id || state.seesAll;
    const toggle = mayAct && state.labels.size
      ? h('button', { type: 'button', class: 'link', id: 'edit-labels', 'aria-expanded': String(picking), onclick: () => { picking = !picking; render(); } }, t('labels.edit'))
      : null;
    show(row, labelChips(state, c.id), toggle, picking ? picker(c.id) : null);
  }

  /** @param {string} id */
  function picker(id) {
    const held = new Set(state.conversationLabels.get(id) || []);
    const boxes = [...state.labels.values()].map((l) =>
      h('label', { class: 'check' },
        h('input', { type: 'checkbox', value: l.id, checked: held.has(l.id), onchange: () => save(l.id) }),
        h('span', { class: `label-chip ${l.colour}` }, l.name)));
    const set = h('fieldset', { class: 'label-picker' }, h('legend', {}, t('labels.title')), boxes);
    /** Saves the set, then redraws with the same box focused. @param {string} changed */
    async function save(changed) {
      const ids = [...set.querySelectorAll('input:checked')].map((i) => /** @type {HTMLInputElement} */ (i).value);
      try {
        const saved = await api('PUT', `/api/v1/conversations/${id}/labels`, { label_ids: ids });
        state.conversationLabels.set(id, saved.label_ids);
        state.notify('list');
        render();
        /** @type {HTMLInputElement | null} */ (row.querySelector(`input[value="${changed}"]`))?.focus();
      } catch (err) {
        state.notify('notice', explain(err));
      }
    }
    return set;
  }

  render();
  return row;
}
