// @ts-check
/** Forms and refusals: a form that shows the server's refusal in words and
 * keeps what was typed, its fields, and the words for a refusal. Imports
 * nothing with side effects, so any page (the widget's frame too) may use it. */

import { api, ApiError } from './api.js';
import { h, show } from './dom.js';
import { t } from './i18n.js';

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
          clearFieldErrors(f);
          button.setAttribute('disabled', '');
          try {
            await action(f);
          } catch (err) {
            // Next to the field the server names, if the form has it; else above the button.
            if (!showAtField(f, err)) error.textContent = explain(err);
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

/** The field a refusal is about (the server's `field`), if it names one. @param {unknown} err */
function fieldOf(err) {
  const name = err instanceof ApiError ? err.body?.error?.field : undefined;
  return typeof name === 'string' ? name : '';
}

/**
 * Shows a refusal under the field it is about, marks the field invalid and
 * puts the cursor there; false if the form has no such field.
 * @param {HTMLFormElement} f @param {unknown} err
 */
export function showAtField(f, err) {
  const name = fieldOf(err);
  // A field is found by its name, or by `data-field` where the form calls it otherwise.
  const input = name ? f.elements.namedItem(name) || f.querySelector(`[data-field="${CSS.escape(name)}"]`) : null;
  if (!(input instanceof HTMLElement)) return false;
  const id = `${input.id || name}-error`;
  const message = h('p', { class: 'error field-error', id, role: 'alert' }, explain(err));
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), id].filter(Boolean).join(' '));
  input.after(message);
  input.focus();
  return true;
}

/** Takes away the field errors of the previous attempt. @param {HTMLFormElement} f */
export function clearFieldErrors(f) {
  f.querySelectorAll('.field-error').forEach((p) => {
    const input = p.previousElementSibling;
    if (input) {
      input.removeAttribute('aria-invalid');
      const rest = (input.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== p.id);
      if (rest.length) input.setAttribute('aria-describedby', rest.join(' '));
      else input.removeAttribute('aria-describedby');
    }
    p.remove();
  });
}

/** Words for a refusal, by its stable code: an `ApiError`, or a refusal
 * frame of the WebSocket (`{ code }`), or anything else thrown.
 * @param {unknown} err */
export function explain(err) {
  const code = err instanceof ApiError ? err.code : codeOf(err);
  if (!code) return t('error.generic', { code: err instanceof Error ? err.message : String(err) });
  const key = `error.${code}`;
  const text = t(key);
  if (text === key) return t('error.generic', { code });
  // Invalid input names its field: some fields have words for what they expect.
  const about = code === 'invalid_input' ? fieldOf(err) : '';
  if (about && t(`field_error.${about}`) !== `field_error.${about}`) return t(`field_error.${about}`);
  // A weak password is refused for a named reason: say which.
  const detail = err instanceof ApiError ? err.body?.error : err;
  const reason = code === 'weak_password' ? detail?.reason : undefined;
  const why = reason ? t(`password.weak.${reason}`, { min: detail?.min_length ?? '' }) : '';
  return why && why !== `password.weak.${reason}` ? `${text} ${why}` : text;
}

/** The stable code of a refusal that is a plain object (a WebSocket frame). @param {unknown} err */
function codeOf(err) {
  const code = err && typeof err === 'object' && 'code' in err ? err.code : undefined;
  return typeof code === 'string' ? code : '';
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

/** The password policy's minimum length, asked of the server once per page. @type {Promise<number> | null} */
let minLength = null;

/**
 * A field for a new password that counts towards the server's minimum as the
 * person types ("3 more characters"); the server still decides, and its
 * refusal names the reason.
 * @param {string} name
 * @param {string} label
 */
export function passwordField(name, label) {
  const wrapper = field(name, label, { type: 'password', autocomplete: 'new-password' });
  const input = /** @type {HTMLInputElement} */ (wrapper.querySelector('input'));
  const hint = h('p', { class: 'hint password-hint', id: `f-${name}-hint`, 'aria-live': 'polite' });
  input.setAttribute('aria-describedby', hint.id);
  wrapper.append(hint);
  if (!minLength) minLength = api('GET', '/api/v1/ui').then((ui) => Number(ui.password_min_length) || 15, () => 15);
  minLength.then((min) => {
    const count = () => {
      const missing = min - [...input.value].length;
      hint.textContent = missing > 0 ? t('password.hint_more', { n: missing, min }) : t('password.hint_enough', { min });
      hint.classList.toggle('ok', missing <= 0);
    };
    input.addEventListener('input', count);
    count();
  });
  return wrapper;
}

/** @param {HTMLFormElement} f @param {string} name */
export function value(f, name) {
  const input = /** @type {HTMLInputElement | null} */ (f.elements.namedItem(name));
  return input ? input.value : '';
}

/** Shows the refusal in `box`, instead of what was to be there. @param {HTMLElement} box @param {unknown} err */
export function failed(box, err) {
  show(box, h('p', { class: 'error', role: 'alert' }, explain(err)));
}
