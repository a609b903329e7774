// @ts-check
/** Personal data (152-FZ): data subjects' requests with their deadlines,
 * exports and erasure, acts of destruction, retention with its dry run,
 * the consent text, and the trail of who read whose data. Each panel shows
 * only for holders of the permission the server checks for it. */

import { api } from '../../api.js';
import { h, show, dateTime } from '../../dom.js';
import { t } from '../../i18n.js';
import { explain, value } from '../../forms.js';
import { withProof } from '../permissions.js';

const DAY = 24 * 60 * 60 * 1000;

/**
 * @param {HTMLElement} main
 * @param {(p: string) => boolean} holds
 */
export function privacy(main, holds) {
  const handles = holds('personal_data.export') || holds('personal_data.erase');
  const panels = [
    handles ? requests(holds) : null,
    holds('audit.view') || holds('personal_data.erase') ? acts() : null,
    holds('settings.view') || holds('personal_data.erase') ? retention(holds) : null,
    holds('settings.view') ? consent(holds('settings.manage')) : null,
    holds('audit.view') ? accessTrail() : null,
  ];
  show(main, h('h1', {}, t('nav.personal_data')), h('div', { class: 'stack' }, panels));
}

/** @param {HTMLElement} box @param {unknown} err */
function failed(box, err) {
  show(box, h('p', { class: 'error', role: 'alert' }, explain(err)));
}

/** Days left until `due` (negative when overdue), in words. @param {number} due */
function timeLeft(due) {
  const days = Math.ceil((due - Date.now()) / DAY);
  return days < 0 ? t('privacy.overdue', { n: -days }) : t('privacy.days_left', { n: days });
}

/** A visitor in words: their name where one is known, else where and when they wrote. @param {any} s */
export function subjectLabel(s) {
  const channel = t(`channel.${s.channel}`) === `channel.${s.channel}` ? s.channel : t(`channel.${s.channel}`);
  return s.label || t('privacy.subject_label', { channel, when: dateTime(s.last_active_at) });
}

/**
 * Finds a visitor by words from their conversations (or lists the latest)
 * and puts the chosen one's id into `target`.
 * @param {HTMLInputElement} target
 */
function subjectPicker(target) {
  const search = /** @type {HTMLInputElement} */ (
    h('input', { id: 'subject-search', type: 'search', placeholder: t('privacy.subject_search_hint'), 'aria-label': t('privacy.subject') })
  );
  const chosen = h('span', { id: 'subject-chosen', class: 'hint' }, target.value ? t('privacy.subject_by_link') : '');
  const results = h('ul', { class: 'plain subject-results', id: 'subject-results' });
  /** @type {number | undefined} */
  let timer;
  async function find() {
    try {
      const found = await api('GET', `/api/v1/personal-data/subjects?limit=8&q=${encodeURIComponent(search.value.trim())}`);
      show(
        results,
        found.length
          ? found.map((/** @type {any} */ s) =>
              h(
                'li',
                {},
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'quiet',
                    'data-subject': s.visitor_id,
                    'aria-pressed': String(target.value === s.visitor_id),
                    onclick: () => {
                      target.value = s.visitor_id;
                      chosen.textContent = t('privacy.subject_chosen', { who: subjectLabel(s) });
                      for (const b of results.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === document.activeElement));
                    },
                  },
                  subjectLabel(s),
                ),
              ),
            )
          : h('li', { class: 'empty' }, t('privacy.subject_none')),
      );
    } catch (err) {
      show(results, h('li', { class: 'error' }, explain(err)));
    }
  }
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = window.setTimeout(find, 250);
  });
  find();
  return h('div', { class: 'subject-picker' }, h('label', { for: 'subject-search' }, t('privacy.subject')), search, chosen, results);
}

/**
 * Requests: the open ones by deadline, a form for a new one, and for each
 * the answer (export or erasure) and closing.
 * @param {(p: string) => boolean} holds
 */
