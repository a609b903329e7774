// @ts-check
/** The editor of a widget's working hours. */

import { h } from '../../dom.js';
import { t } from '../../i18n.js';

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
export function hoursEditor(wh) {
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
  // What the form goes back to when it is reset (after a widget is created):
  // the values shown now, not empty fields (`h` sets the live value only).
  for (const input of [offset, ...rows.flatMap((r) => [r.from, r.to])]) input.defaultValue = input.value;
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
