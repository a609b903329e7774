// @ts-check
/** Finance: this month's usage and what it costs under the tariff, the CSV
 * export, and the tariff itself. */

import { api } from '../../api.js';
import { h, show, dateTime } from '../../dom.js';
import { t } from '../../i18n.js';
import { form, field, value, failed } from '../../forms.js';

/**
 * The tariff is changed by holders of `finance.manage`.
 * @param {HTMLElement} main
 * @param {(p: string) => boolean} holds
 */
export async function finance(main, holds) {
  const box = h('div', { class: 'panel wide' }, h('p', {}, t('loading')));
  const side = h('div');
  show(main, h('div', { class: 'columns' }, box, side));
  const now = Date.now();
  const from = new Date(new Date().getFullYear(), new Date().getMonth(), 1).getTime();
  try {
    const [u, tariff] = await Promise.all([api('GET', `/api/v1/finance/usage?from=${from}&to=${now}`), api('GET', '/api/v1/finance/tariff')]);
    const money = (/** @type {number} */ minor) =>
      new Intl.NumberFormat(document.documentElement.lang, { style: 'currency', currency: u.currency }).format(minor / 100);
    const channels = [...new Set([...Object.keys(u.usage.messages), ...Object.keys(u.usage.conversations)])];
    show(
      box,
      h('h1', {}, t('nav.finance')),
      h('p', {}, t('finance.period', { from: dateTime(u.from), to: dateTime(u.to) })),
      h(
        'table',
        { id: 'finance' },
        h('thead', {}, h('tr', {}, [t('finance.item'), t('finance.quantity'), t('finance.cost')].map((c) => h('th', {}, c)))),
        h(
          'tbody',
          {},
          h('tr', {}, h('td', {}, t('finance.seats')), h('td', {}, String(u.usage.active_seats)), h('td', {}, money(u.cost.seats))),
          channels.map((c) =>
            h(
              'tr',
              {},
              h('td', {}, t('finance.messages', { channel: c })),
              h('td', {}, `${u.usage.messages[c] || 0} (${t('finance.conversations', { n: u.usage.conversations[c] || 0 })})`),
              h('td', {}, money(u.cost.per_channel[c] || 0)),
            ),
          ),
          h('tr', { class: 'total' }, h('th', {}, t('finance.total')), h('td', {}, ''), h('th', {}, money(u.cost.total))),
        ),
      ),
      h('p', {}, h('a', { href: `/api/v1/finance/usage?from=${from}&to=${now}&format=csv`, download: 'usage.csv' }, t('statistics.csv'))),
    );
    if (holds('finance.manage')) show(side, tariffForm(tariff));
  } catch (err) {
    failed(box, err);
  }
}

/** @param {any} tariff */
function tariffForm(tariff) {
  const done = h('p', { class: 'ok', role: 'status' });
  return form(
    t('finance.tariff'),
    [
      field('currency', t('finance.currency'), { value: tariff.currency, maxlength: 3, pattern: '[A-Z]{3}' }),
      field('seat_price', t('finance.seat_price'), { type: 'number', min: 0, value: tariff.seat_price }),
      field('widget_price', t('finance.message_price', { channel: 'widget' }), { type: 'number', min: 0, value: tariff.message_prices.widget || 0 }),
      done,
    ],
    t('widgets.save'),
    async (f) => {
      await api('PUT', '/api/v1/finance/tariff', {
        currency: value(f, 'currency'),
        seat_price: Number(value(f, 'seat_price')),
        message_prices: { ...tariff.message_prices, widget: Number(value(f, 'widget_price')) },
      });
      done.textContent = t('security.saved');
    },
  );
}
