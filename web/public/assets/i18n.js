// @ts-check
/** The language of the pages: which one to use and the words in it. The
 * dictionaries live one per language in `i18n/`. Russian is the default of a
 * new installation; an employee's own choice is remembered in this browser.
 * `{name}` in a string is filled from the parameters. */

import { en } from './i18n/en.js';
import { ru } from './i18n/ru.js';

const CHOICE_KEY = 'ostrog.language';

export const LANGUAGES = [
  { code: 'ru', name: 'Русский' },
  { code: 'en', name: 'English' },
];

/** The dictionaries by language code, one file each in `i18n/`.
 * @type {Record<string, Record<string, string>>} */
export const STRINGS = { en, ru };

let installationDefault = 'ru';
/** @type {string | null} */
let fixed = null;

/**
 * @param {string | null} chosen the employee's own choice (remembered), or null to keep it
 * @param {string} [fallback] the installation's default
 */
export function setLanguage(chosen, fallback) {
  if (fallback) installationDefault = fallback;
  if (chosen) localStorage.setItem(CHOICE_KEY, chosen);
  document.documentElement.lang = languageToUse();
}

/** The widget speaks the language of its settings, whatever the browser chose. @param {string} code */
export function fixLanguage(code) {
  fixed = STRINGS[code] ? code : 'ru';
  document.documentElement.lang = fixed;
}

export function languageToUse() {
  if (fixed) return fixed;
  const chosen = localStorage.getItem(CHOICE_KEY);
  return chosen && STRINGS[chosen] ? chosen : installationDefault;
}

/**
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 */
export function t(key, params = {}) {
  const text = STRINGS[languageToUse()][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : ''));
}

/**
 * The text of `key`, or `fallback` where no language has one (a name that a
 * newer server sent, say).
 * @param {string} key
 * @param {string} fallback
 */
export function tOr(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}
