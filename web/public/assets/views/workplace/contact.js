// @ts-check
/** Who a conversation is with: the contact's name for lists and headers
 * ("Guest 47" until one is known), and the contact panel beside the
 * transcript, where an employee holding `contacts.edit` renames the contact
 * and keeps their phone, e-mail, company and notes. */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';
import { explain } from '../../forms.js';
import { historyPanel } from './history.js';
import { filesPanel } from './files.js';

/**
 * The contact's name as lists show it.
 * @param {import('./state.js').State} state
 * @param {string} visitorId
 */
export function contactName(state, visitorId) {
  const c = state.contacts.get(visitorId);
  if (!c) return t('workplace.visitor');
  return c.name || t('contact.guest', { n: c.number });
}

/** Keeps what the server said of contacts. @param {import('./state.js').State} state @param {any[]} labels */
export function keepContacts(state, labels) {
  for (const l of labels || []) state.contacts.set(l.visitor_id, { ...state.contacts.get(l.visitor_id), ...l });
}

/** The page a widget visitor wrote from and their browser, when known. @param {any} contact */
function visit(contact) {
  if (!contact.page && !contact.browser) return null;
  return h(
    'dl',
    { class: 'visit', id: 'contact-visit' },
    contact.page ? [h('dt', {}, t('contact.page')), h('dd', {}, h('a', { href: contact.page, target: '_blank', rel: 'noopener noreferrer' }, contact.page))] : null,
    contact.browser ? [h('dt', {}, t('contact.browser')), h('dd', {}, contact.browser)] : null,
  );
}

const FIELDS = /** @type {const} */ (['name', 'phone', 'email', 'company']);

/**
 * The contact panel of conversation `id`: its details, editable with
 * `contacts.edit`. Redraws the list and header when the name changes.
 * @param {import('./state.js').State} state
 * @param {HTMLElement} box
 * @param {string} id
 */
export async function contactPanel(state, box, id) {
  show(box);
  const past = h('div', { class: 'context-part' });
  const exchanged = h('div', { class: 'context-part' });
  historyPanel(state, past, id);
  filesPanel(state, exchanged, id);
  let contact;
  try {
    contact = await api('GET', `/api/v1/conversations/${id}/contact`);
  } catch (err) {
    show(box, h('p', { class: 'error', role: 'alert' }, explain(err)));
    return;
  }
  if (id !== state.openId) return;
  keepContacts(state, [contact]);
  const editable = state.holds('contacts.edit');
  const error = h('p', { class: 'error', role: 'alert' });
  const saved = h('p', { class: 'ok', role: 'status' });
  const inputs = FIELDS.map((f) =>
    h(
      'div',
      { class: 'field' },
      h('label', { for: `contact-${f}` }, t(`contact.${f}`)),
      h('input', {
        id: `contact-${f}`,
        name: f,
        value: contact[f] || '',
        placeholder: f === 'name' ? t('contact.guest', { n: contact.number }) : undefined,
        readonly: !editable,
        maxlength: 200,
        type: f === 'email' ? 'email' : f === 'phone' ? 'tel' : 'text',
      }),
    ),
  );
  const notes = h(
    'div',
    { class: 'field' },
    h('label', { for: 'contact-notes' }, t('contact.notes')),
    h('textarea', { id: 'contact-notes', name: 'notes', rows: 3, maxlength: 4000, readonly: !editable }),
  );
  /** @type {HTMLTextAreaElement} */ (notes.querySelector('textarea')).value = contact.notes || '';
  const save = editable ? h('button', { type: 'submit', id: 'contact-save' }, t('contact.save')) : null;
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      {
        class: 'contact-form',
        onsubmit: async (/** @type {SubmitEvent} */ e) => {
          e.preventDefault();
          error.textContent = '';
          saved.textContent = '';
          const body = Object.fromEntries(
            [...FIELDS, 'notes'].map((f) => [f, /** @type {HTMLInputElement} */ (form.elements.namedItem(f)).value]),
          );
          try {
            const contact = await api('PUT', `/api/v1/conversations/${id}/contact`, body);
            keepContacts(state, [contact]);
            saved.textContent = t('contact.saved');
            state.notify('list');
            state.notify('header');
          } catch (err) {
            error.textContent = explain(err);
          }
        },
      },
      inputs,
      notes,
      error,
      saved,
      save,
    )
  );
  show(box, h('details', { class: 'contact-panel', id: 'contact-panel' }, h('summary', {}, t('contact.title')), visit(contact), form), past, exchanged);
}
