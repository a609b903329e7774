// @ts-check
/** The administration cabinet. Each section is listed only for holders of
 * one of its permissions; the server refuses the same operations to
 * everyone else, so a hidden section is also a closed one. */

import { api } from '../api.js';
import { h, show, dateTime } from '../dom.js';
import { t } from '../i18n.js';
import { form, field, value, explain } from '../forms.js';
import { statistics } from './statistics.js';
import { permissionEditor, withProof } from './permissions.js';
import { privacy } from './privacy.js';
import { channels } from './channels.js';

const ROLES = ['operator', 'senior_operator', 'operator_supervisor', 'manager', 'administrator'];

/** @typedef {{ path: string, title: string, permissions: string[], render: (main: HTMLElement, holds: (p: string) => boolean) => void }} CabinetSection */

/** @type {CabinetSection[]} */
export const cabinetSections = [
  { path: '/employees', title: 'nav.employees', permissions: ['employees.view'], render: employees },
  { path: '/widgets', title: 'nav.widgets', permissions: ['settings.view', 'settings.manage'], render: widgets },
  { path: '/channels', title: 'nav.channels', permissions: ['channels.manage'], render: channels },
  { path: '/statistics', title: 'nav.statistics', permissions: ['statistics.all', 'statistics.general', 'statistics.own'], render: statistics },
  { path: '/audit', title: 'nav.audit', permissions: ['audit.view'], render: audit },
  { path: '/security', title: 'nav.security', permissions: ['settings.view', 'settings.manage'], render: security },
  { path: '/personal-data', title: 'nav.personal_data', permissions: ['personal_data.export', 'personal_data.erase', 'audit.view', 'settings.view'], render: privacy },
  { path: '/finance', title: 'nav.finance', permissions: ['finance.view'], render: finance },
];

/** @param {HTMLElement} box @param {unknown} err */
function failed(box, err) {
  show(box, h('p', { class: 'error', role: 'alert' }, explain(err)));
}

/**
 * @param {HTMLElement} main
 * @param {(p: string) => boolean} holds
 */
function employees(main, holds) {
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
                h('td', {}, t(`status.${e.status}`)),
                h(
                  'td',
                  { class: 'row-actions' },
                  h('button', { type: 'button', class: 'quiet', 'data-permissions': e.email, onclick: () => edit(e) }, t('permissions.open')),
                  holds('employees.manage') && e.role !== 'administrator' ? [statusButton(e), sessionsButton(e), resetButton(e), deleteButton(e)] : null,
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

/**
 * The audit log, newest first, filtered by action, with the state of its
 * hash chain.
 * @param {HTMLElement} main
 */
function audit(main) {
  const chain = h('p', { id: 'audit-chain', role: 'status' }, t('audit.checking'));
  const action = /** @type {HTMLInputElement} */ (h('input', { id: 'audit-action', type: 'search', placeholder: 'auth.sign_in', 'aria-label': t('audit.action') }));
  const rows = h('tbody');
  const more = h('button', { type: 'button', class: 'quiet', id: 'audit-older' }, t('audit.older'));
  const box = h(
    'div',
    { class: 'panel wide' },
    h('h1', {}, t('nav.audit')),
    chain,
    h('form', { class: 'filters', onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); rows.replaceChildren(); page(Number.MAX_SAFE_INTEGER); } }, action, h('button', { type: 'submit' }, t('audit.filter'))),
    h('table', { id: 'audit' }, h('thead', {}, h('tr', {}, [t('audit.at'), t('audit.action'), t('audit.outcome'), t('audit.ip')].map((c) => h('th', {}, c)))), rows),
    more,
  );
  show(main, box);
  let oldest = Number.MAX_SAFE_INTEGER;
  more.addEventListener('click', () => page(oldest));

  /** @param {number} before */
  async function page(before) {
    try {
      const filter = action.value.trim() ? `&action=${encodeURIComponent(action.value.trim())}` : '';
      const entries = await api('GET', `/api/v1/audit?before=${before}&limit=100${filter}`);
      for (const e of entries) {
        rows.append(h('tr', {}, h('td', {}, dateTime(e.at)), h('td', {}, e.action), h('td', {}, e.outcome), h('td', {}, e.ip || '—')));
        oldest = Math.min(oldest, e.seq);
      }
      more.hidden = entries.length < 100;
    } catch (err) {
      failed(box, err);
    }
  }
  page(Number.MAX_SAFE_INTEGER);
  api('GET', '/api/v1/audit/chain')
    .then((c) => {
      chain.textContent = c.intact ? t('audit.intact', { n: c.entries }) : t('audit.broken', { seq: c.broken_at });
      chain.className = c.intact ? 'ok' : 'error';
    })
    .catch((err) => (chain.textContent = explain(err)));
}

