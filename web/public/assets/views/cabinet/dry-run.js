// @ts-check
/** The dry-run of the saved routing rules on the teams page: a sample
 * conversation as it would start (channel, widget or channel, page,
 * language, first message, signed or not), and what the rules would do with
 * it: the rule that decides and its actions, or the general queue, with
 * the reason each rule before it did not match. The server starts nothing. */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t, tOr, LANGUAGES } from '../../i18n.js';
import { clearFieldErrors, explain, showAtField } from '../../forms.js';
import { CHANNELS, actionsText } from './rules.js';

/** @typedef {import('./teams.js').Catalogues} Catalogues */

/** @param {HTMLElement} box @param {Catalogues} ctx */
export function dryRunPanel(box, ctx) {
  const result = h('div', { id: 'dry-run-result', role: 'status', 'aria-live': 'polite' });
  const general = h('p', { class: 'error', role: 'alert', id: 'dry-run-error' });
  const field = (/** @type {string} */ id, /** @type {string} */ label, /** @type {HTMLElement} */ input) =>
    h('div', { class: 'field' }, h('label', { for: id }, label), input);
  const sources = [
    ...ctx.widgets.map((w) => ({ value: `widget:${w.id}`, name: w.settings.name })),
    ...ctx.channels.map((c) => ({ value: `channel:${c.id}`, name: c.name })),
  ];
  const f = /** @type {HTMLFormElement} */ (h(
    'form',
    {
      class: 'dry-run-form',
      onsubmit: async (/** @type {SubmitEvent} */ e) => {
        e.preventDefault();
        clearFieldErrors(f);
        general.textContent = '';
        const value = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (f.elements.namedItem(name))?.value || '';
        /** @type {Record<string, any>} */
        const sample = { channel: value('channel'), text: value('text'), signed: /** @type {HTMLInputElement} */ (f.elements.namedItem('signed')).checked };
        if (value('source')) {
          const [kind, id] = value('source').split(':');
          sample.source = { [kind]: id };
        }
        if (value('page').trim()) sample.page = value('page').trim();
        if (value('language')) sample.language = value('language');
        try {
          const run = await api('POST', '/api/v1/routing/rules/dry-run', { sample });
          show(result, verdict(run, ctx));
          // On a phone the answer is below the button, out of sight.
          result.scrollIntoView({ block: 'nearest' });
        } catch (err) {
          show(result);
          if (!showAtField(f, err)) general.textContent = explain(err);
        }
      },
    },
    h('div', { class: 'dry-run-fields' },
      field('dry-run-channel', t('dry_run.channel'),
        h('select', { id: 'dry-run-channel', name: 'channel' }, CHANNELS.map((c) => h('option', { value: c }, t(`channel.${c}`))))),
      sources.length
        ? field('dry-run-source', t('dry_run.source'),
            h('select', { id: 'dry-run-source', name: 'source' }, h('option', { value: '' }, t('dry_run.source_none')), sources.map((s) => h('option', { value: s.value }, s.name))))
        : null,
      field('dry-run-page', t('dry_run.page'), h('input', { id: 'dry-run-page', name: 'page', type: 'text', inputmode: 'url', autocomplete: 'off', placeholder: 'https://shop.example/checkout' })),
      field('dry-run-language', t('dry_run.language'),
        h('select', { id: 'dry-run-language', name: 'language' }, h('option', { value: '' }, t('dry_run.language_none')), LANGUAGES.map((l) => h('option', { value: l.code }, l.name))))),
    field('dry-run-text', t('dry_run.text'), h('textarea', { id: 'dry-run-text', name: 'text', rows: 2, maxlength: 4000 })),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'signed', id: 'dry-run-signed' }), t('dry_run.signed')),
    general,
    h('div', { class: 'row-actions' }, h('button', { type: 'submit', id: 'dry-run-go' }, t('dry_run.go'))),
  ));
  show(box, h('h2', { id: 'dry-run-title' }, t('dry_run.title')), h('p', {}, t('dry_run.hint')), f, result);
}

/** What the rules would do, and why each rule before the deciding one (all of them, when none decides) did not.
 * @param {any} run @param {Catalogues} ctx */
function verdict(run, ctx) {
  const rules = ctx.rules;
  const name = (/** @type {number} */ i) => rules[i]?.name ?? '';
  const decided = typeof run.matched === 'number';
  const headline = decided
    ? h('p', { class: 'dry-run-verdict matched' }, t('dry_run.matched', { n: run.matched + 1, name: name(run.matched), then: actionsText(run.then, ctx) }))
    : h('p', { class: 'dry-run-verdict' }, t(run.verdicts.length ? 'dry_run.unmatched' : 'dry_run.no_rules'));
  const passed = run.verdicts.slice(0, decided ? run.matched : run.verdicts.length);
  const reasons = passed.map((/** @type {any} */ v, /** @type {number} */ i) =>
    h('li', {}, t('dry_run.rule', { n: i + 1, name: name(i) }), ' — ', why(v, rules[i])));
  return [
    headline,
    reasons.length ? h('p', { class: 'dry-run-why' }, t(decided ? 'dry_run.before' : 'dry_run.why')) : null,
    reasons.length ? h('ul', { class: 'dry-run-reasons' }, reasons) : null,
  ];
}

/** Why one rule did not match, in words. @param {any} v @param {any} rule */
function why(v, rule) {
  if (v.outcome === 'disabled') return t('dry_run.disabled');
  const condition = String(v.condition || '');
  if (condition === 'page_contains') return t('dry_run.failed.page_contains', { text: rule?.when?.page_contains || '' });
  if (condition === 'signed') return t(rule?.when?.signed ? 'dry_run.failed.signed_true' : 'dry_run.failed.signed_false');
  return tOr(`dry_run.failed.${condition}`, t('dry_run.failed.other', { name: condition }));
}
