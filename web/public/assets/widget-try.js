// @ts-check
/** Ostrog's own test page of a widget: says what it is for, in the widget's
 * language, while the loader on the page opens the widget as a company's
 * page would. It needs no session: it shows only what the widget shows. */

import { api } from './api.js';
import { h, show } from './dom.js';
import { t, fixLanguage } from './i18n.js';

const box = /** @type {HTMLElement} */ (document.getElementById('try'));
const id = box.getAttribute('data-widget') || '';

api('GET', `/api/v1/widget/${id}`)
  .then((info) => {
    fixLanguage(info.language);
    document.title = `${t('widget_try.title', { name: info.name })} · Ostrog`;
    show(box, h('h1', {}, t('widget_try.title', { name: info.name })), h('p', {}, t('widget_try.hint')));
  })
  .catch(() => show(box, h('p', { class: 'error' }, t('error.offline'))));
