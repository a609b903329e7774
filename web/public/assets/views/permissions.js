// @ts-check
/** One employee's role and effective permissions, with where each comes
 * from (the role, a grant, a revocation). Changing them is a sensitive
 * action: the server asks for the password (and code) again first. */

import { api, ApiError, setCsrf } from '../api.js';
import { h, show } from '../dom.js';
import { t } from '../i18n.js';
import { field, value, explain } from '../forms.js';

const ROLES = ['operator', 'senior_operator', 'operator_supervisor', 'manager'];

/**
 * @param {HTMLElement} box where to show the editor
 * @param {any} employee
 * @param {boolean} mayChange holds `employees.permissions`
 * @param {() => void} changed
 */
export async function permissionEditor(box, employee, mayChange, changed) {
  const notice = h('p', { class: 'error', role: 'alert' });
  let list;
  try {
    list = await api('GET', `/api/v1/employees/${employee.id}/permissions`);
  } catch (err) {
    show(box, h('p', { class: 'error', role: 'alert' }, explain(err)));
    return;
  }
  const items = Array.isArray(list) ? list : list.items || list.permissions;
  const editable = mayChange && employee.role !== 'administrator';
  const role = editable
    ? h(
        'select',
        { id: 'role-select', 'aria-label': t('employees.role'), onchange: (/** @type {Event} */ e) => change(() => api('PUT', `/api/v1/employees/${employee.id}/role`, { role: /** @type {HTMLSelectElement} */ (e.target).value })) },
        ROLES.map((r) => h('option', { value: r, selected: r === employee.role }, t(`role.${r}`))),
      )
    : h('strong', {}, t(`role.${employee.role}`));
  show(
    box,
    h('h2', {}, t('permissions.title', { name: employee.name })),
    h('p', {}, t('employees.role'), ': ', role),
    notice,
    h(
      'table',
      { id: 'permissions' },
      h('thead', {}, h('tr', {}, [t('permissions.permission'), t('permissions.held'), t('permissions.source'), editable ? t('permissions.change') : ''].map((c) => h('th', {}, c)))),
      h(
        'tbody',
        {},
        items.map((/** @type {any} */ p) =>
          h(
            'tr',
            { 'data-permission': p.permission },
            h('td', {}, h('code', {}, p.permission)),
            h('td', {}, p.held ? '✓' : '—'),
            h('td', {}, t(`permissions.source_${p.source}`)),
            h('td', {}, editable ? effectSelect(p) : null),
          ),
        ),
      ),
    ),
  );

  /** @param {any} p */
  function effectSelect(p) {
    const current = p.source === 'granted' ? 'grant' : p.source === 'revoked' ? 'revoke' : 'default';
    return h(
      'select',
      {
        'aria-label': p.permission,
        onchange: (/** @type {Event} */ e) => {
          const effect = /** @type {HTMLSelectElement} */ (e.target).value;
          change(() => api('PUT', `/api/v1/employees/${employee.id}/permissions/${p.permission}`, { effect }));
        },
      },
      ['default', 'grant', 'revoke'].map((v) => h('option', { value: v, selected: v === current }, t(`permissions.effect_${v}`))),
    );
  }

  /** @param {() => Promise<any>} act */
  function change(act) {
    withProof(box, notice, act, changed);
  }
}

/**
 * Runs a sensitive change, asking for the password (and code) again in
 * `box` when the server wants fresh proof, then `done`.
 * @param {HTMLElement} box
 * @param {HTMLElement} notice where a refusal is explained
 * @param {() => Promise<any>} act
 * @param {() => void} done
 */
export async function withProof(box, notice, act, done) {
  notice.textContent = '';
  try {
    await act();
    done();
  } catch (err) {
    if (err instanceof ApiError && err.code === 'reauthentication_required') {
      box.append(reauthenticate(() => withProof(box, notice, act, done)));
    } else {
      notice.textContent = explain(err);
    }
  }
}

/** @param {() => void} then */
function reauthenticate(then) {
  const error = h('p', { class: 'error', role: 'alert' });
  const f = /** @type {HTMLFormElement} */ (
    h(
      'form',
      {
        class: 'panel reauth',
        onsubmit: async (/** @type {Event} */ e) => {
          e.preventDefault();
          try {
            const code = value(f, 'code').trim();
            const reply = await api('POST', '/api/v1/auth/reauthenticate', { password: value(f, 'password'), ...(code ? { code } : {}) });
            // The proof replaced the session: its new cookie came with the answer.
            setCsrf(reply.csrf_token);
            f.remove();
            then();
          } catch (err) {
            error.textContent = explain(err);
          }
        },
      },
      h('h3', {}, t('permissions.reauth')),
      field('password', t('sign_in.password'), { type: 'password', autocomplete: 'current-password' }),
      field('code', t('two_factor.code'), { inputmode: 'numeric', autocomplete: 'one-time-code', required: false }),
      error,
      h('button', { type: 'submit', id: 'reauth-submit' }, t('permissions.confirm')),
    )
  );
  return f;
}
