// @ts-check
/** Where the routing rules sent a conversation, in the workplace's list: the
 * team (a chip with its name) and a high priority ("Urgent", in words, not
 * only in colour). The teams are loaded once per visit, as the labels are;
 * the routes come with the list's pages. */

import { api } from '../../api.js';
import { h } from '../../dom.js';
import { t } from '../../i18n.js';

/** Loads the teams into `state.teams`; the list redraws with their names. @param {import('./state.js').State} state */
export async function loadTeams(state) {
  try {
    const list = await api('GET', '/api/v1/teams');
    state.teams = new Map(list.map((/** @type {any} */ x) => [x.id, x]));
    state.notify('list');
  } catch {
    /* no teams: the chips stay away, the rest works */
  }
}

/** Keeps the routes a page of the list carries (conversations routed nowhere have none).
 * @param {import('./state.js').State} state @param {any} page */
export function keepRoutes(state, page) {
  for (const c of page.items) state.routes.delete(c.id);
  for (const r of page.routes || []) state.routes.set(r.conversation_id, { team_id: r.team_id ?? null, priority: r.priority });
}

/** The marks of a conversation's route: "Urgent" first, then the team. @param {import('./state.js').State} state @param {string} id */
export function routeChips(state, id) {
  const route = state.routes.get(id);
  if (!route) return [];
  const team = route.team_id ? state.teams.get(route.team_id) : null;
  return [
    route.priority === 'high' ? h('span', { class: 'priority-chip high' }, t('workplace.urgent')) : null,
    team ? h('span', { class: 'team-chip', title: t('workplace.team') }, h('span', { class: 'visually-hidden' }, `${t('workplace.team')}: `), team.name) : null,
  ].filter((x) => x !== null);
}
