// @ts-check
/** The employees' app: decides from the session's stage which screen to show,
 * and keeps the menu to what the employee's permissions allow. */

import { api, ApiError } from './api.js';
import { h, show } from './dom.js';
import { t, setLanguage } from './i18n.js';
import { endSession, go, holds, languageSwitch, refresh, route, showScreensWith, signOut, signedIn } from './nav.js';
import { signInView, secondFactorView } from './views/sign-in.js';
import { enrolView } from './views/enrol.js';
import { setupView, invitationView } from './views/setup.js';
import { accountView, passwordChangeView } from './views/account.js';
import { workplaceView } from './views/workplace/index.js';
import { cabinetSections } from './views/cabinet/index.js';
import { quickRepliesView } from './views/quick-replies.js';
import { TEAMS_PATH, teamsView } from './views/cabinet/teams.js';

const root = /** @type {HTMLElement} */ (document.getElementById('app'));

/** The screen for the current path; a section with a live connection answers how to leave it.
 * @returns {void | (() => void)} */
function screen() {
  const me = signedIn();
  const path = location.pathname;
  if (path === '/setup') return show(root, setupView());
  if (path === '/invitation') return show(root, invitationView());
  if (!me) return show(root, signInView());
  if (me.stage === 'second_factor') return show(root, secondFactorView());
  if (me.stage === 'password_change') return show(root, passwordChangeView());
  if (me.stage === 'enrolment') return show(root, enrolView(me.employee));
  const sections = menu(me);
  const current = sections.find((s) => s.path === path) || (path === '/' || path === '/sign-in' ? sections[0] : null);
  const main = h('main', { id: 'main', tabindex: '-1' });
  show(root, header(me, sections, current ? current.path : ''), main);
  if (!current) {
    show(main, h('div', { class: 'panel' }, h('h1', {}, t('not_found.title')), h('p', {}, t('not_found.text'))));
    return;
  }
  if (location.pathname !== current.path) history.replaceState(null, '', current.path);
  document.title = `${t(current.title)} · Ostrog`;
  // Sections that load asynchronously answer a promise, not a way to leave.
  return current.render(main);
}

/** A section of the app; `inNav` false: reached by links, not listed in the top bar.
 * @typedef {{ path: string, title: string, render: (main: HTMLElement) => (void | (() => void)), inNav?: boolean }} Section */

/**
 * @param {import('./nav.js').Me} me
 * @returns {Section[]}
 */
function menu(me) {
  /** @type {Section[]} */
  const sections = [];
  const works = holds('conversations.own') || holds('conversations.all');
  if (works) {
    sections.push({ path: '/workplace', title: 'nav.workplace', render: (main) => workplaceView(main, me, holds) });
  }
  for (const s of cabinetSections) {
    if (s.permissions.some(holds)) sections.push({ path: s.path, title: s.title, render: (main) => s.render(main, holds) });
  }
  // Quick replies belong to the workplace, which links to them: the top bar
  // (full in Russian at 1440 px) lists them only for those without one.
  if (works || holds('replies.manage')) {
    sections.push({ path: '/quick-replies', title: 'nav.quick_replies', render: (main) => quickRepliesView(main, holds), inNav: !works });
  }
  // Teams and routing rules are reached from the Security page's routing panel.
  if (holds('settings.view') || holds('settings.manage')) {
    sections.push({ path: TEAMS_PATH, title: 'nav.teams', render: (main) => void teamsView(main, holds), inNav: false });
  }
  sections.push({ path: '/account', title: 'nav.account', render: (main) => accountView(main, me) });
  return sections;
}

/**
 * @param {import('./nav.js').Me} me
 * @param {Section[]} sections
 * @param {string} current
 */
function header(me, sections, current) {
  const nav = h(
    'nav',
    { 'aria-label': t('nav.label') },
    h(
      'ul',
      {},
      sections.filter((s) => s.inNav !== false).map((s) =>
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
  // On a phone the sections fold into a menu behind this button (style.css).
  const toggle = h('button', { type: 'button', class: 'quiet', id: 'menu-toggle', 'aria-expanded': 'false', 'aria-controls': 'sections' }, t('nav.menu'));
  nav.id = 'sections';
  toggle.addEventListener('click', () => {
    const open = top.classList.toggle('menu-open');
    toggle.setAttribute('aria-expanded', String(open));
  });
  const top = h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '/' }, 'Ostrog'),
    toggle,
    nav,
    h('span', { class: 'who' }, me ? me.employee.name : ''),
    languageSwitch(),
    h('button', { type: 'button', class: 'quiet', id: 'sign-out', onclick: signOut }, t('nav.sign_out')),
  );
  return top;
}

showScreensWith(screen);
window.addEventListener('popstate', route);

// A session ended elsewhere (blocked, revoked, expired) drops to sign-in even
// on screens without a live connection.
window.setInterval(async () => {
  if (!signedIn()) return;
  try {
    await api('GET', '/api/v1/account', undefined, { background: true });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) endSession();
  }
}, 15000);

async function start() {
  let signedIn = true;
  try {
    const ui = await api('GET', '/api/v1/ui');
    setLanguage(null, ui.language);
    signedIn = ui.signed_in !== false;
  } catch {
    setLanguage(null, 'ru');
  }
  await refresh(signedIn);
}

start().catch((e) => show(root, h('p', { class: 'error', role: 'alert' }, String(e && e.message))));
