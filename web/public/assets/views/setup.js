// @ts-check
/** The first Administrator (from the set-up link `ostrog serve` prints) and
 * invited employees choosing their password (from the invitation link). */

import { api } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { go } from '../nav.js';
import { form, field, passwordField, value } from '../forms.js';

/** The link's token travels in the fragment, which browsers never send. */
function token() {
  return decodeURIComponent(location.hash.slice(1));
}

export function setupView() {
  document.title = `${t('setup.title')} · Ostrog`;
  return h(
    'div',
    { class: 'centered' },
    form(
      t('setup.title'),
      [
        h('p', {}, t('setup.hint')),
        field('name', t('setup.name'), { autocomplete: 'name' }),
        field('email', t('sign_in.email'), { type: 'email', autocomplete: 'username' }),
        passwordField('password', t('setup.password')),
      ],
      t('setup.submit'),
      async (f) => {
        await api('POST', '/api/v1/setup', {
          token: token(),
          name: value(f, 'name'),
          email: value(f, 'email'),
          password: value(f, 'password'),
        });
        history.replaceState(null, '', '/sign-in');
        go('/sign-in');
      },
    ),
  );
}

export function invitationView() {
  document.title = `${t('invitation.title')} · Ostrog`;
  return h(
    'div',
    { class: 'centered' },
    form(
      t('invitation.title'),
      [passwordField('password', t('setup.password'))],
      t('invitation.submit'),
      async (f) => {
        await api('POST', '/api/v1/invitations/accept', { token: token(), password: value(f, 'password') });
        go('/sign-in');
      },
    ),
  );
}
