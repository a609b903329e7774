// @ts-check
/** Sign-in, and its second step (a code from the app or a recovery code). */

import { api, setCsrf } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { refresh, signOut, languageSwitch } from '../nav.js';
import { form, field, value } from '../forms.js';

export function signInView() {
  document.title = `${t('sign_in.title')} · Ostrog`;
  return h(
    'div',
    { class: 'centered' },
    h('div', { class: 'corner' }, languageSwitch()),
    form(
      t('sign_in.title'),
      [
        field('email', t('sign_in.email'), { type: 'email', autocomplete: 'username', autofocus: true }),
        field('password', t('sign_in.password'), { type: 'password', autocomplete: 'current-password' }),
      ],
      t('sign_in.submit'),
      async (f) => {
        const reply = await api('POST', '/api/v1/auth/sign-in', { email: value(f, 'email'), password: value(f, 'password') });
        setCsrf(reply.csrf_token);
        await refresh();
      },
    ),
  );
}

export function secondFactorView() {
  document.title = `${t('two_factor.title')} · Ostrog`;
  let recovery = false;
  const code = field('code', t('two_factor.code'), { inputmode: 'numeric', autocomplete: 'one-time-code', autofocus: true });
  const toggle = h('button', { type: 'button', class: 'link', id: 'use-recovery' }, t('two_factor.use_recovery'));
  toggle.addEventListener('click', () => {
    recovery = !recovery;
    const label = /** @type {HTMLElement} */ (code.querySelector('label'));
    label.textContent = recovery ? t('two_factor.recovery_code') : t('two_factor.code');
    const input = /** @type {HTMLInputElement} */ (code.querySelector('input'));
    input.inputMode = recovery ? 'text' : 'numeric';
    input.focus();
    toggle.textContent = recovery ? t('two_factor.use_code') : t('two_factor.use_recovery');
  });
  return h(
    'div',
    { class: 'centered' },
    form(
      t('two_factor.title'),
      [h('p', {}, t('two_factor.hint')), code],
      t('two_factor.submit'),
      async (f) => {
        const proof = value(f, 'code').trim();
        // A new session (and CSRF token) replaces the one of the first step.
        const reply = await api('POST', '/api/v1/auth/second-factor', recovery ? { recovery_code: proof } : { code: proof });
        setCsrf(reply.csrf_token);
        await refresh();
      },
      [toggle, h('button', { type: 'button', class: 'link', onclick: signOut }, t('nav.sign_out'))],
    ),
  );
}
