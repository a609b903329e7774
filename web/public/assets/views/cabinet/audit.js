// @ts-check
/** The audit log, newest first, filtered by action, with the state of its
 * hash chain. */

import { api } from '../../api.js';
import { h, show, dateTime } from '../../dom.js';
import { t } from '../../i18n.js';
import { explain, failed } from '../../forms.js';

/**
 * @param {HTMLElement} main
 */
export function audit(main) {
  const chain = h('p', { id: 'audit-chain', role: 'status' }, t('audit.checking'));
  const action = /** @type {HTMLInputElement} */ (h('input', { id: 'audit-action', type: 'search', placeholder: 'auth.sign_in', 'aria-label': t('audit.action') }));
  const rows = h('tbody');
  const more = h('button', { type: 'button', class: 'quiet', id: 'audit-older' }, t('audit.older'));
  const box = h(
    'div',
    { class: 'panel wide' },
    h('h1', {}, t('nav.audit')),
    chain,
    h('form', { class: 'filters', onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); rows.replaceChildren(); page(Number.MAX_SAFE_INTEGER); } }, action, h('button', { type: 'submit' }, t('audit.filter'))),
    h('table', { id: 'audit' }, h('thead', {}, h('tr', {}, [t('audit.at'), t('audit.action'), t('audit.outcome'), t('audit.ip')].map((c) => h('th', {}, c)))), rows),
    more,
  );
  show(main, box);
  let oldest = Number.MAX_SAFE_INTEGER;
  more.addEventListener('click', () => page(oldest));

  /** @param {number} before */
  async function page(before) {
    try {
      const filter = action.value.trim() ? `&action=${encodeURIComponent(action.value.trim())}` : '';
      const entries = await api('GET', `/api/v1/audit?before=${before}&limit=100${filter}`);
      for (const e of entries) {
        rows.append(h('tr', {}, h('td', {}, dateTime(e.at)), h('td', {}, e.action), h('td', {}, e.outcome), h('td', {}, e.ip || '—')));
        oldest = Math.min(oldest, e.seq);
      }
      more.hidden = entries.length < 100;
    } catch (err) {
      failed(box, err);
    }
  }
  page(Number.MAX_SAFE_INTEGER);
  api('GET', '/api/v1/audit/chain')
    .then((c) => {
      chain.textContent = c.intact ? t('audit.intact', { n: c.entries }) : t('audit.broken', { seq: c.broken_at });
      chain.className = c.intact ? 'ok' : 'error';
    })
    .catch((err) => (chain.textContent = explain(err)));
}
