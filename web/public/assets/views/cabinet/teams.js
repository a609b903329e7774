// @ts-check
/** Teams and routing rules, a page reached from the Security page's routing
 * panel (the top bar has no room for it): the teams with their members and
 * wait, the ordered rules that send a starting conversation to a team
 * (`rules.js`), and a dry-run of the saved rules on a sample conversation
 * (`dry-run.js`). Holders of `settings.view` read it all; `settings.manage`
 * changes it (the server checks and audits every change). The lists the
 * forms choose from (employees, labels, widgets, channels) are asked only of
 * those who may read them, so that nothing is refused on the way. */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';
import { clearFieldErrors, explain, failed, showAtField } from '../../forms.js';
import { go } from '../../nav.js';
import { rulesPanel } from './rules.js';
import { dryRunPanel } from './dry-run.js';

export const TEAMS_PATH = '/teams';

/** What the page's panels share: the catalogues, and the saved rules.
 * `employees` is null for someone who may not see them.
 * @typedef {{ teams: any[], employees: any[] | null, labels: any[], widgets: any[], channels: any[], rules: any[], mayChange: boolean }} Catalogues */

/**
 * @param {HTMLElement} main
 * @param {(p: string) => boolean} holds
 */
export async function teamsView(main, holds) {
  const teamsBox = h('section', { class: 'panel', id: 'teams-settings', 'aria-labelledby': 'teams-title' }, h('p', {}, t('loading')));
  const rulesBox = h('section', { class: 'panel', id: 'rules-settings', 'aria-labelledby': 'rules-title' });
  const dryBox = h('section', { class: 'panel', id: 'dry-run', 'aria-labelledby': 'dry-run-title' });
  const back = h(
    'a',
    { href: '/security', id: 'teams-back', onclick: (/** @type {MouseEvent} */ e) => { e.preventDefault(); go('/security'); } },
    t('teams.back'),
  );
  show(
    main,
    h('div', { class: 'routing-page' },
      h('div', { class: 'routing-intro' }, h('h1', {}, t('teams.title')), h('p', {}, t('teams.intro')), h('p', {}, back)),
      teamsBox, rulesBox, dryBox),
  );
  /** @type {Catalogues} */
  let ctx;
  try {
    // Each list only for whoever may read it; a missing one leaves its picker out.
    const maybe = (/** @type {boolean} */ may, /** @type {string} */ path) => (may ? api('GET', path) : Promise.resolve(null));
    const [teams, employees, labels, widgets, channels, rules] = await Promise.all([
      api('GET', '/api/v1/teams'),
      maybe(holds('employees.view'), '/api/v1/employees'),
      api('GET', '/api/v1/labels'),
      api('GET', '/api/v1/widgets'),
      maybe(holds('channels.manage'), '/api/v1/channels'),
      api('GET', '/api/v1/routing/rules'),
    ]);
    const people = employees ? (Array.isArray(employees) ? employees : employees.items) : null;
    ctx = {
      teams,
      employees: people ? people.filter((/** @type {any} */ e) => e.status !== 'deleted').sort(byName) : null,
      labels,
      widgets,
      channels: channels || [],
      rules: rules.rules,
      mayChange: holds('settings.manage'),
    };
  } catch (err) {
    failed(teamsBox, err);
    rulesBox.hidden = true;
    dryBox.hidden = true;
    return;
  }
  const rules = rulesPanel(rulesBox, ctx);
  dryRunPanel(dryBox, ctx);
  teamsPanel(teamsBox, ctx, () => rules.teamsChanged());
}

/** @param {any} a @param {any} b */
function byName(a, b) {
  return String(a.name).localeCompare(String(b.name));
}

/**
 * The teams: each with its wait and members by name; adding, changing and
 * deleting for holders of `settings.manage`.
 * @param {HTMLElement} box
 * @param {Catalogues} ctx
 * @param {() => void} changed the teams changed (the rules name them)
 */
