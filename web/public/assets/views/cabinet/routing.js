// @ts-check
/** Routing settings, a panel of the security section: after how long with
 * every workplace tab hidden an operator counts as away, and after how long
 * an assignment nobody opened or answered goes back to the queue. Holders
 * of `settings.view` read them; `settings.manage` changes them (audited by
 * the server). It leads to the teams and routing rules (`teams.js`). */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';
import { explain, failed } from '../../forms.js';
import { go } from '../../nav.js';
import { TEAMS_PATH } from './teams.js';

/** @param {(p: string) => boolean} holds */
export function routingPanel(holds) {
  const box = h('div', { class: 'panel', id: 'routing-settings' }, h('p', {}, t('loading')));
  load();

  async function load() {
    try {
      const current = await api('GET', '/api/v1/settings/routing');
      const mayChange = holds('settings.manage');
      const notice = h('p', { class: 'ok', role: 'status' });
      const error = h('p', { class: 'error', role: 'alert' });
      /** @param {string} name */
      const seconds = (name) =>
        h('div', { class: 'field' },
          h('label', { for: `f-${name}` }, t(`routing.${name}`)),
          h('input', { id: `f-${name}`, name, type: 'number', min: 5, max: 3600, required: true, value: String(current[name]), disabled: !mayChange }),
          h('small', { class: 'hint' }, t(`routing.${name}_hint`)));
      const form = /** @type {HTMLFormElement} */ (h(
        'form',
        {
          onsubmit: async (/** @type {SubmitEvent} */ e) => {
            e.preventDefault();
            notice.textContent = '';
            error.textContent = '';
            const number = (/** @type {string} */ n) => Number(/** @type {HTMLInputElement} */ (form.elements.namedItem(n)).value);
            try {
              await api('PUT', '/api/v1/settings/routing', {
                away_after_hidden_seconds: number('away_after_hidden_seconds'),
                requeue_after_seconds: number('requeue_after_seconds'),
              });
              notice.textContent = t('security.saved');
            } catch (err) {
              error.textContent = explain(err);
            }
          },
        },
        seconds('away_after_hidden_seconds'),
        seconds('requeue_after_seconds'),
        error,
        notice,
        mayChange ? h('button', { type: 'submit', id: 'routing-save' }, t('routing.save')) : null,
      ));
      const teams = h(
        'p',
        { class: 'routing-teams' },
        h('a', { href: TEAMS_PATH, id: 'teams-link', onclick: (/** @type {MouseEvent} */ e) => { e.preventDefault(); go(TEAMS_PATH); } }, t('teams.link')),
        h('br'),
        h('small', { class: 'hint' }, t('teams.link_hint')),
      );
      show(box, h('h2', {}, t('routing.title')), h('p', {}, t('routing.hint')), form, teams);
    } catch (err) {
      failed(box, err);
    }
  }

  return box;
}
