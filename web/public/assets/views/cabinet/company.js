// @ts-check
/** The company's name, a panel of the security section beside the
 * installation's language: quick replies put it in place of
 * `{company_name}`. Holders of `settings.view` read it; `settings.manage`
 * changes it (audited by the server). */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';
import { explain, failed } from '../../forms.js';

/** @param {(p: string) => boolean} holds */
export function companyPanel(holds) {
  const box = h('div', { class: 'panel', id: 'company-settings' }, h('p', {}, t('loading')));
  load();

  async function load() {
    let current;
    try {
      current = await api('GET', '/api/v1/settings/company');
    } catch (err) {
      failed(box, err);
      return;
    }
    const mayChange = holds('settings.manage');
    const notice = h('p', { class: 'ok', role: 'status' });
    const error = h('p', { class: 'error', role: 'alert' });
    const name = /** @type {HTMLInputElement} */ (
      h('input', { id: 'company-name', name: 'name', maxlength: 100, value: current.name || '', readonly: !mayChange, 'aria-describedby': 'company-name-hint' })
    );
    const form = h(
      'form',
      {
        onsubmit: async (/** @type {SubmitEvent} */ e) => {
          e.preventDefault();
          notice.textContent = '';
          error.textContent = '';
          try {
            await api('PUT', '/api/v1/settings/company', { name: name.value.trim() });
            notice.textContent = t('security.saved');
          } catch (err) {
            error.textContent = explain(err);
          }
        },
      },
      h('div', { class: 'field' }, h('label', { for: 'company-name' }, t('company.name')), name, h('small', { class: 'hint', id: 'company-name-hint' }, t('company.name_hint', { placeholder: '{company_name}' }))),
      error,
      notice,
      mayChange ? h('button', { type: 'submit', id: 'company-save' }, t('company.save')) : null,
    );
    show(box, h('h2', {}, t('company.title')), form);
  }

  return box;
}
