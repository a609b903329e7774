// @ts-check
/** Handing the open conversation to a connected colleague, with a note: a
 * small form added to the conversation's header. */

import { api } from '../../api.js';
import { h } from '../../dom.js';
import { t } from '../../i18n.js';
import { explain } from '../../forms.js';

/**
 * Whom to hand the open conversation to: connected colleagues, with a note.
 * @param {import('./state.js').State} state
 * @param {HTMLElement} header the open conversation's header, where the form goes
 */
export async function transferForm(state, header) {
  if (!state.openId) return;
  const id = state.openId;
  const owner = state.conversations.get(id)?.operator_id;
  const me = state.me.employee.id;
  let colleagues;
  try {
    // Anyone connected but its current operator: a supervisor may hand it to themselves.
    colleagues = (await api('GET', '/api/v1/presence')).filter((/** @type {any} */ p) => p.employee_id !== owner);
    colleagues.forEach((/** @type {any} */ p) => state.colleagues.set(p.employee_id, p.name));
    colleagues.sort((/** @type {any} */ a, /** @type {any} */ b) => Number(b.employee_id === me) - Number(a.employee_id === me));
  } catch (err) {
    state.notify('notice', explain(err));
    return;
  }
  const to = /** @type {HTMLSelectElement} */ (
    h('select', { id: 'transfer-to', 'aria-label': t('workplace.transfer_to') }, colleagues.map((/** @type {any} */ p) =>
      h('option', { value: p.employee_id }, p.employee_id === me ? t('workplace.transfer_to_me') : `${p.name} (${t(`presence.${p.status}`)})`)))
  );
  const note = /** @type {HTMLInputElement} */ (h('input', { id: 'transfer-note', maxlength: 1000, 'aria-label': t('workplace.transfer_note'), placeholder: t('workplace.transfer_note') }));
  const box = h(
    'form',
    {
      class: 'transfer',
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        state.handingOver.add(id);
        try {
          const c = await api('POST', `/api/v1/conversations/${id}/transfer`, { to: to.value, note: note.value });
          if (c && c.id) state.conversations.set(c.id, { ...state.conversations.get(c.id), ...c });
          const who = to.value === me ? state.me.employee.name : colleagues.find((/** @type {any} */ p) => p.employee_id === to.value)?.name || '';
          box.remove();
          state.notify('confirmed', note.value.trim() ? t('workplace.transferred_with_note', { who, note: note.value.trim() }) : t('workplace.transferred', { who }));
          state.notify('header');
          state.notify('list');
        } catch (err) {
          state.handingOver.delete(id);
          state.notify('notice', explain(err));
        }
      },
    },
    colleagues.length ? [to, note, h('button', { type: 'submit', id: 'transfer-submit' }, t('workplace.transfer'))] : h('span', {}, t('workplace.nobody')),
  );
  header.append(box);
  (colleagues.length ? to : header).focus();
}
