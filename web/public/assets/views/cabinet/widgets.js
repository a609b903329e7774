// @ts-check
/** Widgets: their settings (greeting, allowed sites, language, working
 * hours) and the one tag a company puts on its pages. */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';
import { form, field, value, failed } from '../../forms.js';
import { hoursEditor } from './hours.js';

/**
 * @param {HTMLElement} main
 * @param {(p: string) => boolean} holds
 */
export function widgets(main, holds) {
  const table = h('div', { class: 'panel wide' }, h('p', {}, t('loading')));
  const side = h('div');
  show(main, h('div', { class: 'columns' }, table, side));
  if (holds('settings.manage')) show(side, settingsForm(null));

  /**
   * The form for a new widget (`existing` null) or for changing one.
   * @param {any} existing
   */
  function settingsForm(existing) {
    const created = h('div', { role: 'status' });
    const was = existing ? existing.settings : { name: '', greeting: '', allowed_origins: [], language: 'ru' };
    const hours = hoursEditor(was.working_hours || { utc_offset_minutes: 180, days: [] });
    return form(
      existing ? t('widgets.edit_title', { name: was.name }) : t('widgets.create'),
      [
        field('name', t('widgets.name'), { maxlength: 100, value: was.name }),
        field('greeting', t('widgets.greeting'), { required: false, maxlength: 500, value: was.greeting }),
        originsField(was.allowed_origins),
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'f-language' }, t('language')),
          h(
            'select',
            { id: 'f-language', name: 'language' },
            h('option', { value: 'ru', selected: was.language === 'ru' }, 'Русский'),
            h('option', { value: 'en', selected: was.language === 'en' }, 'English'),
          ),
        ),
        hours.fieldset,
        created,
      ],
      existing ? t('widgets.save') : t('widgets.create_submit'),
      async (f) => {
        const settings = {
          name: value(f, 'name'),
          greeting: value(f, 'greeting'),
          allowed_origins: value(f, 'origins').split(/[\s,]+/).filter(Boolean),
          language: value(f, 'language'),
          working_hours: hours.read(),
        };
        if (existing) {
          await api('PUT', `/api/v1/widgets/${existing.id}`, settings);
          show(side, settingsForm(null));
        } else {
          const reply = await api('POST', '/api/v1/widgets', settings);
          f.reset();
          show(created, h('p', {}, t('widgets.secret_once')), h('code', { class: 'wrap', id: 'widget-secret' }, reply.secret));
        }
        load();
      },
    );
  }

  async function load() {
    try {
      const list = await api('GET', '/api/v1/widgets');
      show(
        table,
        h('h1', {}, t('nav.widgets')),
        list.length
          ? list.map((/** @type {any} */ w) =>
              h(
                'article',
                { class: 'widget-card', 'data-id': w.id },
                h('h2', {}, w.settings.name),
                h('p', {}, t('widgets.origins'), ': ', w.settings.allowed_origins.join(', ') || '—'),
                h('p', {}, t('widgets.embed')),
                h('pre', { class: 'figures snippet' }, `<script src="${location.origin}/widget.js" data-widget="${w.id}" async></script>`),
                h('p', {}, h('a', { href: `/widgets/${w.id}/try`, target: '_blank', rel: 'noopener', class: 'try-widget', 'data-try': w.id }, t('widgets.try')), ' ', h('span', { class: 'hint' }, t('widgets.try_hint'))),
                holds('settings.manage')
                  ? h('button', { type: 'button', class: 'quiet', 'data-edit': w.id, onclick: () => show(side, settingsForm(w)) }, t('widgets.edit'))
                  : null,
              ),
            )
          : h('p', { class: 'empty' }, t('widgets.none')),
      );
    } catch (err) {
      failed(table, err);
    }
  }
  load();
}

/** The allowed sites, with what an origin is: the server's refusal shows under it.
 * @param {string[]} origins */
function originsField(origins) {
  const wrapper = field('origins', t('widgets.origins'), { placeholder: 'https://shop.example', required: false, value: origins.join(' '), 'data-field': 'allowed_origins', 'aria-describedby': 'f-origins-hint' });
  wrapper.append(h('p', { class: 'hint', id: 'f-origins-hint' }, t('widgets.origins_hint')));
  return wrapper;
}