/**
 * Finance: this month's usage and what it costs under the tariff, the CSV
 * export, and the tariff itself (changed by holders of `finance.manage`).
 * @param {HTMLElement} main
 * @param {(p: string) => boolean} holds
 */
async function finance(main, holds) {
  const box = h('div', { class: 'panel wide' }, h('p', {}, t('loading')));
  const side = h('div');
  show(main, h('div', { class: 'columns' }, box, side));
  const now = Date.now();
  const from = new Date(new Date().getFullYear(), new Date().getMonth(), 1).getTime();
  try {
    const [u, tariff] = await Promise.all([api('GET', `/api/v1/finance/usage?from=${from}&to=${now}`), api('GET', '/api/v1/finance/tariff')]);
    const money = (/** @type {number} */ minor) =>
      new Intl.NumberFormat(document.documentElement.lang, { style: 'currency', currency: u.currency }).format(minor / 100);
    const channels = [...new Set([...Object.keys(u.usage.messages), ...Object.keys(u.usage.conversations)])];
    show(
      box,
      h('h1', {}, t('nav.finance')),
      h('p', {}, t('finance.period', { from: dateTime(u.from), to: dateTime(u.to) })),
      h(
        'table',
        { id: 'finance' },
        h('thead', {}, h('tr', {}, [t('finance.item'), t('finance.quantity'), t('finance.cost')].map((c) => h('th', {}, c)))),
        h(
          'tbody',
          {},
          h('tr', {}, h('td', {}, t('finance.seats')), h('td', {}, String(u.usage.active_seats)), h('td', {}, money(u.cost.seats))),
          channels.map((c) =>
            h(
              'tr',
              {},
              h('td', {}, t('finance.messages', { channel: c })),
              h('td', {}, `${u.usage.messages[c] || 0} (${t('finance.conversations', { n: u.usage.conversations[c] || 0 })})`),
              h('td', {}, money(u.cost.per_channel[c] || 0)),
            ),
          ),
          h('tr', { class: 'total' }, h('th', {}, t('finance.total')), h('td', {}, ''), h('th', {}, money(u.cost.total))),
        ),
      ),
      h('p', {}, h('a', { href: `/api/v1/finance/usage?from=${from}&to=${now}&format=csv`, download: 'usage.csv' }, t('statistics.csv'))),
    );
    if (holds('finance.manage')) show(side, tariffForm(tariff));
  } catch (err) {
    failed(box, err);
  }
}

/** @param {any} tariff */
function tariffForm(tariff) {
  const done = h('p', { class: 'ok', role: 'status' });
  return form(
    t('finance.tariff'),
    [
      field('currency', t('finance.currency'), { value: tariff.currency, maxlength: 3, pattern: '[A-Z]{3}' }),
      field('seat_price', t('finance.seat_price'), { type: 'number', min: 0, value: tariff.seat_price }),
      field('widget_price', t('finance.message_price', { channel: 'widget' }), { type: 'number', min: 0, value: tariff.message_prices.widget || 0 }),
      done,
    ],
    t('widgets.save'),
    async (f) => {
      await api('PUT', '/api/v1/finance/tariff', {
        currency: value(f, 'currency'),
        seat_price: Number(value(f, 'seat_price')),
        message_prices: { ...tariff.message_prices, widget: Number(value(f, 'widget_price')) },
      });
      done.textContent = t('security.saved');
    },
  );
}

/**
 * Widgets: their settings and the one tag a company puts on its pages.
 * @param {HTMLElement} main
 * @param {(p: string) => boolean} holds
 */
