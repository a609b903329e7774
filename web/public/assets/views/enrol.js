// @ts-check
/** First-time 2FA enrolment: the QR code (or the secret to type), a first
 * code to confirm, then the recovery codes, shown this once. */

import { api, setCsrf } from '../api.js';
import { h, show } from '../dom.js';
import { t } from '../i18n.js';
import { refresh, signOut } from '../nav.js';
import { form, field, value, explain } from '../forms.js';

/** @param {any} employee */
export function enrolView(employee) {
  document.title = `${t('enrol.title')} · Ostrog`;
  const box = h('div', { class: 'centered' }, h('p', {}, t('loading')));
  api('POST', '/api/v1/account/two-factor/enrolment')
    .then((e) => show(box, step(employee, e)))
    .catch((err) => show(box, h('p', { class: 'error', role: 'alert' }, explain(err))));
  return box;
}

/**
 * @param {any} employee
 * @param {{ qr_svg: string, secret: string }} enrolment
 */
function step(employee, enrolment) {
  const qr = h('img', {
    class: 'qr',
    alt: t('enrol.qr_alt'),
    src: `data:image/svg+xml;base64,${btoa(enrolment.qr_svg)}`,
  });
  const f = form(
    t('enrol.title'),
    [
      h('p', {}, t('enrol.hint', { name: employee.name })),
      qr,
      h('p', {}, t('enrol.secret'), ' ', h('code', { id: 'totp-secret' }, enrolment.secret)),
      field('code', t('two_factor.code'), { inputmode: 'numeric', autocomplete: 'one-time-code' }),
    ],
    t('enrol.confirm'),
    async (form) => {
      const reply = await api('POST', '/api/v1/account/two-factor/confirm', { code: value(form, 'code').trim() });
      // Enrolment replaced the session: its new cookie came with the answer.
      setCsrf(reply.csrf_token);
      show(/** @type {HTMLElement} */ (f.parentElement), codes(reply.recovery_codes));
    },
    [h('button', { type: 'button', class: 'link', onclick: signOut }, t('nav.sign_out'))],
  );
  return f;
}

/**
 * The recovery codes, shown this once: one whole code per cell (never
 * broken across lines), to copy or to save as a text file.
 * @param {string[]} list
 */
export function codes(list) {
  const text = `${t('enrol.codes_file_title')}\n\n${list.join('\n')}\n`;
  const done = h('p', { class: 'ok', role: 'status', id: 'codes-done' });
  const copy = h('button', { type: 'button', class: 'quiet', id: 'codes-copy' }, t('enrol.codes_copy'));
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      done.textContent = t('enrol.codes_copied');
    } catch {
      done.textContent = t('enrol.codes_copy_failed');
    }
  });
  // A file made in the page (a blob: URL), so the codes never travel again.
  const download = h('a', { class: 'button quiet', id: 'codes-download', download: 'ostrog-recovery-codes.txt', href: '#' }, t('enrol.codes_download'));
  download.addEventListener('click', () => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
    download.setAttribute('href', url);
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  });
  return h(
    'div',
    { class: 'panel narrow' },
    h('h1', {}, t('enrol.codes_title')),
    h('p', {}, t('enrol.codes_hint')),
    h('ol', { class: 'codes', id: 'recovery-codes' }, list.map((c) => h('li', {}, h('code', {}, c)))),
    h('div', { class: 'actions codes-actions' }, copy, download),
    done,
    h('button', { type: 'button', id: 'codes-saved', onclick: () => refresh() }, t('enrol.codes_saved')),
  );
}