function teamsPanel(box, ctx, changed) {
  const error = h('p', { class: 'error', role: 'alert', id: 'teams-error' });
  render();

  function render() {
    show(
      box,
      h('h2', { id: 'teams-title' }, t('teams.panel')),
      h('p', {}, t('teams.hint')),
      ctx.teams.length ? h('ul', { class: 'team-list' }, [...ctx.teams].sort(byName).map(row)) : h('p', { class: 'empty' }, t('teams.none')),
      error,
      ctx.mayChange ? form(null) : null,
    );
  }

  async function reload() {
    ctx.teams = await api('GET', '/api/v1/teams');
    render();
    changed();
  }

  /** @param {any} team */
  function row(team) {
    const li = h(
      'li',
      { class: 'team-item', 'data-team': team.id },
      h('strong', { class: 'team-name' }, team.name),
      h('span', { class: 'team-wait' }, team.fallback_after_seconds ? t('teams.waits', { n: team.fallback_after_seconds }) : t('teams.waits_always')),
      h('span', { class: 'team-members' }, members(team)),
      ctx.mayChange
        ? h('span', { class: 'row-actions' },
            h('button', { type: 'button', class: 'link', 'data-edit': team.id, onclick: () => { show(li, form(team)); focusName(li); } }, t('teams.change')),
            h('button', { type: 'button', class: 'link danger', 'data-delete': team.id, onclick: () => remove(team) }, t('teams.delete')))
        : null,
    );
    return li;
  }

  /** The members by name; by number for someone who may not see the employees. @param {any} team */
  function members(team) {
    if (!team.members.length) return t('teams.no_members');
    if (!ctx.employees) return t('teams.member_count', { n: team.members.length });
    const names = team.members.map((/** @type {string} */ id) => ctx.employees?.find((e) => e.id === id)?.name).filter(Boolean);
    const gone = team.members.length - names.length;
    return `${t('teams.members')}: ${[...names, ...(gone ? [t('teams.former', { n: gone })] : [])].join(', ')}`;
  }

  /** @param {HTMLElement} where */
  function focusName(where) {
    /** @type {HTMLInputElement | null} */ (where.querySelector('input[name=name]'))?.focus();
  }

  /** Adds a team (`team` null) or changes one. @param {any} team */
  function form(team) {
    const prefix = team ? `team-${team.id}` : 'team-new';
    const general = h('p', { class: 'error', id: `${prefix}-error`, role: 'alert' });
    const held = new Set(team ? team.members : []);
    const people = ctx.employees;
    const memberBoxes = people
      ? people.length
        ? h('div', { class: 'member-picker' },
            people.map((e) =>
              h('label', { class: 'check' },
                h('input', { type: 'checkbox', name: 'member', value: e.id, checked: held.has(e.id) }),
                h('span', {}, e.name, h('small', { class: 'member-email' }, e.email)))))
        : h('p', { class: 'empty' }, t('teams.no_employees'))
      : h('p', { class: 'hint' }, t('teams.members_hidden'));
    const f = /** @type {HTMLFormElement} */ (h(
      'form',
      {
        class: 'team-form',
        id: `${prefix}-form`,
        onsubmit: async (/** @type {SubmitEvent} */ e) => {
          e.preventDefault();
          clearFieldErrors(f);
          general.textContent = '';
          error.textContent = '';
          const ticked = [...f.querySelectorAll('input[name=member]:checked')].map((i) => /** @type {HTMLInputElement} */ (i).value);
          const body = {
            name: /** @type {HTMLInputElement} */ (f.elements.namedItem('name')).value,
            fallback_after_seconds: Number(/** @type {HTMLInputElement} */ (f.elements.namedItem('fallback_after_seconds')).value),
            // Without the list of employees, the members stay as they were.
            members: people ? ticked : team ? team.members : [],
          };
          try {
            await api(team ? 'PUT' : 'POST', team ? `/api/v1/teams/${team.id}` : '/api/v1/teams', body);
            await reload();
          } catch (err) {
            if (!showAtField(f, err)) general.textContent = explain(err);
          }
        },
      },
      h('h3', {}, team ? t('teams.edit_title', { name: team.name }) : t('teams.new')),
      h('div', { class: 'field' },
        h('label', { for: `${prefix}-name` }, t('teams.name')),
        h('input', { id: `${prefix}-name`, name: 'name', maxlength: 60, required: true, autocomplete: 'off', value: team ? team.name : '' })),
      h('div', { class: 'field' },
        h('label', { for: `${prefix}-wait` }, t('teams.wait')),
        h('input', {
          id: `${prefix}-wait`, name: 'fallback_after_seconds', type: 'number', min: 0, max: 86400, step: 1, required: true,
          value: String(team ? team.fallback_after_seconds : 120), 'aria-describedby': `${prefix}-wait-hint`,
        }),
        h('small', { class: 'hint', id: `${prefix}-wait-hint` }, t('teams.wait_hint'))),
      h('fieldset', { class: 'members', id: `${prefix}-members`, 'data-field': 'members' }, h('legend', {}, t('teams.members')), memberBoxes),
      general,
      h('div', { class: 'row-actions' },
        h('button', { type: 'submit', id: team ? `${prefix}-save` : 'team-add' }, t(team ? 'teams.save' : 'teams.add')),
        team ? h('button', { type: 'button', class: 'quiet', onclick: render }, t('teams.cancel')) : null),
    ));
    return f;
  }

  /** @param {any} team */
  async function remove(team) {
    if (!window.confirm(t('teams.delete_confirm', { name: team.name }))) return;
    error.textContent = '';
    try {
      await api('DELETE', `/api/v1/teams/${team.id}`);
      await reload();
    } catch (err) {
      error.textContent = explain(err);
    }
  }
}
