// @ts-check
/** The employees' app: decides from the session's stage which screen to show,
 * and keeps the menu to what the employee's permissions allow. */

import { api, ApiError, setCsrf } from './api.js';
import { h, show } from './dom.js';
import { t, setLanguage, languageToUse, LANGUAGES } from './i18n.js';
import { signInView, secondFactorView } from './views/sign-in.js';
import { enrolView } from './views/enrol.js';
import { setupView, invitationView } from './views/setup.js';
import { accountView, passwordChangeView } from './views/account.js';
import { workplaceView } from './views/workplace.js';
import { cabinetSections } from './views/cabinet.js';

const root = /** @type {HTMLElement} */ (document.getElementById('app'));

/** @type {{ employee: any, stage: string, permissions: {permission: string, held: boolean}[] } | null} */
let me = null;
/** @type {(() => void) | null} */
let leaveScreen = null;

/** @param {string} permission */
export function holds(permission) {
  return !!me && me.permissions.some((p) => p.permission === permission && p.held);
}

/** @param {string} path */
export function go(path) {
  if (location.pathname !== path) history.pushState(null, '', path);
  route();
}

/** Signs out here (the server ends the session) and shows the sign-in screen. */
export async function signOut() {
  // Close the live connection first: the server ends it when the session ends.
  if (leaveScreen) leaveScreen();
  leaveScreen = null;
  try {
    await api('POST', '/api/v1/auth/sign-out');
  } catch {
    /* already gone */
  }
  endSession();
}

/** The session is over (signed out, revoked, blocked): back to sign-in. */
export function endSession() {
  if (!me && location.pathname === '/sign-in') return; // already there
  setCsrf(null);
  me = null;
  go('/sign-in');
}

/** Loads who is signed in again (after sign-in steps) and shows where they belong. */
export async function refresh() {
  try {
    me = await api('GET', '/api/v1/account');
  } catch (e) {
    me = null;
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
  }
  route();
}

function route() {
  if (leaveScreen) leaveScreen();
  leaveScreen = null;
  const path = location.pathname;
  if (path === '/setup') return show(root, setupView());
  if (path === '/invitation') return show(root, invitationView());
  if (!me) return show(root, signInView());
  if (me.stage === 'second_factor') return show(root, secondFactorView());
  if (me.stage === 'password_change') return show(root, passwordChangeView());
  if (me.stage === 'enrolment') return show(root, enrolView(me.employee));
  const sections = menu();
  const current = sections.find((s) => s.path === path) || (path === '/' || path === '/sign-in' ? sections[0] : null);
  const main = h('main', { id: 'main', tabindex: '-1' });
  show(root, header(sections, current ? current.path : ''), main);
  if (!current) {
    show(main, h('div', { class: 'panel' }, h('h1', {}, t('not_found.title')), h('p', {}, t('not_found.text'))));
    return;
  }
  if (location.pathname !== current.path) history.replaceState(null, '', current.path);
  document.title = `${t(current.title)} · Ostrog`;
  // Sections that load asynchronously answer a promise, not a way to leave.
  const leave = current.render(main);
  leaveScreen = typeof leave === 'function' ? leave : null;
}

/** @typedef {{ path: string, title: string, render: (main: HTMLElement) => (void | (() => void)) }} Section */

/** @returns {Section[]} */
function menu() {
  /** @type {Section[]} */
  const sections = [];
  if (holds('conversations.own') || holds('conversations.all')) {
    sections.push({ path: '/workplace', title: 'nav.workplace', render: (main) => workplaceView(main, me, holds) });
  }
  for (const s of cabinetSections) {
    if (s.permissions.some(holds)) sections.push({ path: s.path, title: s.title, render: (main) => s.render(main, holds) });
  }
  sections.push({ path: '/account', title: 'nav.account', render: (main) => accountView(main, me) });
  return sections;
}

/**
 * @param {Section[]} sections
 * @param {string} current
 */
function header(sections, current) {
  const nav = h(
    'nav',
    { 'aria-label': t('nav.label') },
    h(
      'ul',
      {},
      sections.map((s) =>
        h(
          'li',
          {},
          h(
            'a',
            {
              href: s.path,
              'aria-current': s.path === current ? 'page' : undefined,
              'data-section': s.path.slice(1),
              onclick: (/** @type {MouseEvent} */ e) => {
                e.preventDefault();
                go(s.path);
              },
            },
            t(s.title),
          ),
        ),
      ),
    ),
  );
  return h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '/' }, 'Ostrog'),
    nav,
    h('span', { class: 'who' }, me ? me.employee.name : ''),
    languageSwitch(),
    h('button', { type: 'button', class: 'quiet', id: 'sign-out', onclick: signOut }, t('nav.sign_out')),
  );
}

export function languageSwitch() {
  const select = h(
    'select',
    {
      'aria-label': t('language'),
      class: 'language',
      onchange: (/** @type {Event} */ e) => {
        setLanguage(/** @type {HTMLSelectElement} */ (e.target).value);
        route();
      },
    },
    LANGUAGES.map((l) => h('option', { value: l.code, selected: l.code === languageToUse() }, l.name)),
  );
  return select;
}

window.addEventListener('popstate', route);

// A session ended elsewhere (blocked, revoked, expired) drops to sign-in even
// on screens without a live connection.
window.setInterval(async () => {
  if (!me) return;
  try {
    await api('GET', '/api/v1/account', undefined, { background: true });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) endSession();
  }
}, 15000);

async function start() {
  try {
    const ui = await api('GET', '/api/v1/ui');
    setLanguage(null, ui.language);
  } catch {
    setLanguage(null, 'ru');
  }
  await refresh();
}

start().catch((e) => show(root, h('p', { class: 'error', role: 'alert' }, String(e && e.message))));