function requests(holds) {
  const box = h('section', { class: 'panel wide', id: 'subject-requests' });
  const list = h('div', {}, h('p', {}, t('loading')));
  const notice = h('p', { class: 'error', role: 'alert' });
  // The subject is picked from a search, never typed as an id; a link from
  // elsewhere (`?visitor=<id>`) may still name one.
  const visitor = /** @type {HTMLInputElement} */ (
    h('input', { id: 'request-visitor', name: 'visitor', type: 'hidden', value: new URLSearchParams(location.search).get('visitor') || '' })
  );
  const picker = subjectPicker(visitor);
  const kind = /** @type {HTMLSelectElement} */ (
    h('select', { id: 'request-kind', name: 'kind' }, ['access', 'erasure'].map((k) => h('option', { value: k }, t(`privacy.kind_${k}`))))
  );
  const note = /** @type {HTMLInputElement} */ (h('input', { id: 'request-note', name: 'note', maxlength: 500 }));
  const f = h(
    'form',
    {
      class: 'inline-form',
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        notice.textContent = '';
        try {
          if (!visitor.value) {
            notice.textContent = t('privacy.pick_subject');
            return;
          }
          await api('POST', '/api/v1/personal-data/requests', { visitor_id: visitor.value.trim(), kind: kind.value, note: note.value });
          note.value = '';
          load();
        } catch (err) {
          notice.textContent = explain(err);
        }
      },
    },
    picker,
    visitor,
    h('label', { for: 'request-kind' }, t('privacy.kind')),
    kind,
    h('label', { for: 'request-note' }, t('privacy.note')),
    note,
    h('button', { type: 'submit', id: 'request-open' }, t('privacy.open_request')),
  );
  show(box, h('h2', {}, t('privacy.requests')), h('p', {}, t('privacy.requests_hint')), f, notice, list);

  /** @param {string} subject */
  async function exportOf(subject) {
    const response = await fetch(`/api/v1/visitors/${subject}/export`, { credentials: 'same-origin' });
    if (!response.ok) throw new Error(`http_${response.status}`);
    const link = h('a', { href: URL.createObjectURL(await response.blob()), download: `subject-${subject}.tar` });
    link.click();
    URL.revokeObjectURL(link.getAttribute('href') || '');
  }

  /** @param {any} r */
  function actions(r) {
    if (r.status !== 'open') return t(`privacy.status_${r.status}`);
    const run = (/** @type {() => Promise<any>} */ act) => withProof(box, notice, act, load);
    return h(
      'span',
      { class: 'actions' },
      r.kind === 'access' && holds('personal_data.export')
        ? h('button', { type: 'button', 'data-export': r.visitor_id, onclick: () => run(() => exportOf(r.visitor_id)) }, t('privacy.export'))
        : null,
      r.kind === 'erasure' && holds('personal_data.erase')
        ? h(
            'button',
            {
              type: 'button',
              class: 'quiet danger',
              'data-erase': r.visitor_id,
              onclick: () => {
                if (!window.confirm(t('privacy.erase_confirm'))) return;
                const basis = r.basis === 'consent_withdrawn' ? 'consent_withdrawn' : 'subject_request';
                run(() => api('POST', `/api/v1/visitors/${r.visitor_id}/erase`, { basis, note: r.note }));
              },
            },
            t('privacy.erase'),
          )
        : null,
      h('button', { type: 'button', class: 'quiet', onclick: () => run(() => api('POST', `/api/v1/personal-data/requests/${r.id}/close`, { status: 'rejected' })) }, t('privacy.reject')),
    );
  }

  async function load() {
    try {
      const all = await api('GET', '/api/v1/personal-data/requests?limit=100');
      show(
        list,
        all.length
          ? h(
              'table',
              { id: 'requests-table' },
              h('thead', {}, h('tr', {}, ['kind', 'visitor', 'received', 'due', 'note', 'status'].map((c) => h('th', {}, t(`privacy.col_${c}`))))),
              h(
                'tbody',
                {},
                all.map((/** @type {any} */ r) =>
                  h(
                    'tr',
                    { 'data-request': r.id, class: r.status === 'open' && r.due_at < Date.now() ? 'overdue' : '' },
                    h('td', {}, t(`privacy.kind_${r.kind}`)),
                    h('td', {}, h('code', {}, r.visitor_id.slice(0, 8))),
                    h('td', {}, dateTime(r.received_at)),
                    h('td', {}, dateTime(r.due_at), r.status === 'open' ? h('div', { class: 'hint' }, timeLeft(r.due_at)) : null),
                    h('td', {}, r.note || '—'),
                    h('td', {}, actions(r)),
                  ),
                ),
              ),
            )
          : h('p', { class: 'empty' }, t('privacy.no_requests')),
      );
    } catch (err) {
      failed(list, err);
    }
  }
  load();
  return box;
}

