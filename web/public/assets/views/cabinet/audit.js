// @ts-check
/** The audit log, newest first, filtered by action, with the state of its
 * hash chain. Who acted and what was acted on are shown by name: the server
 * looks the names up as it reads the log (the stored, hashed entries hold
 * ids only). */

import { api } from '../../api.js';
import { h, show, dateTime } from '../../dom.js';
import { t, tOr } from '../../i18n.js';
import { explain, failed } from '../../forms.js';

/** Every action the log records (the server's `audit::Action` names). */
export const ACTIONS = [
  'access.denied', 'account.password_changed', 'account.renamed', 'audit.exported', 'auth.locked',
  'auth.reauthenticate', 'auth.second_factor', 'auth.second_factor_locked', 'auth.sign_in', 'auth.sign_out',
  'backup.scheduled', 'channel.changed', 'channel.connected', 'channel.delivery_retried', 'channel.disconnected',
  'channel.secrets_rotated', 'channel.webhook_refused', 'contact.edited', 'conversation.taken_over', 'doctor.finding', 'employee.action_refused', 'employee.blocked',
  'employee.chat_limit_changed', 'employee.created', 'employee.deleted', 'employee.disabled', 'employee.edited',
  'employee.invitation_accepted', 'employee.invitation_resent', 'employee.invitation_revoked', 'employee.invited',
  'employee.permission_changed', 'employee.role_changed', 'employee.sessions_ended', 'employee.unblocked',
  'file.infected', 'file.read', 'file.refused', 'finance.tariff_changed', 'keys.rewrapped', 'keys.rotated', 'label.changed', 'label.created', 'label.deleted',
  'personal_data.erased', 'personal_data.exported', 'personal_data.request_closed', 'personal_data.request_opened',
  'personal_data.revealed', 'personal_data.sealed_legacy', 'quick_reply.changed', 'quick_reply.created', 'quick_reply.deleted', 'retention.run', 'scanner.disabled', 'security.refused',
  'session.others_revoked', 'session.revoked', 'settings.changed', 'subject.erased', 'subject.exported', 'team.changed', 'team.created', 'team.deleted',
  'transcript.read', 'two_factor.disabled', 'two_factor.enrolled', 'two_factor.enrolment',
  'two_factor.recovery_codes_replaced', 'two_factor.reset', 'value.revealed', 'widget.changed', 'widget.created',
  'widget.deleted', 'widget.secret_rotated',
];

/** An action in words; its stored name when there are none (a newer server). @param {string} name */
export function actionText(name) {
  return tOr(`audit.act.${name}`, name);
}

/** The extra facts of an entry, as "key: value" pairs. @param {any} details */
function detailsText(details) {
  if (details === null || details === undefined) return '';
  if (typeof details !== 'object') return String(details);
  if (Array.isArray(details)) return details.map((d) => (typeof d === 'object' ? JSON.stringify(d) : String(d))).join(', ');
  return Object.entries(details)
    .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

/** @param {string} outcome */
function outcomeText(outcome) {
  return tOr(`audit.outcome_${outcome}`, outcome);
}

/** A name where there is one, the id (shortened, whole in the tooltip) where not. @param {string | null} id @param {string | null} name */
function named(id, name) {
  if (name) return h('span', { title: id || '' }, name);
  if (!id) return '—';
  return h('code', { title: id }, id.length > 24 ? `${id.slice(0, 8)}…` : id);
}

/**
 * @param {HTMLElement} main
 */
export function audit(main) {
  const chain = h('p', { id: 'audit-chain', role: 'status' }, t('audit.checking'));
  const action = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'audit-action', 'aria-label': t('audit.action') },
      h('option', { value: '' }, t('audit.all_actions')),
      ACTIONS.map((a) => ({ a, text: actionText(a) }))
        .sort((x, y) => x.text.localeCompare(y.text))
        .map(({ a, text }) => h('option', { value: a }, text)),
    )
  );
  const rows = h('tbody');
  const more = h('button', { type: 'button', class: 'quiet', id: 'audit-older' }, t('audit.older'));
  const columns = [t('audit.at'), t('audit.who'), t('audit.action'), t('audit.target'), t('audit.details'), t('audit.outcome'), t('audit.ip')];
  const box = h(
    'div',
    { class: 'panel wide' },
    h('h1', {}, t('nav.audit')),
    chain,
    h('form', { class: 'filters', onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); rows.replaceChildren(); page(Number.MAX_SAFE_INTEGER); } }, action, h('button', { type: 'submit' }, t('audit.filter'))),
    h('table', { id: 'audit', class: 'audit' }, h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c)))), rows),
    more,
  );
  show(main, box);
  let oldest = Number.MAX_SAFE_INTEGER;
  more.addEventListener('click', () => page(oldest));

  /** @param {number} before */
  async function page(before) {
    try {
      const filter = action.value ? `&action=${encodeURIComponent(action.value)}` : '';
      const entries = await api('GET', `/api/v1/audit?before=${before}&limit=100${filter}`);
      for (const e of entries) {
        rows.append(
          h(
            'tr',
            { 'data-seq': e.seq, class: e.outcome === 'success' ? undefined : 'refused' },
            h('td', {}, dateTime(e.at)),
            h('td', { class: 'who-cell' }, e.actor ? named(e.actor, e.actor_name) : t('audit.system')),
            h('td', {}, actionText(e.action)),
            h('td', {}, named(e.target, e.target_name)),
            h('td', { class: 'details' }, detailsText(e.details)),
            h('td', {}, outcomeText(e.outcome)),
            h('td', {}, e.ip || '—'),
          ),
        );
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
