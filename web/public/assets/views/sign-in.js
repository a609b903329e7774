// @ts-check
/** Sign-in, and its second step (a code from the app or a recovery code). */

import { api, ApiError, setCsrf } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { refresh, signOut, languageSwitch } from '../app.js';

/**
 * A form that shows the server's refusal in words and keeps what was typed.
 * @param {string} title
 * @param {HTMLElement[]} fields
 * @param {string} submit
 * @param {(form: HTMLFormElement) => Promise<void>} action
 * @param {HTMLElement[]} [extra]
 */
export function form(title, fields, submit, action, extra = []) {
  const error = h('p', { class: 'error', role: 'alert', 'aria-live': 'assertive' });
  const button = h('button', { type: 'submit' }, submit);
  const f = /** @type {HTMLFormElement} */ (
    h(
      'form',
      {
        class: 'panel narrow',
        onsubmit: async (/** @type {SubmitEvent} */ e) => {
          e.preventDefault();
          error.textContent = '';
          button.setAttribute('disabled', '');
          try {
            await action(f);
          } catch (err) {
            error.textContent = explain(err);
          } finally {
            button.removeAttribute('disabled');
          }
        },
      },
      h('h1', {}, title),
      fields,
      error,
      button,
      extra,
    )
  );
  return f;
}

/** Words for a refusal, by its stable code. @param {unknown} err */
export function explain(err) {
  if (err instanceof ApiError) {
    const key = `error.${err.code}`;
    const text = t(key);
    if (text === key) return t('error.generic', { code: err.code });
    // A weak password is refused for a named reason: say which.
    const reason = err.code === 'weak_password' ? err.body?.error?.reason : undefined;
    const why = reason ? t(`password.weak.${reason}`) : '';
    return why && why !== `password.weak.${reason}` ? `${text} ${why}` : text;
  }
  return t('error.generic', { code: String(err) });
}

/**
 * @param {string} name
 * @param {string} label
 * @param {Record<string, any>} [attrs]
 */
export function field(name, label, attrs = {}) {
  const id = `f-${name}`;
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name, required: true, ...attrs }));
}

/** @param {HTMLFormElement} f @param {string} name */
export function value(f, name) {
  const input = /** @type {HTMLInputElement | null} */ (f.elements.namedItem(name));
  return input ? input.value : '';
}

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
