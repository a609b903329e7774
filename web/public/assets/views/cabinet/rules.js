// @ts-check
/** The routing rules on the teams page: the ordered list (each rule's
 * conditions and actions in words), moving a rule up or down, turning it
 * off or on, deleting it, and the form for one rule. The server keeps the
 * list as one whole: every change sends all of it, in order, and shows
 * what the server saved. */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t, LANGUAGES } from '../../i18n.js';
import { clearFieldErrors, explain, showAtField } from '../../forms.js';

/** The channel kinds a conversation starts through, as the server names them. */
export const CHANNELS = ['widget', 'telegram', 'vk', 'webhook'];

/** @typedef {import('./teams.js').Catalogues} Catalogues */

/** A list in words: "a, b, c". @param {string[]} items */
function list(items) {
  return items.join(', ');
}

/** A language's own name. @param {string} code */
export function languageName(code) {
  return LANGUAGES.find((l) => l.code === code)?.name || code;
}

/** A widget or channel of a rule's sources, by name. @param {any} source @param {Catalogues} ctx */
function sourceName(source, ctx) {
  if (source.widget) return ctx.widgets.find((w) => w.id === source.widget)?.settings.name || t('rules.unknown_widget');
  return ctx.channels.find((c) => c.id === source.channel)?.name || t('rules.unknown_channel');
}

/** What a rule asks, in words, one line per condition. @param {any} rule @param {Catalogues} ctx */
export function conditionsText(rule, ctx) {
  const w = rule.when || {};
  /** @type {string[]} */
  const lines = [];
  if (w.channels?.length) lines.push(t('rules.when_channels', { list: list(w.channels.map((/** @type {string} */ c) => t(`channel.${c}`))) }));
  if (w.sources?.length) lines.push(t('rules.when_sources', { list: list(w.sources.map((/** @type {any} */ s) => sourceName(s, ctx))) }));
  if (w.page_contains) lines.push(t('rules.when_page', { text: w.page_contains }));
  if (w.languages?.length) lines.push(t('rules.when_languages', { list: list(w.languages.map(languageName)) }));
  if (w.words?.length) lines.push(t('rules.when_words', { list: list(w.words) }));
  if (w.signed === true) lines.push(t('rules.when_signed'));
  if (w.signed === false) lines.push(t('rules.when_unsigned'));
  return lines.length ? lines : [t('rules.every')];
}

/** What a rule does, in words: the team (or the general queue), labels, priority. @param {any} then @param {Catalogues} ctx */
export function actionsText(then, ctx) {
  const a = then || {};
  const team = a.team ? ctx.teams.find((x) => x.id === a.team) : null;
  const parts = [a.team ? (team ? t('rules.then_team', { name: team.name }) : t('rules.then_gone_team')) : t('rules.then_general')];
  const labels = (a.labels || []).map((/** @type {string} */ id) => ctx.labels.find((l) => l.id === id)?.name).filter(Boolean);
  if (labels.length) parts.push(t('rules.then_labels', { list: list(labels) }));
  if (a.priority === 'high') parts.push(t('rules.then_high'));
  return list(parts);
}

/** A rule as it can be saved now: a team or labels deleted since are left
 * out (the server sends such conversations to the general queue anyway, and
 * refuses a list that names them). @param {any} rule @param {Catalogues} ctx */
function current(rule, ctx) {
  const then = { ...rule.then };
  if (then.team && !ctx.teams.some((x) => x.id === then.team)) delete then.team;
  if (then.labels) then.labels = then.labels.filter((/** @type {string} */ id) => ctx.labels.some((l) => l.id === id));
  return { ...rule, then };
}

/**
 * @param {HTMLElement} box
 * @param {Catalogues} ctx
 * @returns {{ teamsChanged: () => void }}
 */
