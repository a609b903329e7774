// @ts-check
/** The files exchanged with the contact, in the contact panel: name, size,
 * when, from whom, and the scan (only scanned, clean files are stored).
 * Downloading goes through the file endpoint and its checks. */

import { api } from '../../api.js';
import { h, show, dateTime } from '../../dom.js';
import { t } from '../../i18n.js';
import { size } from '../../messages.js';
import { explain } from '../../forms.js';

/**
 * Fills `box` with the files of conversation `id`'s contact.
 * @param {import('./state.js').State} state
 * @param {HTMLElement} box
 * @param {string} id
 */
export async function filesPanel(state, box, id) {
  show(box);
  let page;
  try {
    page = await api('GET', `/api/v1/conversations/${id}/contact/files`);
  } catch (err) {
    show(box, h('p', { class: 'error', role: 'alert' }, explain(err)));
    return;
  }
  if (id !== state.openId) return;
  const list = page.items.length
    ? h(
        'ul',
        { class: 'exchanged-files' },
        page.items.map((/** @type {any} */ f) =>
          h(
            'li',
            {},
            h('a', { href: `/api/v1/files/${f.file_id}`, download: f.name, rel: 'noopener' }, f.name),
            h(
              'small',
              {},
              [size(f.size), dateTime(f.at), t(f.from === 'visitor' ? 'files.from_visitor' : 'files.from_us'), t('file.scanned')].join(' · '),
            ),
          ),
        ),
      )
    : h('p', { class: 'quiet' }, t('files.none'));
  show(box, h('details', { class: 'context-panel', id: 'contact-files' }, h('summary', {}, t('files.title', { n: page.items.length })), list));
}
