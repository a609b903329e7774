// @ts-check
/** Security checks, on the Security page: the last report of `ostrog doctor` as the server runs
 * it every few hours, and a run on request. Findings come first, worst
 * first, each with what to do and where the docs explain it; what passed
 * is folded away. The evidence and the fix are the server's own words
 * (settings, paths and commands, in English); each check's name and its
 * severity are in the page's language. */

import { api } from '../../api.js';
import { h, show, dateTime } from '../../dom.js';
import { t, tOr } from '../../i18n.js';
import { explain, failed } from '../../forms.js';

const SEVERITIES = ['critical', 'warning', 'notice', 'ok'];

/** A check's name in words; its id when there are none (a newer server). @param {string} id */
function checkName(id) {
  return tOr(`checks.name.${id}`, id);
}

/** @param {any} check */
function finding(check) {
  return h(
    'li',
    { class: `finding ${check.severity}`, 'data-check': check.id },
    h('span', { class: `severity ${check.severity}` }, t(`checks.severity.${check.severity}`)),
    h('h3', {}, checkName(check.id)),
    h('p', { class: 'evidence', lang: 'en' }, check.evidence),
    check.fix ? h('p', { class: 'fix' }, h('strong', {}, t('checks.fix')), ' ', h('span', { lang: 'en' }, check.fix)) : null,
    check.fix ? h('p', { class: 'doc' }, t('checks.doc'), ' ', h('code', {}, check.doc)) : null,
  );
}

/** @param {any} report */
function summary(report) {
  /** @param {string} s */
  const count = (s) => report.checks.filter((/** @type {any} */ c) => c.severity === s).length;
  const parts = SEVERITIES.map((s) => t(`checks.count.${s}`, { n: count(s) }));
  return h(
    'p',
    { id: 'checks-summary', class: report.worst === 'critical' ? 'error' : '' },
    t('checks.checked_at', { at: dateTime(report.checked_at) }),
    ' ',
    parts.join(', '),
  );
}

/** @param {any} report */
function listed(report) {
  const found = report.checks.filter((/** @type {any} */ c) => c.severity !== 'ok');
  const passed = report.checks.filter((/** @type {any} */ c) => c.severity === 'ok');
  return [
    found.length ? h('ul', { class: 'checks', id: 'checks-found' }, found.map(finding)) : h('p', { class: 'ok' }, t('checks.all_passed')),
    h(
      'details',
      { id: 'checks-passed' },
      h('summary', {}, t('checks.passed', { n: passed.length })),
      h('ul', { class: 'checks' }, passed.map(finding)),
    ),
  ];
}

/** The panel, filled once the last report has come. */
export function checksPanel() {
  const box = h('div', { class: 'panel', id: 'security-checks' }, h('p', {}, t('loading')));
  fill(box);
  return box;
}

/** @param {HTMLElement} box */
async function fill(box) {
  const status = h('p', { class: 'error', role: 'status' });
  const body = h('div', {});
  const run = /** @type {HTMLButtonElement} */ (h('button', { id: 'checks-run', type: 'button' }, t('checks.run')));
  /** @param {any} report @param {number} every */
  const draw = (report, every) => {
    const found = report ? [summary(report), ...listed(report)] : [h('p', { id: 'checks-none' }, t('checks.none'))];
    show(body, ...found, h('p', { class: 'hint' }, t('checks.schedule', { n: every })));
  };
  try {
    const last = await api('GET', '/api/v1/security-checks');
    run.onclick = async () => {
      run.disabled = true;
      run.textContent = t('checks.running');
      status.textContent = '';
      try {
        draw(await api('POST', '/api/v1/security-checks'), last.every_hours);
      } catch (err) {
        status.textContent = explain(err);
      } finally {
        run.disabled = false;
        run.textContent = t('checks.run');
      }
    };
    draw(last.report, last.every_hours);
    show(box, h('div', { class: 'heading' }, h('h2', {}, t('checks.title')), run), h('p', {}, t('checks.hint')), status, body);
  } catch (err) {
    failed(box, err);
  }
}