/** Acts of destruction, newest first. */
function acts() {
  const box = h('section', { class: 'panel wide', id: 'destruction-acts' }, h('h2', {}, t('privacy.acts')), h('p', {}, t('loading')));
  api('GET', '/api/v1/personal-data/acts?limit=50')
    .then((list) =>
      show(
        box,
        h('h2', {}, t('privacy.acts')),
        h('p', {}, t('privacy.acts_hint')),
        list.length
          ? h(
              'table',
              {},
              h('thead', {}, h('tr', {}, ['number', 'at', 'subject', 'basis', 'categories'].map((c) => h('th', {}, t(`privacy.col_${c}`))))),
              h(
                'tbody',
                {},
                list.map((/** @type {any} */ a) =>
                  h(
                    'tr',
                    { 'data-act': a.number },
                    h('td', {}, `№ ${a.number}`),
                    h('td', {}, dateTime(a.at)),
                    h('td', {}, h('code', {}, String(a.subject || '').slice(0, 8))),
                    h('td', {}, t(`privacy.basis_${a.details.basis}`)),
                    h('td', {}, (a.details.categories || []).map((/** @type {string} */ c) => t(`privacy.category_${c}`)).join(', ') || '—'),
                  ),
                ),
              ),
            )
          : h('p', { class: 'empty' }, t('privacy.no_acts')),
      ),
    )
    .catch((err) => failed(box, err));
  return box;
}

/**
 * Retention periods, what the next run would destroy, and running it now.
 * @param {(p: string) => boolean} holds
 */
function retention(holds) {
  const box = h('section', { class: 'panel', id: 'retention' }, h('p', {}, t('loading')));
  const notice = h('p', { role: 'status' });
  const preview = h('div', { id: 'retention-preview' });
  const mayChange = holds('settings.manage');
  /** @param {string} id @param {number} days */
  const days = (id, days) => h('input', { id, name: id, type: 'number', min: 1, max: 36500, value: days, disabled: !mayChange });

  async function showPreview() {
    try {
      const plan = await api('GET', '/api/v1/personal-data/retention/preview');
      show(
        preview,
        h('p', {}, t('privacy.preview_count', { n: plan.length })),
        h('ul', { class: 'plain' }, plan.slice(0, 20).map((/** @type {any} */ p) => h('li', {}, h('code', {}, p.visitor_id.slice(0, 8)), ' — ', t(`privacy.reason_${p.reason}`)))),
      );
    } catch (err) {
      failed(preview, err);
    }
  }

  api('GET', '/api/v1/settings/retention')
    .then((s) => {
      const f = h(
        'form',
        {
          onsubmit: async (/** @type {Event} */ e) => {
            e.preventDefault();
            const form = /** @type {HTMLFormElement} */ (e.target);
            try {
              await api('PUT', '/api/v1/settings/retention', {
                closed_conversation_days: Number(value(form, 'closed-days')),
                silent_visitor_days: Number(value(form, 'silent-days')),
              });
              notice.textContent = t('security.saved');
            } catch (err) {
              notice.textContent = explain(err);
            }
          },
        },
        h('label', { class: 'field' }, t('privacy.closed_days'), days('closed-days', s.closed_conversation_days)),
        h('label', { class: 'field' }, t('privacy.silent_days'), days('silent-days', s.silent_visitor_days)),
        mayChange ? h('button', { type: 'submit', id: 'retention-save' }, t('widgets.save')) : null,
      );
      show(
        box,
        h('h2', {}, t('privacy.retention')),
        h('p', {}, t('privacy.retention_hint')),
        f,
        notice,
        h('button', { type: 'button', class: 'quiet', id: 'retention-preview-button', onclick: showPreview }, t('privacy.preview')),
        holds('personal_data.erase')
          ? h('button', { type: 'button', class: 'quiet danger', id: 'retention-run', onclick: () => withProof(box, notice, () => api('POST', '/api/v1/personal-data/retention/run'), showPreview) }, t('privacy.run_now'))
          : null,
        preview,
      );
    })
    .catch((err) => failed(box, err));
  return box;
}

