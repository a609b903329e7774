// @ts-check
/** Forms and refusals: a form that shows the server's refusal in words and
 * keeps what was typed, its fields, and the words for a refusal. Imports
 * nothing with side effects, so any page (the widget's frame too) may use it. */

import { ApiError } from './api.js';
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

/** Words for a refusal, by its stable code: an `ApiError`, or a refusal
 * frame of the WebSocket (`{ code }`), or anything else thrown.
 * @param {unknown} err */
export function explain(err) {
  const code = err instanceof ApiError ? err.code : codeOf(err);
  if (!code) return t('error.generic', { code: err instanceof Error ? err.message : String(err) });
  const key = `error.${code}`;
  const text = t(key);
  if (text === key) return t('error.generic', { code });
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

/** @param {HTMLFormElement} f @param {string} name */
export function value(f, name) {
  const input = /** @type {HTMLInputElement | null} */ (f.elements.namedItem(name));
  return input ? input.value : '';
}

/** Shows the refusal in `box`, instead of what was to be there. @param {HTMLElement} box @param {unknown} err */
export function failed(box, err) {
  show(box, h('p', { class: 'error', role: 'alert' }, explain(err)));
}