function widgets(main, holds) {
  const table = h('div', { class: 'panel wide' }, h('p', {}, t('loading')));
  const side = h('div');
  show(main, h('div', { class: 'columns' }, table, side));
  if (holds('settings.manage')) show(side, settingsForm(null));

  /**
   * The form for a new widget (`existing` null) or for changing one.
   * @param {any} existing
   */
  function settingsForm(existing) {
    const created = h('div', { role: 'status' });
    const was = existing ? existing.settings : { name: '', greeting: '', allowed_origins: [], language: 'ru' };
    const hours = hoursEditor(was.working_hours || { utc_offset_minutes: 180, days: [] });
    return form(
      existing ? t('widgets.edit_title', { name: was.name }) : t('widgets.create'),
      [
        field('name', t('widgets.name'), { maxlength: 100, value: was.name }),
        field('greeting', t('widgets.greeting'), { required: false, maxlength: 500, value: was.greeting }),
        field('origins', t('widgets.origins'), { placeholder: 'https://shop.example', required: false, value: was.allowed_origins.join(' ') }),
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'f-language' }, t('language')),
          h(
            'select',
            { id: 'f-language', name: 'language' },
            h('option', { value: 'ru', selected: was.language === 'ru' }, 'Русский'),
            h('option', { value: 'en', selected: was.language === 'en' }, 'English'),
          ),
        ),
        hours.fieldset,
        created,
      ],
      existing ? t('widgets.save') : t('widgets.create_submit'),
      async (f) => {
        const settings = {
          name: value(f, 'name'),
          greeting: value(f, 'greeting'),
          allowed_origins: value(f, 'origins').split(/[\s,]+/).filter(Boolean),
          language: value(f, 'language'),
          working_hours: hours.read(),
        };
        if (existing) {
          await api('PUT', `/api/v1/widgets/${existing.id}`, settings);
          show(side, settingsForm(null));
        } else {
          const reply = await api('POST', '/api/v1/widgets', settings);
          f.reset();
          show(created, h('p', {}, t('widgets.secret_once')), h('code', { class: 'wrap', id: 'widget-secret' }, reply.secret));
        }
        load();
      },
    );
  }

  async function load() {
    try {
      const list = await api('GET', '/api/v1/widgets');
      show(
        table,
        h('h1', {}, t('nav.widgets')),
        list.length
          ? list.map((/** @type {any} */ w) =>
              h(
                'article',
                { class: 'widget-card', 'data-id': w.id },
                h('h2', {}, w.settings.name),
                h('p', {}, t('widgets.origins'), ': ', w.settings.allowed_origins.join(', ') || '—'),
                h('p', {}, t('widgets.embed')),
                h('pre', { class: 'figures snippet' }, `<script src="${location.origin}/widget.js" data-widget="${w.id}" async></script>`),
                holds('settings.manage')
                  ? h('button', { type: 'button', class: 'quiet', 'data-edit': w.id, onclick: () => show(side, settingsForm(w)) }, t('widgets.edit'))
                  : null,
              ),
            )
          : h('p', { class: 'empty' }, t('widgets.none')),
      );
    } catch (err) {
      failed(table, err);
    }
  }
  load();
}

/**
 * Security settings: which roles must use 2FA, and the installation's language.
 * @param {HTMLElement} main
 * @param {(p: string) => boolean} holds
 */
async function security(main, holds) {
  const box = h('div', { class: 'panel' }, h('p', {}, t('loading')));
  const language = h('div', { class: 'panel' });
  show(main, h('div', { class: 'columns' }, box, holds('settings.manage') ? language : null));
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

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** @param {number} minutes */
function clock(minutes) {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** @param {string} text "HH:MM" */
function minutesOf(text) {
  const [hh, mm] = text.split(':').map(Number);
  return (hh || 0) * 60 + (mm || 0);
}

/**
 * Working hours: always open, or a time window per weekday, in the company's
 * UTC offset. An empty list of days means always open.
 * @param {{ utc_offset_minutes: number, days: ([number, number] | null)[] }} wh
 */
function hoursEditor(wh) {
  const always = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'hours-always', checked: wh.days.length === 0 }));
  const offset = /** @type {HTMLInputElement} */ (
    h('input', { type: 'number', id: 'hours-offset', min: -14, max: 14, step: 0.5, value: wh.utc_offset_minutes / 60, 'aria-label': t('hours.offset') })
  );
  const rows = DAYS.map((d, i) => {
    const day = wh.days[i] ?? (wh.days.length ? null : i < 5 ? [540, 1080] : null);
    const open = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', checked: !!day, 'aria-label': t(`hours.${d}`) }));
    const from = /** @type {HTMLInputElement} */ (h('input', { type: 'time', value: clock(day ? day[0] : 540), 'aria-label': `${t(`hours.${d}`)}: ${t('hours.from')}` }));
    const to = /** @type {HTMLInputElement} */ (h('input', { type: 'time', value: clock(day ? day[1] : 1080), 'aria-label': `${t(`hours.${d}`)}: ${t('hours.to')}` }));
    return { open, from, to, row: h('div', { class: 'hours-row' }, h('label', { class: 'check' }, open, t(`hours.${d}`)), from, '–', to) };
  });
  const days = h('div', { class: 'hours-days', hidden: always.checked }, rows.map((r) => r.row));
  always.addEventListener('change', () => (days.hidden = always.checked));
  return {
    fieldset: h(
      'fieldset',
      { class: 'hours' },
      h('legend', {}, t('hours.title')),
      h('label', { class: 'check' }, always, t('hours.always')),
      h('label', { class: 'field' }, t('hours.offset'), offset),
      days,
    ),
    read: () => ({
      utc_offset_minutes: Math.round(Number(offset.value) * 60),
      days: always.checked ? [] : rows.map((r) => (r.open.checked ? [minutesOf(r.from.value), minutesOf(r.to.value)] : null)),
    }),
  };
}
