// @ts-check
/** Writing the quick replies operators insert by typing `/code`: the shared
 * ones (changed by holders of `replies.manage`) and each employee's own.
 * A reply has a code, a title and a text per language, with placeholders
 * the server fills when the reply is inserted. The server checks every
 * field; its refusal shows under the field it names. Reached from the
 * workplace; listed in the top bar only for those who have no workplace. */

import { api } from '../api.js';
import { h, show } from '../dom.js';
import { t } from '../i18n.js';
import { explain, failed, form, value } from '../forms.js';
import { go } from '../nav.js';

const PLACEHOLDERS = ['contact_name', 'operator_name', 'company_name'];
const LANGUAGES = /** @type {const} */ (['ru', 'en']);

/**
 * @param {HTMLElement} main
 * @param {(p: string) => boolean} holds
 */
export function quickRepliesView(main, holds) {
  const mayShare = holds('replies.manage');
  const ownReplies = holds('conversations.own') || holds('conversations.all');
  const list = h('div', { class: 'panel', id: 'quick-replies' }, h('p', {}, t('loading')));
  /** Why a deletion was refused, above the lists. */
  const refusal = h('p', { class: 'error', role: 'alert', id: 'quick-replies-error' });
  const side = h('div', { class: 'reply-editor-side' });
  show(main, h('div', { class: 'replies-page' }, list, side));
  /** @type {any[]} */
  let replies = [];
  /** @type {any} the reply the form changes, or null for a new one */
  let editing = null;
  showEditor(null);
  load();

  async function load() {
    try {
      replies = await api('GET', '/api/v1/quick-replies');
    } catch (err) {
      failed(list, err);
      return;
    }
    const shared = replies.filter((r) => r.scope === 'shared');
    const personal = replies.filter((r) => r.scope === 'personal');
    show(
      list,
      h(
        'div',
        { class: 'heading' },
        h('h1', {}, t('nav.quick_replies')),
        // On a phone the form is below the lists: this leads to it (and out of changing a reply).
        h('button', { type: 'button', class: 'quiet', id: 'quick-reply-new', onclick: () => showEditor(null, true) }, t('replies.new')),
      ),
      h('p', {}, t('replies.intro')),
      refusal,
      ownReplies
        ? h('p', {}, h('a', { href: '/workplace', id: 'replies-back', onclick: (/** @type {MouseEvent} */ e) => { e.preventDefault(); go('/workplace'); } }, t('replies.back')))
        : null,
      h('h2', { id: 'replies-shared-title' }, t('replies.shared_title', { n: shared.length })),
      mayShare ? null : h('p', { class: 'hint' }, t('replies.shared_hint')),
      items(shared, 'replies-shared-title', mayShare, t('replies.no_shared')),
      ownReplies ? h('h2', { id: 'replies-personal-title' }, t('replies.personal_title', { n: personal.length })) : null,
      ownReplies ? items(personal, 'replies-personal-title', true, t('replies.no_personal')) : null,
    );
  }

  /**
   * @param {any[]} group
   * @param {string} labelledBy
   * @param {boolean} editable
   * @param {string} empty
   */
  function items(group, labelledBy, editable, empty) {
    if (!group.length) return h('p', { class: 'empty' }, empty);
    return h(
      'ul',
      { class: 'reply-list', 'aria-labelledby': labelledBy },
      group.map((r) =>
        h(
          'li',
          { class: 'reply-item', 'data-reply': `${r.scope}:${r.code}` },
          h(
            'div',
            { class: 'reply-head' },
            h('code', { class: 'reply-code' }, `/${r.code}`),
            h('strong', { class: 'reply-title' }, r.title),
            h('span', { class: `reply-scope ${r.scope}` }, t(`replies.scope_${r.scope}`)),
            h('span', { class: 'reply-uses' }, t('replies.uses', { n: r.uses ?? 0 })),
          ),
          LANGUAGES.filter((l) => r.bodies && r.bodies[l]).map((l) =>
            h('p', { class: 'reply-body', lang: l }, h('span', { class: 'reply-language' }, l.toUpperCase()), ' ', r.bodies[l]),
          ),
          editable
            ? h(
                'div',
                { class: 'row-actions' },
                h('button', { type: 'button', class: 'quiet', 'data-edit': r.id, onclick: () => showEditor(r) }, t('replies.edit')),
                h('button', { type: 'button', class: 'quiet danger', 'data-delete': r.id, onclick: () => remove(r) }, t('replies.delete')),
              )
            : null,
        ),
      ),
    );
  }

  /** @param {any} r */
  async function remove(r) {
    if (!confirm(t('replies.delete_confirm', { code: `/${r.code}` }))) return;
    refusal.textContent = '';
    try {
      await api('DELETE', `/api/v1/quick-replies/${r.scope}/${r.id}`);
      if (editing && editing.id === r.id) showEditor(null);
      load();
    } catch (err) {
      refusal.textContent = explain(err);
    }
  }

  /**
   * The form for a new reply (`existing` null) or for changing one; `focus`:
   * brought into view with the cursor in its first field.
   * @param {any} existing
   * @param {boolean} [focus]
   */
  function showEditor(existing, focus = !!existing) {
    editing = existing;
    // Whose a new reply is: chosen when the employee may write both kinds.
    const scopes = existing ? [existing.scope] : [...(ownReplies ? ['personal'] : []), ...(mayShare ? ['shared'] : [])];
    if (!scopes.length) return show(side);
    const done = h('p', { class: 'ok', role: 'status', id: 'quick-reply-saved' });
    /** @type {HTMLTextAreaElement | null} the text a placeholder button writes into */
    let lastBody = null;
    const bodies = LANGUAGES.map((l) => {
      const area = /** @type {HTMLTextAreaElement} */ (
        h('textarea', { id: `f-body_${l}`, name: `body_${l}`, rows: 4, maxlength: 4000, lang: l, 'aria-describedby': 'f-bodies-hint' })
      );
      area.value = existing?.bodies?.[l] || '';
      area.addEventListener('focus', () => (lastBody = area));
      return h('div', { class: 'field' }, h('label', { for: area.id }, t(`replies.body_${l}`)), area);
    });
    /** The placeholders, each a button that writes it where the cursor was in a text. */
    const placeholders = h(
      'ul',
      { class: 'hint placeholder-list' },
      PLACEHOLDERS.map((p) =>
        h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'chip',
              'data-placeholder': p,
              title: t('replies.insert_placeholder', { what: t(`replies.placeholder.${p}`) }),
              onclick: () => {
                const area = lastBody || /** @type {HTMLTextAreaElement} */ (side.querySelector('textarea'));
                area.focus();
                area.setRangeText(`{${p}}`, area.selectionStart, area.selectionEnd, 'end');
              },
            },
            `{${p}}`,
          ),
          ' — ',
          t(`replies.placeholder.${p}`),
        ),
      ),
      h('li', {}, t('replies.fallback_hint')),
    );
    const f = form(
      existing ? t('replies.edit_title', { code: `/${existing.code}` }) : t('replies.new'),
      [
        scopes.length > 1
          ? h(
              'div',
              { class: 'field' },
              h('label', { for: 'f-scope' }, t('replies.scope')),
              h('select', { id: 'f-scope', name: 'scope' }, scopes.map((s) => h('option', { value: s }, t(`replies.scope_for_${s}`)))),
            )
          : h('p', { class: 'hint' }, t(`replies.scope_is_${scopes[0]}`)),
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'f-code' }, t('replies.code')),
          h(
            'div',
            { class: 'code-input' },
            h('span', { 'aria-hidden': 'true' }, '/'),
            h('input', { id: 'f-code', name: 'code', required: true, maxlength: 32, autocomplete: 'off', spellcheck: 'false', value: existing?.code || '', 'aria-describedby': 'f-code-hint' }),
          ),
          h('p', { class: 'hint', id: 'f-code-hint' }, t('replies.code_hint')),
        ),
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'f-title' }, t('replies.title')),
          h('input', { id: 'f-title', name: 'title', required: true, maxlength: 100, value: existing?.title || '' }),
        ),
        h(
          'fieldset',
          { class: 'reply-bodies', 'data-field': 'bodies' },
          h('legend', {}, t('replies.bodies')),
          bodies,
          h('p', { class: 'hint', id: 'f-bodies-hint' }, t('replies.bodies_hint')),
          placeholders,
        ),
        done,
      ],
      existing ? t('replies.save') : t('replies.create'),
      async (f) => {
        done.textContent = '';
        /** @type {Record<string, string>} */
        const texts = {};
        for (const l of LANGUAGES) if (value(f, `body_${l}`).trim()) texts[l] = value(f, `body_${l}`);
        const body = { code: value(f, 'code'), title: value(f, 'title'), bodies: texts };
        const scope = existing ? existing.scope : scopes.length > 1 ? value(f, 'scope') : scopes[0];
        const saved = existing
          ? await api('PUT', `/api/v1/quick-replies/${scope}/${existing.id}`, body)
          : await api('POST', `/api/v1/quick-replies/${scope}`, body);
        await load();
        showEditor(null);
        const code = saved && saved.code ? saved.code : body.code;
        const status = side.querySelector('#quick-reply-saved');
        if (status) status.textContent = t(existing ? 'replies.saved' : 'replies.created', { code: `/${code}` });
      },
      existing ? [h('button', { type: 'button', class: 'quiet', id: 'quick-reply-cancel', onclick: () => showEditor(null) }, t('replies.cancel'))] : [],
    );
    f.id = 'quick-reply-form';
    f.classList.add('reply-form');
    show(side, f);
    if (focus) {
      f.scrollIntoView({ block: 'start' });
      /** @type {HTMLElement} */ (f.querySelector('select, input')).focus();
    }
  }
}