export function rulesPanel(box, ctx) {
  const status = h('p', { class: 'ok', role: 'status', id: 'rules-status' });
  const error = h('p', { class: 'error', role: 'alert', id: 'rules-error' });
  const listBox = h('div');
  const formBox = h('div', { class: 'rule-form-box' });
  /** The team select of the open form, refilled when the teams change. @type {HTMLSelectElement | null} */
  let teamSelect = null;
  show(
    box,
    h('div', { class: 'heading' },
      h('h2', { id: 'rules-title' }, t('rules.title')),
      ctx.mayChange ? h('button', { type: 'button', class: 'quiet', id: 'rule-new', onclick: () => edit(-1) }, t('rules.new')) : null),
    h('p', {}, t('rules.hint')),
    status,
    error,
    listBox,
    formBox,
  );
  renderList();

  /** Saves the whole list; true once the server took it. @param {any[]} rules @param {unknown[]} [fail] where a refusal goes instead */
  async function save(rules, fail) {
    status.textContent = '';
    error.textContent = '';
    try {
      const saved = await api('PUT', '/api/v1/routing/rules', { rules: rules.map((r) => current(r, ctx)) });
      ctx.rules = saved.rules;
      renderList();
      status.textContent = t('rules.saved');
      return true;
    } catch (err) {
      if (fail) fail.push(err);
      else error.textContent = explain(err);
      return false;
    }
  }

  function renderList() {
    const rules = ctx.rules;
    if (!rules.length) return show(listBox, h('p', { class: 'empty' }, t('rules.none')));
    show(listBox, h('ol', { class: 'rule-list' }, rules.map((r, i) => item(r, i, rules.length))));
  }

  /** @param {any} r @param {number} i @param {number} count */
  function item(r, i, count) {
    const name = r.name;
    /** Moves rule `i` by `by` places. @param {number} by */
    const move = (by) => {
      close();
      const next = [...ctx.rules];
      [next[i], next[i + by]] = [next[i + by], next[i]];
      save(next).then((ok) => ok && /** @type {HTMLElement | null} */ (listBox.querySelector(`[data-rule="${i + by}"] [data-move="${by}"]`) || listBox.querySelector(`[data-rule="${i + by}"] button`))?.focus());
    };
    return h(
      'li',
      { class: `rule-item${r.enabled === false ? ' off' : ''}`, 'data-rule': i },
      h('div', { class: 'rule-head' },
        h('span', { class: 'rule-number' }, t('rules.number', { n: i + 1 })),
        h('strong', { class: 'rule-name' }, r.name),
        r.enabled === false ? h('span', { class: 'rule-off' }, t('rules.off')) : null),
      h('ul', { class: 'rule-when' }, conditionsText(r, ctx).map((line) => h('li', {}, line))),
      h('p', { class: 'rule-then' }, '→ ', actionsText(r.then, ctx)),
      ctx.mayChange
        ? h('div', { class: 'row-actions' },
            h('button', { type: 'button', class: 'quiet', 'data-move': -1, disabled: i === 0, 'aria-label': t('rules.up_named', { name }), title: t('rules.up'), onclick: () => move(-1) }, '↑'),
            h('button', { type: 'button', class: 'quiet', 'data-move': 1, disabled: i === count - 1, 'aria-label': t('rules.down_named', { name }), title: t('rules.down'), onclick: () => move(1) }, '↓'),
            h('button', {
              type: 'button', class: 'quiet', 'data-toggle': i,
              onclick: () => { close(); save(ctx.rules.map((x, j) => (j === i ? { ...x, enabled: x.enabled === false } : x))); },
            }, t(r.enabled === false ? 'rules.turn_on' : 'rules.turn_off')),
            h('button', { type: 'button', class: 'quiet', 'data-edit': i, onclick: () => edit(i) }, t('rules.change')),
            h('button', {
              type: 'button', class: 'quiet danger', 'data-delete': i,
              onclick: () => {
                if (!window.confirm(t('rules.delete_confirm', { name: r.name }))) return;
                close();
                save(ctx.rules.filter((_, j) => j !== i));
              },
            }, t('rules.delete')))
        : null,
    );
  }

  /** Closes the form: a change of the list moves the rules it counts by. */
  function close() {
    teamSelect = null;
    show(formBox);
  }

  /** Opens the form for rule `i`, or for a new one at the end (`i` −1). @param {number} i */
  function edit(i) {
    const rule = i >= 0 ? ctx.rules[i] : { name: '', enabled: true, when: {}, then: { priority: 'normal' } };
    const f = ruleForm(rule, i, ctx, async (changed, fail) => {
      const next = i >= 0 ? ctx.rules.map((x, j) => (j === i ? changed : x)) : [...ctx.rules, changed];
      if (await save(next, fail)) close();
    }, close);
    teamSelect = /** @type {HTMLSelectElement} */ (f.elements.namedItem('team'));
    show(formBox, f);
    f.scrollIntoView({ block: 'nearest' });
    /** @type {HTMLInputElement} */ (f.elements.namedItem('name')).focus();
  }

  return {
    teamsChanged() {
      renderList();
      if (teamSelect) {
        const chosen = teamSelect.value;
        show(teamSelect, teamOptions(ctx, chosen));
      }
    },
  };
}

