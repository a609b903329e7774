// @ts-check
/** The labels operators put on conversations, a panel of the security
 * section: holders of `settings.view` see them, `settings.manage` adds,
 * renames, recolours and deletes them (audited by the server; deleting a
 * label takes it off every conversation, so it asks first). */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';
import { explain, failed } from '../../forms.js';

/** The palette the server accepts; each colour is checked for contrast. */
export const COLOURS = ['grey', 'red', 'orange', 'yellow', 'green', 'teal', 'blue', 'purple'];

/** @param {(p: string) => boolean} holds */
export function labelsPanel(holds) {
  const box = h('div', { class: 'panel', id: 'labels-settings' }, h('p', {}, t('loading')));
  const mayChange = holds('settings.manage');
  const error = h('p', { class: 'error', role: 'alert' });
  load();

  async function load() {
    try {
      const labels = await api('GET', '/api/v1/labels');
      show(
        box,
        h('h2', {}, t('labels.title')),
        h('p', {}, t('labels.hint')),
        labels.length ? h('ul', { class: 'label-list' }, labels.map(row)) : h('p', { class: 'empty' }, t('labels.none')),
        error,
        mayChange ? form(null) : null,
      );
    } catch (err) {
      failed(box, err);
    }
  }

  /** @param {any} l */
  function row(l) {
    const chip = h('span', { class: `label-chip ${l.colour}` }, l.name);
    if (!mayChange) return h('li', {}, chip);
    const li = h('li', {}, chip,
      h('button', { type: 'button', class: 'link', onclick: () => show(li, form(l)) }, t('labels.change')),
      h('button', { type: 'button', class: 'link danger', onclick: () => remove(l) }, t('labels.delete')));
    return li;
  }

  /** Adds a label (`l` null) or changes one. @param {any} l */
  function form(l) {
    const prefix = l ? `label-${l.id}` : 'label-new';
    const name = h('input', { id: `${prefix}-name`, name: 'name', maxlength: 40, required: true, value: l ? l.name : '' });
    const colour = h('select', { id: `${prefix}-colour`, name: 'colour' },
      COLOURS.map((c) => h('option', { value: c, selected: l ? l.colour === c : c === 'blue' }, t(`labels.colour.${c}`))));
    const fieldError = h('p', { class: 'error', id: `${prefix}-error`, role: 'alert' });
    return h('form', {
      class: 'inline-form',
      onsubmit: async (/** @type {SubmitEvent} */ e) => {
        e.preventDefault();
        const body = { name: /** @type {HTMLInputElement} */ (name).value, colour: /** @type {HTMLSelectElement} */ (colour).value };
        try {
          await api(l ? 'PUT' : 'POST', l ? `/api/v1/labels/${l.id}` : '/api/v1/labels', body);
          load();
        } catch (err) {
          fieldError.textContent = explain(err);
          /** @type {HTMLElement} */ (name).focus();
        }
      },
    },
    h('div', { class: 'field' }, h('label', { for: `${prefix}-name` }, t('labels.name')), name),
    h('div', { class: 'field' }, h('label', { for: `${prefix}-colour` }, t('labels.colour')), colour),
    fieldError,
    h('button', { type: 'submit', id: l ? `${prefix}-save` : 'label-add' }, t(l ? 'labels.save' : 'labels.add')),
    l ? h('button', { type: 'button', class: 'quiet', onclick: load }, t('labels.cancel')) : null);
  }

  /** @param {any} l */
  async function remove(l) {
    if (!window.confirm(t('labels.delete_confirm', { name: l.name }))) return;
    try {
      await api('DELETE', `/api/v1/labels/${l.id}`);
      load();
    } catch (err) {
      error.textContent = explain(err);
    }
  }

  return box;
}
