// @ts-check
/** One's own account: password, sessions (with revoke), language. */

import { api } from '../api.js';
import { h, show, dateTime } from '../dom.js';
import { t } from '../i18n.js';
import { refresh, signOut, languageSwitch } from '../nav.js';
import { form, field, passwordField, value, explain } from '../forms.js';
import { withProof } from './permissions.js';

function passwordForm() {
  const done = h('p', { class: 'ok', role: 'status' });
  const f = form(
    t('account.password'),
    [
      field('current_password', t('account.current_password'), { type: 'password', autocomplete: 'current-password' }),
      passwordField('new_password', t('account.new_password')),
      done,
    ],
    t('account.change_password'),
    async (f) => {
      await api('POST', '/api/v1/account/password', {
        current_password: value(f, 'current_password'),
        new_password: value(f, 'new_password'),
      });
      f.reset();
      done.textContent = t('account.password_changed');
      await refresh();
    },
  );
  return f;
}

/** The screen a session with a password to change must pass first. */
export function passwordChangeView() {
  document.title = `${t('account.password')} · Ostrog`;
  return h('div', { class: 'centered' }, passwordForm());
}

/**
 * @param {HTMLElement} main
 * @param {any} me
 */
export function accountView(main, me) {
  const sessions = h('div', { class: 'panel' }, h('h2', {}, t('account.sessions')), h('p', {}, t('loading')));
  show(
    main,
    h(
      'div',
      { class: 'columns' },
      h(
        'section',
        { class: 'panel' },
        h('h1', {}, me.employee.name),
        h('p', {}, me.employee.email, ' · ', t(`role.${me.employee.role}`)),
        h('div', { class: 'field' }, h('label', {}, t('language')), languageSwitch()),
      ),
      passwordForm(),
      sessions,
    ),
  );
  loadSessions(sessions);
}

/** @param {HTMLElement} box */
async function loadSessions(box) {
  try {
    const list = await api('GET', '/api/v1/account/sessions');
    const notice = h('p', { class: 'error', role: 'alert' });
    const others = list.some((/** @type {any} */ s) => !s.current);
    show(
      box,
      h('h2', {}, t('account.sessions')),
      notice,
      others
        ? h(
            'button',
            {
              type: 'button',
              id: 'end-other-sessions',
              onclick: () => withProof(box, notice, () => api('DELETE', '/api/v1/account/sessions'), () => loadSessions(box)),
            },
            t('account.end_others'),
          )
        : null,
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, [t('account.device'), t('account.address'), t('account.last_seen'), ''].map((c) => h('th', {}, c)))),
        h(
          'tbody',
          {},
          list.map((/** @type {any} */ s) =>
            h(
              'tr',
              {},
              h('td', {}, s.user_agent || '—', s.current ? h('strong', {}, ` (${t('account.this_session')})`) : null),
              h('td', {}, s.ip || '—'),
              h('td', {}, dateTime(s.last_seen_at)),
              h(
                'td',
                {},
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'quiet',
                    onclick: async () => {
                      // The current session ends by signing out; another one
                      // needs a recent proof of identity (asked for here).
                      if (s.current) return signOut();
                      await withProof(box, notice, () => api('DELETE', `/api/v1/account/sessions/${s.id}`), () => loadSessions(box));
                    },
                  },
                  t('account.revoke'),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  } catch (err) {
    show(box, h('p', { class: 'error', role: 'alert' }, explain(err)));
  }
}