/** The general queue, then each team. @param {Catalogues} ctx @param {string} chosen */
function teamOptions(ctx, chosen) {
  return [
    h('option', { value: '' }, t('rules.general_queue')),
    ...ctx.teams.map((x) => h('option', { value: x.id, selected: x.id === chosen }, x.name)),
  ];
}

/**
 * A group of checkboxes named `name`, one per value; the refusal of `field`
 * shows after it.
 * @param {string} field @param {string} name @param {string} legend
 * @param {{value: string, label: any, checked: boolean}[]} boxes
 */
function checkGroup(field, name, legend, boxes) {
  return h('fieldset', { class: 'check-group', 'data-field': field, id: `rule-${field}` },
    h('legend', {}, legend),
    boxes.map((b) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name, value: b.value, checked: b.checked }), b.label)));
}

/**
 * The form for one rule; `done` saves it (the refusal pushed into `fail`).
 * @param {any} rule @param {number} i @param {Catalogues} ctx
 * @param {(rule: any, fail: unknown[]) => Promise<void>} done
 * @param {() => void} cancel
 */
function ruleForm(rule, i, ctx, done, cancel) {
  const w = rule.when || {};
  const a = rule.then || {};
  const has = (/** @type {any[] | undefined} */ xs, /** @type {any} */ x) => !!xs && xs.includes(x);
  const sourceKey = (/** @type {any} */ s) => (s.widget ? `widget:${s.widget}` : `channel:${s.channel}`);
  const chosenSources = new Set((w.sources || []).map(sourceKey));
  const general = h('p', { class: 'error', role: 'alert', id: 'rule-error' });
  const field = (/** @type {string} */ id, /** @type {string} */ label, /** @type {HTMLElement} */ input, /** @type {string} */ hint = '') =>
    h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('small', { class: 'hint', id: `${id}-hint` }, hint) : null);
  // Sources this person cannot list (a channel without `channels.manage`, a
  // deleted widget) stay chosen under their description, so saving keeps them.
  const known = new Set([...ctx.widgets.map((x) => `widget:${x.id}`), ...ctx.channels.map((x) => `channel:${x.id}`)]);
  const others = (w.sources || []).filter((/** @type {any} */ x) => !known.has(sourceKey(x)));
  const sources = known.size || others.length
    ? field('rule-sources', t('rules.sources'),
        h('select', { id: 'rule-sources', name: 'sources', multiple: true, size: Math.min(6, known.size + others.length + 2), 'aria-describedby': 'rule-sources-hint' },
          ctx.widgets.length ? h('optgroup', { label: t('rules.widgets') },
            ctx.widgets.map((x) => h('option', { value: `widget:${x.id}`, selected: chosenSources.has(`widget:${x.id}`) }, x.settings.name))) : null,
          ctx.channels.length ? h('optgroup', { label: t('rules.channel_sources') },
            ctx.channels.map((x) => h('option', { value: `channel:${x.id}`, selected: chosenSources.has(`channel:${x.id}`) }, x.name))) : null,
          others.map((/** @type {any} */ x) => h('option', { value: sourceKey(x), selected: true }, sourceName(x, ctx)))),
        t('rules.sources_hint'))
    : null;
  const words = /** @type {HTMLTextAreaElement} */ (h('textarea', { id: 'rule-words', name: 'words', rows: 3, 'aria-describedby': 'rule-words-hint' }));
  words.value = (w.words || []).join(', ');
  const signed = w.signed === true ? 'yes' : w.signed === false ? 'no' : 'any';

  const f = /** @type {HTMLFormElement} */ (h(
    'form',
    {
      class: 'rule-form',
      id: 'rule-form',
      onsubmit: async (/** @type {SubmitEvent} */ e) => {
        e.preventDefault();
        clearFieldErrors(f);
        general.textContent = '';
        /** @type {unknown[]} */
        const fail = [];
        await done(read(), fail);
        if (fail.length && !showAtField(f, fail[0])) general.textContent = explain(fail[0]);
      },
    },
    h('h3', {}, i >= 0 ? t('rules.edit_title', { n: i + 1, name: rule.name }) : t('rules.new')),
    h('div', { class: 'rule-form-top' },
      field('rule-name', t('rules.name'), h('input', { id: 'rule-name', name: 'name', maxlength: 80, required: true, autocomplete: 'off', value: rule.name })),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'enabled', id: 'rule-enabled', checked: rule.enabled !== false }), t('rules.enabled'))),
    h('div', { class: 'rule-form-parts' },
      h('fieldset', { class: 'rule-part' },
        h('legend', {}, t('rules.conditions')),
        h('p', { class: 'hint' }, t('rules.conditions_hint')),
        checkGroup('channels', 'channel', t('rules.channels'), CHANNELS.map((c) => ({ value: c, label: t(`channel.${c}`), checked: has(w.channels, c) }))),
        sources,
        field('rule-page', t('rules.page'), h('input', { id: 'rule-page', name: 'page_contains', maxlength: 200, autocomplete: 'off', value: w.page_contains || '', 'aria-describedby': 'rule-page-hint' }), t('rules.page_hint')),
        checkGroup('languages', 'language', t('rules.languages'), LANGUAGES.map((l) => ({ value: l.code, label: l.name, checked: has(w.languages, l.code) }))),
        field('rule-words', t('rules.words'), words, t('rules.words_hint')),
        field('rule-signed', t('rules.signed'),
          h('select', { id: 'rule-signed', name: 'signed' },
            ['any', 'yes', 'no'].map((s) => h('option', { value: s, selected: s === signed }, t(`rules.signed_${s}`)))))),
      h('fieldset', { class: 'rule-part' },
        h('legend', {}, t('rules.actions')),
        field('rule-team', t('rules.team'), h('select', { id: 'rule-team', name: 'team' }, teamOptions(ctx, a.team || ''))),
        ctx.labels.length
          ? checkGroup('labels', 'label', t('rules.labels'), ctx.labels.map((l) => ({ value: l.id, label: h('span', { class: `label-chip ${l.colour}` }, l.name), checked: has(a.labels, l.id) })))
          : null,
        field('rule-priority', t('rules.priority'),
          h('select', { id: 'rule-priority', name: 'priority', 'aria-describedby': 'rule-priority-hint' },
            ['normal', 'high'].map((p) => h('option', { value: p, selected: p === (a.priority || 'normal') }, t(`rules.priority_${p}`)))),
          t('rules.priority_hint')))),
    general,
    h('div', { class: 'row-actions' },
      h('button', { type: 'submit', id: 'rule-save' }, t(i >= 0 ? 'rules.save' : 'rules.add')),
      h('button', { type: 'button', class: 'quiet', id: 'rule-cancel', onclick: cancel }, t('rules.cancel'))),
  ));

  /** The rule as the form has it; conditions left empty are left out. */
  function read() {
    const value = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (f.elements.namedItem(name)).value;
    const ticked = (/** @type {string} */ name) => [...f.querySelectorAll(`input[name=${name}]:checked`)].map((x) => /** @type {HTMLInputElement} */ (x).value);
    /** @type {Record<string, any>} */
    const when = {};
    const channels = ticked('channel');
    if (channels.length) when.channels = channels;
    const picked = sources ? [.../** @type {HTMLSelectElement} */ (f.elements.namedItem('sources')).selectedOptions].map((o) => o.value) : [];
    if (picked.length) when.sources = picked.map((v) => { const [kind, id] = v.split(':'); return { [kind]: id }; });
    if (value('page_contains').trim()) when.page_contains = value('page_contains').trim();
    const languages = ticked('language');
    if (languages.length) when.languages = languages;
    const list = value('words').split(/[,\n]/).map((x) => x.trim()).filter(Boolean);
    if (list.length) when.words = list;
    if (value('signed') !== 'any') when.signed = value('signed') === 'yes';
    /** @type {Record<string, any>} */
    const then = { priority: value('priority') };
    if (value('team')) then.team = value('team');
    const labels = ticked('label');
    if (labels.length) then.labels = labels;
    const enabled = /** @type {HTMLInputElement} */ (f.elements.namedItem('enabled')).checked;
    return { name: value('name'), enabled, when, then };
  }

  return f;
}
