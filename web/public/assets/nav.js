// @ts-check
/** Moving between screens, and the session that decides which ones an
 * employee may see. Views import this module, never `app.js`: the app
 * imports the views and hands this module the function that shows the screen
 * for the current path (`showScreensWith`), so nothing imports in a circle. */

import { api, ApiError, setCsrf } from './api.js';
import { h } from './dom.js';
import { t, setLanguage, languageToUse, LANGUAGES } from './i18n.js';

/** @typedef {{ employee: any, stage: string, permissions: {permission: string, held: boolean}[] }} Me */

/** @type {Me | null} */
let me = null;
/** @type {(() => void) | null} */
let leaveScreen = null;
/** Shows the screen for the current path; may answer a way to leave it.
 * @type {() => (void | (() => void))} */
let showScreen = () => {};

/** @param {() => (void | (() => void))} show */
export function showScreensWith(show) {
  showScreen = show;
}

/** Who is signed in (and at which stage), or null. */
export function signedIn() {
  return me;
}

/** @param {string} permission */
export function holds(permission) {
  return !!me && me.permissions.some((p) => p.permission === permission && p.held);
}

/** @param {string} path */
export function go(path) {
  if (location.pathname !== path) history.pushState(null, '', path);
  route();
}

/** Leaves the current screen and shows the one for the current path. */
export function route() {
  if (leaveScreen) leaveScreen();
  leaveScreen = null;
  const leave = showScreen();
  leaveScreen = typeof leave === 'function' ? leave : null;
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

/**
 * Loads who is signed in again (after sign-in steps) and shows where they
 * belong. `signedIn` false (the server said no session came with the page):
 * straight to signing in, without a request bound to be refused.
 * @param {boolean} [signedIn]
 */
export async function refresh(signedIn = true) {
  if (!signedIn) {
    me = null;
    return route();
  }
  try {
    me = await api('GET', '/api/v1/account');
  } catch (e) {
    me = null;
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
  }
  route();
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
