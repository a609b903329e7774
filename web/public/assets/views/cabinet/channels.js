// @ts-check
/** Channels: the messengers operators answer through. Tokens go in and
 * never come back out: a channel shows which of its secrets are set and
 * when they last changed. Connecting, changing, rotating and disconnecting
 * ask for the password again (the server insists; `withProof` asks). */

import { api } from '../../api.js';
import { h, show, dateTime } from '../../dom.js';
import { t } from '../../i18n.js';
import { field, value, explain } from '../../forms.js';
import { withProof } from '../permissions.js';

/** What the administrator types in for each kind; the server makes the rest. */
const SECRETS = { telegram: ['bot_token'], vk: ['access_token', 'secret', 'confirmation'], webhook: [] };

/**
 * @param {HTMLElement} main
 * @param {(p: string) => boolean} _holds
 */
export function channels(main, _holds) {
  const table = h('div', { class: 'panel wide' }, h('p', {}, t('loading')));
  const side = h('div');
  show(main, h('div', { class: 'columns' }, table, side));
  show(side, connectForm());

  /** The settings fields of a kind. @param {string} kind */
  function settingsFields(kind) {
    switch (kind) {
      case 'telegram':
        return [
          h(
            'div',
            { class: 'field' },
            h('label', { for: 'f-mode' }, t('channels.mode')),
            h('select', { id: 'f-mode', name: 'mode' }, ['webhook', 'polling'].map((m) => h('option', { value: m }, t(`channels.mode_${m}`)))),
          ),
          field('api_base', t('channels.api_base'), { required: false, placeholder: 'https://api.telegram.org' }),
        ];
      case 'vk':
        return [
          field('group_id', t('channels.group_id'), { type: 'number', min: 1 }),
          field('api_base', t('channels.api_base'), { required: false, placeholder: 'https://api.vk.com' }),
        ];
      default:
        return [field('url', t('channels.url'), { type: 'url', placeholder: 'https://app.example/ostrog-replies' })];
    }
  }

  /** @param {HTMLFormElement} f @param {string} kind */
  function readSettings(f, kind) {
    /** @type {Record<string, any>} */
    const s = {};
    if (kind === 'telegram') s.mode = value(f, 'mode');
    if (kind === 'vk') s.group_id = Number(value(f, 'group_id'));
    if (kind === 'webhook') s.url = value(f, 'url');
    if (kind !== 'webhook' && value(f, 'api_base').trim()) s.api_base = value(f, 'api_base').trim();
    return s;
  }

  /** @param {HTMLFormElement} f @param {string} kind */
  function readSecrets(f, kind) {
    /** @type {Record<string, string>} */
    const s = {};
    for (const name of SECRETS[/** @type {'telegram'|'vk'|'webhook'} */ (kind)]) s[name] = value(f, name);
    return s;
  }

  /** @param {string} kind */
  function secretFields(kind) {
    return SECRETS[/** @type {'telegram'|'vk'|'webhook'} */ (kind)].map((name) =>
      field(name, t(`channels.secret.${name}`), { type: 'password', autocomplete: 'off' }),
    );
  }

  function connectForm() {
    const notice = h('p', { class: 'error', role: 'alert' });
    const shown = h('div', { role: 'status' });
    const kindFields = h('div');
    const kind = /** @type {HTMLSelectElement} */ (
      h('select', { id: 'f-kind', name: 'kind', onchange: () => show(kindFields, settingsFields(kind.value), secretFields(kind.value)) },
        ['telegram', 'vk', 'webhook'].map((k) => h('option', { value: k }, t(`channel.${k}`))))
    );
    show(kindFields, settingsFields(kind.value), secretFields(kind.value));
    const f = /** @type {HTMLFormElement} */ (
      h(
        'form',
        {
          class: 'panel narrow',
          id: 'channel-connect',
          onsubmit: (/** @type {Event} */ e) => {
            e.preventDefault();
            const body = { kind: kind.value, name: value(f, 'name'), settings: readSettings(f, kind.value), secrets: readSecrets(f, kind.value) };
            withProof(box, notice, async () => {
              const reply = await api('POST', '/api/v1/channels', body);
              f.reset();
              show(kindFields, settingsFields(kind.value), secretFields(kind.value));
              show(shown, reply.signing_secret ? [h('p', {}, t('channels.signing_once')), h('code', { class: 'wrap', id: 'signing-secret' }, reply.signing_secret)] : h('p', { class: 'ok' }, t('channels.connected', { name: reply.name })));
            }, load);
          },
        },
        h('h2', {}, t('channels.connect')),
        h('div', { class: 'field' }, h('label', { for: 'f-kind' }, t('channels.kind')), kind),
        field('name', t('channels.name'), { maxlength: 100 }),
        kindFields,
        notice,
        shown,
        h('button', { type: 'submit', id: 'channel-connect-submit' }, t('channels.connect_submit')),
      )
    );
    // The password prompt goes beside the form, not into it.
    const box = h('div', {}, f);
    return box;
  }

  /** New secrets for a channel. @param {any} c */
  function rotateForm(c) {
    const notice = h('p', { class: 'error', role: 'alert' });
    const shown = h('div', { role: 'status' });
    const f = /** @type {HTMLFormElement} */ (
      h(
        'form',
        {
          class: 'panel narrow',
          id: 'channel-rotate',
          onsubmit: (/** @type {Event} */ e) => {
            e.preventDefault();
            const body = { secrets: readSecrets(f, c.kind) };
            withProof(box, notice, async () => {
              const reply = await api('PUT', `/api/v1/channels/${c.id}/secrets`, body);
              f.reset();
              show(shown, reply.signing_secret ? [h('p', {}, t('channels.signing_once')), h('code', { class: 'wrap', id: 'signing-secret' }, reply.signing_secret)] : h('p', { class: 'ok' }, t('channels.rotated')));
            }, load);
          },
        },
        h('h2', {}, t('channels.rotate_title', { name: c.name })),
        h('p', {}, t('channels.rotate_hint')),
        secretFields(c.kind),
        notice,
        shown,
        h('button', { type: 'submit' }, t('channels.rotate')),
      )
    );
    const box = h('div', {}, f);
    return box;
  }

  /** Replies given up on, each with its reason and a way to try again. @param {any} c */
  async function deadLetters(c) {
    const box = h('div', { class: 'panel narrow', id: 'dead-letters' }, h('h2', {}, t('channels.dead_letters', { name: c.name })), h('p', {}, t('loading')));
    show(side, box);
    try {
      const list = await api('GET', `/api/v1/channels/${c.id}/dead-letters`);
      const notice = h('p', { class: 'error', role: 'alert' });
      show(
        box,
        h('h2', {}, t('channels.dead_letters', { name: c.name })),
        list.length
          ? h(
              'ul',
              { class: 'plain' },
              list.map((/** @type {any} */ d) =>
                h(
                  'li',
                  {},
                  h('p', {}, dateTime(d.done_at || d.created_at), ' — ', d.error || '—'),
                  h('button', {
                    type: 'button',
                    class: 'quiet',
                    onclick: async () => {
                      try {
                        await api('POST', `/api/v1/channels/${c.id}/dead-letters/${d.message_id}/retry`);
                        deadLetters(c);
                      } catch (err) {
                        notice.textContent = explain(err);
                      }
                    },
                  }, t('channels.retry')),
                ),
              ),
            )
          : h('p', { class: 'empty' }, t('channels.no_dead_letters')),
        notice,
      );
    } catch (err) {
      show(box, h('p', { class: 'error', role: 'alert' }, explain(err)));
    }
  }

  async function load() {
    try {
      const list = await api('GET', '/api/v1/channels');
      // Who changed the secrets, by name, for those who may see the employees.
      /** @type {Map<string, string>} */
      const names = new Map();
      await api('GET', '/api/v1/employees')
        .then((r) => (Array.isArray(r) ? r : r.items).forEach((/** @type {any} */ e) => names.set(e.id, e.name)))
        .catch(() => {});
      const notice = h('p', { class: 'error', role: 'alert' });
      show(
        table,
        h('h1', {}, t('nav.channels')),
        h('p', {}, t('channels.hint')),
        notice,
        list.length
          ? list.map((/** @type {any} */ c) =>
              h(
                'article',
                { class: 'widget-card', 'data-channel': c.id },
                h('h2', {}, c.name, ' ', h('span', { class: `channel-badge ${c.kind}` }, t(`channel.${c.kind}`))),
                c.kind === 'telegram'
                  ? h('p', {}, t(`channels.mode_${c.settings.mode}`))
                  : h('p', {}, t('channels.hook_url'), ' ', h('code', { class: 'wrap' }, c.hook_url)),
                h(
                  'p',
                  { class: 'secrets' },
                  t('channels.secrets_set', {
                    names: c.secrets.map((/** @type {string} */ n) => t(`channels.secret.${n}`)).join(', ') || '—',
                    at: dateTime(c.secrets_changed_at),
                    by: names.get(c.secrets_changed_by) || '—',
                  }),
                ),
                h(
                  'div',
                  { class: 'row-actions' },
                  h('button', { type: 'button', class: 'quiet', onclick: () => show(side, rotateForm(c)) }, t('channels.rotate')),
                  h('button', { type: 'button', class: 'quiet', onclick: () => deadLetters(c) }, t('channels.dead_letters_open')),
                  h('button', {
                    type: 'button',
                    class: 'quiet danger',
                    'data-disconnect': c.id,
                    onclick: () => {
                      if (!confirm(t('channels.disconnect_confirm', { name: c.name }))) return;
                      withProof(table, notice, () => api('DELETE', `/api/v1/channels/${c.id}`), load);
                    },
                  }, t('channels.disconnect')),
                ),
              ),
            )
          : h('p', { class: 'empty' }, t('channels.none')),
      );
    } catch (err) {
      show(table, h('p', { class: 'error', role: 'alert' }, explain(err)));
    }
  }
  load();
}
