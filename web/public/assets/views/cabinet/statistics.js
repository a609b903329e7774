// @ts-check
/** Statistics: conversations received, answered and missed per day over
 * the last days as a chart drawn here in SVG, the period's figures, per
 * operator where allowed, and the CSV export of the same scope; below them
 * how often each quick reply was used in the same period (one's own uses
 * for holders of `statistics.own` only), how many conversations carry
 * each label, and the visitors' satisfaction by team and by label. The
 * period is the last 7 days until someone picks another (up to a year;
 * the chart shows days for periods of up to 31 days). */

import { api } from '../../api.js';
import { h, show, svg } from '../../dom.js';
import { t } from '../../i18n.js';
import { explain } from '../../forms.js';

const DAY = 24 * 60 * 60 * 1000;
/** Their colours come from the style sheet (classes of the same names). */
const SERIES = [{ key: 'received' }, { key: 'answered' }, { key: 'missed' }];

/**
 * @param {HTMLElement} main
 * @param {(p: string) => boolean} holds
 */
export async function statistics(main, holds) {
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  render(main, holds, today.getTime() - 6 * DAY, today.getTime() + DAY);
}

/**
 * The page for the days from `from` to `to` (midnights, local time).
 * @param {HTMLElement} main
 * @param {(p: string) => boolean} holds
 * @param {number} from
 * @param {number} to
 */
async function render(main, holds, from, to) {
  const box = h('div', { class: 'panel wide' }, h('p', {}, t('loading')));
  show(main, box);
  const count = Math.round((to - from) / DAY);
  const days = count <= 31 ? Array.from({ length: count }, (_, i) => from + i * DAY) : [];
  const replies = quickReplyUses(from, to);
  const general = holds('statistics.all') || holds('statistics.general');
  const labels = general ? labelCounts(from, to) : null;
  const satisfied = general ? satisfaction(from, to) : null;
  try {
    const [daily, period, names] = await Promise.all([
      Promise.all(days.map((d) => api('GET', `/api/v1/statistics?from=${d}&to=${d + DAY}`))),
      api('GET', `/api/v1/statistics?from=${from}&to=${to}`),
      holds('employees.view') ? api('GET', '/api/v1/employees').catch(() => []) : Promise.resolve([]),
    ]);
    /** @type {Map<string, string>} */
    const nameOf = new Map((Array.isArray(names) ? names : names.items || []).map((/** @type {any} */ e) => [e.id, e.name]));
    const figures = (/** @type {any} */ r) => r.total || Object.values(r.per_operator)[0] || {};
    show(
      box,
      h('h1', {}, t('nav.statistics')),
      periodForm(from, to, (f, u) => render(main, holds, f, u)),
      days.length ? chart(days, daily.map(figures)) : h('p', { class: 'hint' }, t('statistics.no_chart')),
      days.length ? h('ul', { class: 'legend' }, SERIES.map((s) => h('li', {}, h('span', { class: `swatch ${s.key}` }), t(`statistics.${s.key}`)))) : null,
      table(period, nameOf),
      h('p', {}, h('a', { href: `/api/v1/statistics?from=${from}&to=${to}&format=csv`, download: 'statistics.csv', id: 'statistics-csv' }, t('statistics.csv'))),
      replies,
      labels,
      satisfied,
    );
  } catch (err) {
    show(box, h('p', { class: 'error', role: 'alert' }, explain(err)));
  }
}

/**
 * Grouped bars, one group per day.
 * @param {number[]} days
 * @param {any[]} figures
 */
function chart(days, figures) {
  const width = 640;
  const height = 220;
  const pad = 28;
  const max = Math.max(1, ...figures.flatMap((f) => SERIES.map((s) => f[s.key] || 0)));
  const group = (width - pad) / days.length;
  const bar = (group - 12) / SERIES.length;
  const y = (/** @type {number} */ v) => height - pad - (v / max) * (height - 2 * pad);
  const bars = days.flatMap((d, i) =>
    SERIES.map((s, j) => {
      const v = figures[i][s.key] || 0;
      const x = pad + i * group + 6 + j * bar;
      return svg('rect', { x, y: y(v), width: bar - 2, height: height - pad - y(v), class: s.key }, svg('title', {}, `${t(`statistics.${s.key}`)}: ${v}`));
    }),
  );
  const labels = days.map((d, i) =>
    svg('text', { x: pad + i * group + group / 2, y: height - 8, 'text-anchor': 'middle', 'font-size': 12, fill: 'currentColor' }, new Date(d).toLocaleDateString(document.documentElement.lang, { weekday: 'short', day: 'numeric' })),
  );
  const axis = [0, max].map((v) => svg('text', { x: 2, y: y(v) + 4, 'font-size': 11, fill: 'currentColor' }, String(v)));
  return svg(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': t('statistics.chart') },
    svg('line', { x1: pad, y1: height - pad, x2: width, y2: height - pad, stroke: 'currentColor', 'stroke-width': 1 }),
    ...axis,
    ...bars,
    ...labels,
  );
}

