// @ts-check
/** The employees: the list with their roles and states, inviting one,
 * blocking, ending someone's sessions, resetting 2FA, deleting, and their
 * permissions. */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';
import { form, field, value, failed } from '../../forms.js';
import { permissionEditor, withProof } from '../permissions.js';
import { ROLES } from './roles.js';

/**
 * @param {HTMLElement} main
 * @param {(p: string) => boolean} holds
 */
export function employees(main, holds) {
  const table = h('div', { class: 'panel wide' }, h('p', {}, t('loading')));
  const created = h('div', { role: 'status' });
  const invite = holds('employees.manage')
    ? form(
        t('employees.invite'),
        [
          field('name', t('setup.name')),
          field('email', t('sign_in.email'), { type: 'email' }),
          h(
            'div',
            { class: 'field' },
            h('label', { for: 'f-role' }, t('employees.role')),
            h('select', { id: 'f-role', name: 'role' }, ROLES.slice(0, 4).map((r) => h('option', { value: r }, t(`role.${r}`)))),
          ),
          created,
        ],
        t('employees.invite_submit'),
        async (f) => {
          const reply = await api('POST', '/api/v1/employees', {
            name: value(f, 'name'),
            email: value(f, 'email'),
            role: value(f, 'role'),
            access: 'invitation',
          });
          f.reset();
          show(created, h('p', {}, t('employees.invitation_link')), h('code', { class: 'wrap', id: 'invitation-url' }, reply.invitation_url));
          load();
        },
      )
    : null;
  const editor = h('div', { class: 'panel wide', id: 'permission-editor', hidden: true });
  show(main, h('div', { class: 'columns' }, h('h1', { class: 'visually-hidden' }, t('nav.employees')), table, editor, invite));

  async function load() {
    try {
      const list = await api('GET', '/api/v1/employees');
      const items = Array.isArray(list) ? list : list.items;
      show(
        table,
        h('h2', {}, t('nav.employees')),
        h(
          'table',
          { id: 'employees' },
          h('thead', {}, h('tr', {}, [t('setup.name'), t('sign_in.email'), t('employees.role'), t('employees.status'), ''].map((c) => h('th', {}, c)))),
          h(
            'tbody',
            {},
            items.map((/** @type {any} */ e) =>
              h(
                'tr',
                { 'data-email': e.email },
                h('td', {}, e.name),
                h('td', {}, e.email),
                h('td', {}, t(`role.${e.role}`)),
                h('td', {}, e.invited ? t('status.invited') : t(`status.${e.status}`)),
                h(
                  'td',
                  { class: 'row-actions' },
                  h('button', { type: 'button', class: 'quiet', 'data-permissions': e.email, onclick: () => edit(e) }, t('permissions.open')),
                  !holds('employees.manage') || e.role === 'administrator' || e.status === 'deleted'
                    ? null
                    : e.invited
                      ? [resendButton(e), revokeButton(e)]
                      : [statusButton(e), sessionsButton(e), resetButton(e), deleteButton(e)],
                ),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      failed(table, err);
    }
  }

  /** @param {any} e */
  function edit(e) {
    editor.hidden = false;
    permissionEditor(editor, e, holds('employees.permissions'), async () => {
      await load();
      const list = await api('GET', '/api/v1/employees');
      const fresh = (Array.isArray(list) ? list : list.items).find((/** @type {any} */ x) => x.id === e.id);
      if (fresh) edit(fresh);
    });
  }

  /** Their 2FA starts again at their next sign-in (a lost phone). @param {any} e */
  function resetButton(e) {
    return h(
      'button',
      {
        type: 'button',
        class: 'quiet',
        'data-reset': e.email,
        onclick: () => {
          if (!confirm(t('employees.reset_confirm', { name: e.name }))) return;
          const notice = h('p', { class: 'error', role: 'alert' });
          editor.hidden = false;
          show(editor, h('h2', {}, t('employees.reset_2fa')), notice);
          withProof(editor, notice, () => api('POST', `/api/v1/employees/${e.id}/two-factor/reset`), () => {
            show(editor, h('p', { class: 'ok', role: 'status' }, t('employees.reset_done', { name: e.name })));
          });
        },
      },
      t('employees.reset_2fa'),
    );
  }

  /** A new link for an invitee who lost theirs; the old one stops working. @param {any} e */
  function resendButton(e) {
    return h(
      'button',
      {
        type: 'button',
        class: 'quiet',
        'data-resend': e.email,
        onclick: async () => {
          try {
            const reply = await api('POST', `/api/v1/employees/${e.id}/invitation`);
            editor.hidden = false;
            show(
              editor,
              h('h2', {}, t('employees.resend')),
              h('p', {}, t('employees.resent', { name: e.name })),
              h('code', { class: 'wrap', id: 'invitation-url' }, reply.invitation_url),
            );
          } catch (err) {
            failed(table, err);
          }
        },
      },
      t('employees.resend'),
    );
  }

  /** The invitee can no longer accept; they leave the list of active employees. @param {any} e */
  function revokeButton(e) {
    return h(
      'button',
      {
        type: 'button',
        class: 'quiet danger',
        'data-revoke': e.email,
        onclick: async () => {
          if (!confirm(t('employees.revoke_confirm', { name: e.name }))) return;
          try {
            await api('DELETE', `/api/v1/employees/${e.id}/invitation`);
            load();
          } catch (err) {
            failed(table, err);
          }
        },
      },
      t('employees.revoke'),
    );
  }

  /** Deletion ends every session and destroys their credentials; their name stays in history. @param {any} e */
  function deleteButton(e) {
    return h(
      'button',
      {
        type: 'button',
        class: 'quiet danger',
        'data-delete': e.email,
        onclick: async () => {
          if (!confirm(t('employees.delete_confirm', { name: e.name }))) return;
          try {
            await api('DELETE', `/api/v1/employees/${e.id}`);
            load();
          } catch (err) {
            failed(table, err);
          }
        },
      },
      t('employees.delete'),
    );
  }

  /** Ends every session of `e` without blocking them. @param {any} e */
  function sessionsButton(e) {
    return h(
      'button',
      {
        type: 'button',
        class: 'quiet',
        'data-end-sessions': e.email,
        onclick: async () => {
          if (!confirm(t('employees.end_sessions_confirm', { name: e.name }))) return;
          try {
            await api('DELETE', `/api/v1/employees/${e.id}/sessions`);
            load();
          } catch (err) {
            failed(table, err);
          }
        },
      },
      t('employees.end_sessions'),
    );
  }

  /** @param {any} e */
  function statusButton(e) {
    const blocked = e.status === 'blocked';
    return h(
      'button',
      {
        type: 'button',
        class: 'quiet',
        onclick: async () => {
          try {
            await api('POST', `/api/v1/employees/${e.id}/${blocked ? 'unblock' : 'block'}`);
            load();
          } catch (err) {
            failed(table, err);
          }
        },
      },
      blocked ? t('employees.unblock') : t('employees.block'),
    );
  }
  load();
}
