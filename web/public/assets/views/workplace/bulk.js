// @ts-check
/** Acting on many conversations of the list at once: "Select" shows a
 * checkbox on each row, and a bar above the list closes, labels or (with
 * `conversations.transfer`) assigns the chosen ones. The server applies
 * each conversation's own rules and answers for each; the bar says how
 * many were done and why the others were not. */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';
import { explain } from '../../forms.js';

/**
 * @param {import('./state.js').State} state
 * @param {() => void} reload the list, after an action
 * @returns {HTMLElement} the bar (toggle, then the actions while selecting)
 */
export function bulkBar(state, reload) {
  const bar = h('div', { class: 'bulk-bar', id: 'bulk-bar' });
  const result = h('p', { class: 'bulk-result', role: 'status', id: 'bulk-result' });
  state.subscribe('selection', render);
  render();

  function render() {
    const n = state.selected.size;
    const toggle = h('button', { type: 'button', class: 'quiet', id: 'bulk-toggle', 'aria-pressed': String(state.selecting), onclick: () => {
      state.selecting = !state.selecting;
      state.selected.clear();
      result.textContent = '';
      state.notify('selection');
      state.notify('list');
    } }, t(state.selecting ? 'bulk.done' : 'bulk.select'));
    if (!state.selecting) return show(bar, toggle, result);
    const labels = /** @type {HTMLSelectElement} */ (h('select', { id: 'bulk-label', 'aria-label': t('labels.title') }, [...state.labels.values()].map((l) => h('option', { value: l.id }, l.name))));
    const people = /** @type {HTMLSelectElement} */ (h('select', { id: 'bulk-assignee', 'aria-label': t('bulk.assignee') }, [...state.colleagues].map(([id, name]) => h('option', { value: id }, name))));
    const disabled = n === 0;
    show(
      bar,
      toggle,
      h('span', { class: 'bulk-count', id: 'bulk-count' }, t('bulk.count', { n })),
      h('button', { type: 'button', id: 'bulk-close', disabled, onclick: () => act('close', {}) }, t('bulk.close')),
      state.labels.size
        ? h('span', { class: 'bulk-group' }, labels,
            h('button', { type: 'button', class: 'quiet', id: 'bulk-label-add', disabled, onclick: () => act('labels', { add: [labels.value], remove: [] }) }, t('bulk.label_add')),
            h('button', { type: 'button', class: 'quiet', id: 'bulk-label-remove', disabled, onclick: () => act('labels', { add: [], remove: [labels.value] }) }, t('bulk.label_remove')))
        : null,
      state.holds('conversations.transfer')
        ? h('span', { class: 'bulk-group' }, people, h('button', { type: 'button', class: 'quiet', id: 'bulk-assign', disabled, onclick: () => act('assign', { to: people.value }) }, t('bulk.assign')))
        : null,
      result,
    );
  }

  /** @param {'close' | 'labels' | 'assign'} what @param {any} body */
  async function act(what, body) {
    const ids = [...state.selected];
    result.textContent = '';
    try {
      const answer = await api('POST', `/api/v1/conversations/bulk/${what}`, { conversation_ids: ids, ...body });
      const refused = answer.results.filter((/** @type {any} */ r) => r.error);
      const why = [...new Set(refused.map((/** @type {any} */ r) => t(`error.${r.error}`)))].join(' ');
      result.textContent = t('bulk.result', { done: ids.length - refused.length, n: ids.length }) + (refused.length ? ` ${why}` : '');
      // Labelled ones stay chosen for what comes next; closed or handed over ones leave the list.
      if (what !== 'labels') state.selected = new Set(refused.map((/** @type {any} */ r) => r.conversation_id));
      // The list's copies of what was done, as the single actions' answers would set them.
      for (const r of answer.results.filter((/** @type {any} */ r) => !r.error)) {
        const c = state.conversations.get(r.conversation_id);
        if (c && what === 'close') c.state = 'closed';
        if (c && what === 'assign') Object.assign(c, { state: 'assigned', operator_id: body.to });
      }
    } catch (err) {
      result.textContent = explain(err);
    }
    reload();
    render();
  }

  return bar;
}

/** The row's checkbox while selecting. @param {import('./state.js').State} state @param {any} c @param {string} name */
export function rowCheckbox(state, c, name) {
  if (!state.selecting) return null;
  return h('input', {
    type: 'checkbox',
    class: 'bulk-check',
    'data-id': c.id,
    'aria-label': t('bulk.choose', { name }),
    checked: state.selected.has(c.id),
    onchange: (/** @type {Event} */ e) => {
      if (/** @type {HTMLInputElement} */ (e.target).checked) state.selected.add(c.id);
      else state.selected.delete(c.id);
      state.notify('selection');
    },
  });
}
