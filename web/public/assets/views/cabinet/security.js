// @ts-check
/** Security settings: which roles must use 2FA, the installation's
 * language, the company's name (`company.js`), when absent operators stop
 * getting chats (`routing.js`), the labels of conversations (`labels.js`), and
 * below them the security checks of the installation (`checks.js`). */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';
import { explain, failed } from '../../forms.js';
import { ROLES } from './roles.js';
import { routingPanel } from './routing.js';
import { companyPanel } from './company.js';
import { checksPanel } from './checks.js';
import { labelsPanel } from './labels.js';

/**
 * @param {HTMLElement} main
 * @param {(p: string) => boolean} holds
 */
export async function security(main, holds) {
  const box = h('div', { class: 'panel' }, h('p', {}, t('loading')));
  const language = h('div', { class: 'panel' });
  const columns = h('div', { class: 'columns' }, box, holds('settings.manage') ? language : null, companyPanel(holds), routingPanel(holds), labelsPanel(holds));
  show(main, h('div', { class: 'stack' }, columns, checksPanel()));
  const notice = h('p', { class: 'ok', role: 'status' });
  try {
    const policy = await api('GET', '/api/v1/settings/two-factor');
    const mayChange = holds('settings.manage');
    show(
      box,
      h('h1', {}, t('security.two_factor')),
      h('p', {}, t('security.two_factor_hint')),
      h(
        'ul',
        { class: 'plain', id: 'two-factor-policy' },
        ROLES.map((r) =>
          h(
            'li',
            {},
            h(
              'label',
              { class: 'check' },
              h('input', {
                type: 'checkbox',
                name: r,
                checked: policy.required[r] !== false,
                disabled: !mayChange || r === 'administrator',
                onchange: async (/** @type {Event} */ e) => {
                  const input = /** @type {HTMLInputElement} */ (e.target);
                  try {
                    await api('PUT', '/api/v1/settings/two-factor', { required: { [r]: input.checked } });
                    notice.textContent = t('security.saved');
                  } catch (err) {
                    input.checked = !input.checked;
                    notice.textContent = explain(err);
                  }
                },
              }),
              t(`role.${r}`),
            ),
          ),
        ),
      ),
      notice,
    );
    const choice = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        {
          id: 'default-language',
          'aria-label': t('security.language'),
          onchange: async () => {
            await api('PUT', '/api/v1/settings/language', { language: choice.value });
            notice.textContent = t('security.saved');
          },
        },
        h('option', { value: 'ru' }, 'Русский'),
        h('option', { value: 'en' }, 'English'),
      )
    );
    choice.value = (await api('GET', '/api/v1/ui')).language;
    show(language, h('h2', {}, t('security.language')), h('p', {}, t('security.language_hint')), choice);
  } catch (err) {
    failed(box, err);
  }
}