/**
 * @param {any} period
 * @param {Map<string, string>} nameOf
 */
function table(period, nameOf) {
  const columns = ['received', 'answered', 'missed', 'closed', 'first_response_ms', 'rating'];
  const cell = (/** @type {any} */ f, /** @type {string} */ c) => {
    const v = f[c];
    if (v === null || v === undefined) return '—';
    if (c.endsWith('_ms')) return `${Math.round(v / 1000)} ${t('statistics.seconds')}`;
    if (c === 'rating') return Number(v).toFixed(1);
    return String(v);
  };
  const rows = [];
  if (period.total) rows.push([t('statistics.total'), period.total]);
  for (const [id, f] of Object.entries(period.per_operator)) rows.push([nameOf.get(id) || id.slice(0, 8), f]);
  return h(
    'table',
    { id: 'statistics' },
    h('thead', {}, h('tr', {}, h('th', {}, ''), columns.map((c) => h('th', {}, t(`statistics.${c}`))))),
    h('tbody', {}, rows.map(([name, f]) => h('tr', {}, h('th', {}, name), columns.map((c) => h('td', {}, cell(f, c)))))),
  );
}

/**
 * Uses of each quick reply in the period, most used first, with its CSV.
 * Loaded on its own: a refusal here leaves the figures above in place.
 * @param {number} from
 * @param {number} to
 */
function quickReplyUses(from, to) {
  const box = h('section', { class: 'reply-statistics', 'aria-labelledby': 'reply-statistics-title' }, h('p', {}, t('loading')));
  const heading = h('h2', { id: 'reply-statistics-title' }, t('statistics.replies'));
  api('GET', `/api/v1/statistics/quick-replies?from=${from}&to=${to}`).then(
    (report) => {
      const rows = Array.isArray(report.replies) ? report.replies : [];
      show(
        box,
        heading,
        rows.length
          ? h(
              'div',
              { class: 'table-scroll' },
              h(
                'table',
                { id: 'reply-statistics' },
                h('thead', {}, h('tr', {}, h('th', {}, t('replies.code')), h('th', {}, t('replies.title')), h('th', { class: 'number' }, t('statistics.uses')))),
                h(
                  'tbody',
                  {},
                  rows.map((/** @type {any} */ r) =>
                    h(
                      'tr',
                      { 'data-code': r.code },
                      h('td', { class: 'reply-code' }, `/${r.code}`),
                      // Whose it is as a mark beside the title: three columns fit a phone.
                      h(
                        'td',
                        {},
                        r.title,
                        ' ',
                        h('span', { class: `reply-scope ${r.scope}` }, t(`replies.scope_${r.scope}`)),
                        r.deleted ? h('span', { class: 'reply-deleted' }, ` (${t('statistics.reply_deleted')})`) : null,
                      ),
                      h('td', { class: 'number' }, String(r.uses)),
                    ),
                  ),
                ),
              ),
            )
          : h('p', { class: 'empty' }, t('statistics.replies_none')),
        h('p', {}, h('a', { href: `/api/v1/statistics/quick-replies?from=${from}&to=${to}&format=csv`, download: 'quick-replies.csv', id: 'reply-statistics-csv' }, t('statistics.csv'))),
      );
    },
    (err) => show(box, heading, h('p', { class: 'error', role: 'alert' }, explain(err))),
  );
  return box;
}

/** @param {number} ms */
const dateValue = (ms) => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

/**
 * The first and last day of the period, both included.
 * @param {number} from
 * @param {number} to
 * @param {(from: number, to: number) => void} chosen
 */
