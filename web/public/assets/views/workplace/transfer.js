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
  let colleagues;
  try {
    colleagues = (await api('GET', '/api/v1/presence')).filter((/** @type {any} */ p) => p.employee_id !== state.me.employee.id);
  } catch (err) {
    state.notify('notice', explain(err));
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
          if (c && c.id) state.conversations.set(c.id, { ...state.conversations.get(c.id), ...c });
          state.notify('header');
          state.notify('list');
        } catch (err) {
          state.notify('notice', explain(err));
        }
      },
    },
    colleagues.length ? [to, note, h('button', { type: 'submit', id: 'transfer-submit' }, t('workplace.transfer'))] : h('span', {}, t('workplace.nobody')),
  );
  header.append(box);
  (colleagues.length ? to : header).focus();
}