/** The consent text visitors accept, versioned. @param {boolean} mayChange */
function consent(mayChange) {
  const box = h('section', { class: 'panel', id: 'consent-settings' }, h('p', {}, t('loading')));
  const notice = h('p', { role: 'status' });
  api('GET', '/api/v1/settings/consent')
    .then((c) => {
      const text = /** @type {HTMLTextAreaElement} */ (h('textarea', { id: 'consent-text', rows: 6, maxlength: 20000, disabled: !mayChange }));
      text.value = c.text;
      const required = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'consent-required', checked: c.required, disabled: !mayChange }));
      const period = /** @type {HTMLInputElement} */ (h('input', { type: 'number', id: 'consent-days', min: 1, max: 30, value: c.withdrawal_days, disabled: !mayChange }));
      const version = h('p', { class: 'hint', id: 'consent-version' }, t('privacy.consent_version', { n: c.version }));
      show(
        box,
        h('h2', {}, t('privacy.consent')),
        h('p', {}, t('privacy.consent_hint')),
        h('label', { for: 'consent-text' }, t('privacy.consent_text')),
        text,
        h('label', { class: 'check' }, required, t('privacy.consent_required')),
        h('label', { class: 'field' }, t('privacy.withdrawal_days'), period),
        version,
        notice,
        mayChange
          ? h(
              'button',
              {
                type: 'button',
                id: 'consent-save',
                onclick: async () => {
                  try {
                    const saved = await api('PUT', '/api/v1/settings/consent', { required: required.checked, text: text.value, withdrawal_days: Number(period.value) });
                    version.textContent = t('privacy.consent_version', { n: saved.version });
                    notice.textContent = t('security.saved');
                  } catch (err) {
                    notice.textContent = explain(err);
                  }
                },
              },
              t('widgets.save'),
            )
          : null,
      );
    })
    .catch((err) => failed(box, err));
  return box;
}

/** Who read whose personal data: the latest entries of that trail, and its chain. */
function accessTrail() {
  const box = h('section', { class: 'panel wide', id: 'access-trail' }, h('p', {}, t('loading')));
  Promise.all([api('GET', '/api/v1/audit?trail=personal_data&before=9223372036854775807&limit=50'), api('GET', '/api/v1/audit/chain?trail=personal_data')])
    .then(([entries, chain]) =>
      show(
        box,
        h('h2', {}, t('privacy.trail')),
        h('p', { class: chain.intact ? 'ok' : 'error' }, chain.intact ? t('audit.intact', { n: chain.entries }) : t('audit.broken', { seq: chain.broken_at })),
        entries.length
          ? h(
              'table',
              {},
              h('thead', {}, h('tr', {}, [t('audit.at'), t('privacy.col_employee'), t('audit.action'), t('privacy.col_subject')].map((c) => h('th', {}, c)))),
              h(
                'tbody',
                {},
                entries.map((/** @type {any} */ e) =>
                  h('tr', {}, h('td', {}, dateTime(e.at)), h('td', {}, e.actor_name || h('code', {}, String(e.actor || '—').slice(0, 8))), h('td', {}, t(`privacy.read_${e.action.replace('.', '_')}`)), h('td', {}, h('code', {}, String(e.target || '').replace('visitor:', '').slice(0, 8)))),
                ),
              ),
            )
          : h('p', { class: 'empty' }, t('privacy.no_reads')),
      ),
    )
    .catch((err) => failed(box, err));
  return box;
}