function periodForm(from, to, chosen) {
  const first = /** @type {HTMLInputElement} */ (h('input', { type: 'date', id: 'stats-from', value: dateValue(from), required: true }));
  const last = /** @type {HTMLInputElement} */ (h('input', { type: 'date', id: 'stats-to', value: dateValue(to - DAY), required: true }));
  const error = h('p', { class: 'error', role: 'alert', id: 'stats-period-error' });
  /** @param {string} value */
  const midnight = (value) => new Date(`${value}T00:00:00`).getTime();
  return h('form', {
    class: 'period',
    onsubmit: (/** @type {SubmitEvent} */ e) => {
      e.preventDefault();
      const f = midnight(first.value);
      const u = midnight(last.value) + DAY;
      if (!(u > f) || u - f > 366 * DAY) {
        error.textContent = t('statistics.bad_period');
        return;
      }
      chosen(f, u);
    },
  },
  h('label', { for: 'stats-from' }, t('statistics.from')), first,
  h('label', { for: 'stats-to' }, t('statistics.to')), last,
  h('button', { type: 'submit', id: 'stats-show' }, t('statistics.show')),
  error);
}

/**
 * The visitors' ratings given in the period by team and by label: how
 * many, their average, and the share of 4 and 5, with the CSV.
 * @param {number} from
 * @param {number} to
 */
function satisfaction(from, to) {
  const box = h('section', { class: 'satisfaction', 'aria-labelledby': 'satisfaction-title' }, h('p', {}, t('loading')));
  const heading = h('h2', { id: 'satisfaction-title' }, t('statistics.satisfaction'));
  const number = (/** @type {number|null} */ x, /** @type {string} */ unit) => (x == null ? '—' : `${x}${unit}`);
  /** @param {string} id @param {string} title @param {any[]} rows @param {(r: any) => any} name */
  const table = (id, title, rows, name) =>
    h('table', { id },
      h('thead', {}, h('tr', {}, h('th', {}, title), h('th', { class: 'number' }, t('statistics.ratings')),
        h('th', { class: 'number' }, t('statistics.average')), h('th', { class: 'number' }, t('statistics.satisfied')))),
      h('tbody', {}, rows.map((r) => h('tr', {}, h('td', {}, name(r)), h('td', { class: 'number' }, String(r.ratings)),
        h('td', { class: 'number' }, number(r.average, '')), h('td', { class: 'number' }, number(r.satisfied_percent, ' %'))))));
  api('GET', `/api/v1/statistics/satisfaction?from=${from}&to=${to}`).then(
    (report) => {
      const teams = Array.isArray(report.by_team) ? report.by_team : [];
      const labels = Array.isArray(report.by_label) ? report.by_label : [];
      show(
        box,
        heading,
        h('p', { class: 'hint' }, t('statistics.satisfaction_hint')),
        teams.length
          ? table('satisfaction-teams', t('statistics.team'), teams, (r) => r.name || t('statistics.no_team'))
          : h('p', { class: 'empty' }, t('statistics.no_ratings')),
        labels.length
          ? table('satisfaction-labels', t('labels.name'), labels, (r) => h('span', { class: `label-chip ${r.colour}` }, r.name))
          : null,
        h('p', {}, h('a', { href: `/api/v1/statistics/satisfaction?from=${from}&to=${to}&format=csv`, download: 'satisfaction.csv', id: 'satisfaction-csv' }, t('statistics.csv'))),
      );
    },
    (err) => show(box, heading, h('p', { class: 'error', role: 'alert' }, explain(err))),
  );
  return box;
}

/**
 * Conversations that started in the period per label, most first, with its CSV.
 * @param {number} from
 * @param {number} to
 */
function labelCounts(from, to) {
  const box = h('section', { class: 'label-statistics', 'aria-labelledby': 'label-statistics-title' }, h('p', {}, t('loading')));
  const heading = h('h2', { id: 'label-statistics-title' }, t('statistics.labels'));
  api('GET', `/api/v1/statistics/labels?from=${from}&to=${to}`).then(
    (report) => {
      const rows = Array.isArray(report.labels) ? report.labels : [];
      show(
        box,
        heading,
        rows.length
          ? h('table', { id: 'label-statistics' },
              h('thead', {}, h('tr', {}, h('th', {}, t('labels.name')), h('th', { class: 'number' }, t('statistics.label_conversations')))),
              h('tbody', {}, rows.map((/** @type {any} */ l) =>
                h('tr', {}, h('td', {}, h('span', { class: `label-chip ${l.colour}` }, l.name)), h('td', { class: 'number' }, String(l.conversations))))))
          : h('p', { class: 'empty' }, t('labels.none')),
        h('p', {}, h('a', { href: `/api/v1/statistics/labels?from=${from}&to=${to}&format=csv`, download: 'labels.csv', id: 'label-statistics-csv' }, t('statistics.csv'))),
      );
    },
    (err) => show(box, heading, h('p', { class: 'error', role: 'alert' }, explain(err))),
  );
  return box;
}
