// @ts-check
/** Quick replies in the composer: `/` at the start of the message or after
 * a space opens the list of replies (the shared ones and the operator's
 * own), filtered by what follows the slash, by code or title. ↑/↓ choose,
 * Enter inserts, Esc closes; a click inserts too. Inserting asks the server
 * to fill the reply's placeholders for the open conversation and puts the
 * text in place of `/…`, for the operator to edit: it never sends. The list
 * is loaded once per workplace visit, and again when a reply turns out to
 * be gone.
 *
 * The textarea keeps its role (HTML allows a textarea no other) and carries
 * the combobox pattern's states: aria-expanded, aria-controls and
 * aria-activedescendant pointing at the chosen option of the listbox. */

import { api, ApiError } from '../../api.js';
import { h, show } from '../../dom.js';
import { t, languageToUse } from '../../i18n.js';
import { explain } from '../../forms.js';
import { go } from '../../nav.js';

export const REPLIES_PATH = '/quick-replies';
const LISTBOX_ID = 'quick-reply-options';

/**
 * A `/…` being typed: where its slash is and what follows it; null when
 * the caret is not right after one (or text is selected).
 * @param {HTMLTextAreaElement} composer
 */
function slashToken(composer) {
  const caret = composer.selectionEnd;
  if (composer.selectionStart !== caret) return null;
  const m = /(?:^|\s)\/([^\s/]*)$/u.exec(composer.value.slice(0, caret));
  return m ? { at: caret - m[1].length - 1, query: m[1] } : null;
}

/** The reply's text in the language of the page, else in the other. @param {any} r */
function preview(r) {
  const bodies = r.bodies || {};
  const text = bodies[languageToUse()] || bodies.ru || bodies.en || '';
  return text.split(/\s+/).join(' ');
}

/**
 * @param {import('./state.js').State} state
 * @param {HTMLTextAreaElement} composer
 */
export function quickReplies(state, composer) {
  /** @type {any[] | null} the replies, once loaded */
  let replies = null;
  /** @type {Promise<void> | null} */
  let loading = null;
  let loadError = '';
  /** Where the slash of the open menu is (-1: closed). */
  let slash = -1;
  /** The slash the operator closed the menu at (Esc): it stays closed until that `/` is gone. */
  let dismissed = -1;
  let query = '';
  /** @type {any[]} the replies the menu shows, in its order */
  let shown = [];
  let active = 0;
  let inserting = false;
  /** Whether the notice above the composer is ours (a placeholder to fill). */
  let noticeOurs = false;

  const listbox = h('ul', { id: LISTBOX_ID, role: 'listbox', 'aria-label': t('replies.menu'), class: 'reply-options' });
  const message = h('p', { class: 'reply-menu-message', id: 'quick-reply-message' });
  const popup = h(
    'div',
    {
      class: 'reply-menu',
      id: 'quick-reply-menu',
      hidden: true,
      // A click in the menu keeps the cursor in the composer.
      onmousedown: (/** @type {MouseEvent} */ e) => e.preventDefault(),
    },
    listbox,
    message,
    h('p', { class: 'reply-menu-keys', 'aria-hidden': 'true' }, t('replies.keys')),
  );
  composer.setAttribute('aria-autocomplete', 'list');
  composer.setAttribute('aria-haspopup', 'listbox');
  composer.setAttribute('aria-controls', LISTBOX_ID);
  composer.setAttribute('aria-expanded', 'false');

  composer.addEventListener('input', update);
  composer.addEventListener('click', update);
  composer.addEventListener('keyup', (e) => {
    if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) update();
  });
  composer.addEventListener('blur', close);
  state.subscribe('opened', () => {
    dismissed = -1;
    close();
  });

  function load() {
    loadError = '';
    loading = api('GET', '/api/v1/quick-replies').then(
      (list) => {
        replies = Array.isArray(list) ? list : [];
        if (!popup.hidden) render();
      },
      (err) => {
        loadError = explain(err);
        loading = null; // the next `/` tries again
        if (!popup.hidden) render();
      },
    );
  }
  load();

  /** Opens, filters or closes the menu after the text or the caret moved. */
  function update() {
    const found = slashToken(composer);
    if (!found) {
      dismissed = -1;
      return close();
    }
    if (found.at === dismissed) return;
    if (found.at !== slash) active = 0;
    slash = found.at;
    if (query !== found.query.toLowerCase()) active = 0;
    query = found.query.toLowerCase();
    if (!replies && !loading) load();
    render();
  }

  /** Matching replies: codes that begin with what was typed first, then the rest. */
  function matches() {
    const hits = (replies || []).filter((r) => r.code.toLowerCase().includes(query) || String(r.title).toLowerCase().includes(query));
    const starts = (/** @type {any} */ r) => r.code.toLowerCase().startsWith(query);
    return [...hits.filter(starts), ...hits.filter((r) => !starts(r))];
  }

  function render() {
    popup.hidden = false;
    composer.setAttribute('aria-expanded', 'true');
    shown = replies ? matches() : [];
    active = Math.max(0, Math.min(active, shown.length - 1));
    show(
      listbox,
      shown.map((r, i) =>
        h(
          'li',
          {
            role: 'option',
            id: `quick-reply-${r.id}`,
            class: 'reply-option',
            'data-code': r.code,
            'data-scope': r.scope,
            'aria-selected': String(i === active),
            onclick: () => insert(r),
            onmousemove: () => {
              if (active !== i) {
                active = i;
                mark();
              }
            },
          },
          h('span', { class: 'reply-code' }, `/${r.code}`),
          h('span', { class: 'reply-title' }, r.title),
          h('span', { class: `reply-scope ${r.scope}` }, t(`replies.scope_${r.scope}`)),
          h('span', { class: 'reply-preview' }, preview(r)),
        ),
      ),
    );
    if (!replies) show(message, loadError || t('loading'));
    else if (!replies.length) show(message, t('replies.none'), ' ', managePage(t('replies.none_link')));
    else if (!shown.length) show(message, t('replies.no_match', { query: `/${query}` }));
    else show(message);
    message.hidden = !message.textContent;
    mark();
  }

  /** A link to the page where replies are written. @param {string} text */
  function managePage(text) {
    return h(
      'a',
      {
        href: REPLIES_PATH,
        class: 'reply-manage',
        onclick: (/** @type {MouseEvent} */ e) => {
          e.preventDefault();
          go(REPLIES_PATH);
        },
      },
      text,
    );
  }

  /** Marks the chosen option, for the eye and for the screen reader. */
  function mark() {
    [...listbox.children].forEach((li, i) => li.setAttribute('aria-selected', String(i === active)));
    const li = listbox.children[active];
    if (li) {
      composer.setAttribute('aria-activedescendant', li.id);
      li.scrollIntoView({ block: 'nearest' });
    } else {
      composer.removeAttribute('aria-activedescendant');
    }
  }

  function close() {
    popup.hidden = true;
    slash = -1;
    composer.setAttribute('aria-expanded', 'false');
    composer.removeAttribute('aria-activedescendant');
  }

  /**
   * The composer's keys while the menu is open; true when the menu took the key.
   * @param {KeyboardEvent} e
   */
  function keydown(e) {
    if (popup.hidden || e.isComposing) return false;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (shown.length) {
        active = (active + (e.key === 'ArrowDown' ? 1 : -1) + shown.length) % shown.length;
        mark();
      }
      return true;
    }
    // Shift+Enter still breaks the line (and so closes the menu).
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      if (shown[active]) insert(shown[active]);
      else dismiss();
      return true;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      dismiss();
      return true;
    }
    return false;
  }

  /** Closed by the operator: `/…` stays as typed, as text. */
  function dismiss() {
    dismissed = slash;
    close();
  }

  /** Fills the reply for the open conversation and puts it in place of `/…`. @param {any} r */
  async function insert(r) {
    const id = state.openId;
    if (inserting || !id) return;
    const typed = composer.value;
    const from = slash;
    const to = composer.selectionEnd;
    inserting = true;
    close();
    try {
      const filled = await api('POST', `/api/v1/conversations/${id}/quick-replies/${r.id}`, {});
      if (state.openId !== id) return;
      // Typed on meanwhile: the reply goes where the cursor is now.
      const [start, end] = composer.value === typed && from >= 0 ? [from, to] : [composer.selectionStart, composer.selectionEnd];
      composer.focus();
      composer.setRangeText(filled.text, start, end, 'end');
      const unfilled = Array.isArray(filled.unfilled) ? filled.unfilled : [];
      if (unfilled.length) {
        // The first placeholder left as written is selected: typing replaces it.
        const m = new RegExp(`\\{\\s*${unfilled[0]}\\s*\\}`).exec(filled.text);
        if (m) composer.setSelectionRange(start + m.index, start + m.index + m[0].length);
        state.notify('notice', t('replies.unfilled', { names: unfilled.map((/** @type {string} */ n) => t(`replies.placeholder.${n}`)).join(', ') }));
        noticeOurs = true;
      } else if (noticeOurs) {
        state.notify('notice', '');
        noticeOurs = false;
      }
    } catch (err) {
      if (state.openId !== id) return;
      const gone = err instanceof ApiError && err.code === 'not_found';
      if (gone) {
        replies = null;
        load();
      }
      state.notify('notice', gone ? t('replies.gone') : explain(err));
      noticeOurs = true;
    } finally {
      inserting = false;
    }
  }

  /** The composer's button: starts a `/` where the cursor is, as typing one would. */
  function start() {
    composer.focus();
    const at = composer.selectionStart;
    const space = at > 0 && !/\s/.test(composer.value[at - 1]) ? ' ' : '';
    composer.setRangeText(`${space}/`, at, composer.selectionEnd, 'end');
    dismissed = -1;
    update();
  }

  /** The message was sent: a notice about its placeholders is no longer news. */
  function sent() {
    close();
    if (noticeOurs) state.notify('notice', '');
    noticeOurs = false;
  }

  return { popup, keydown, start, sent };
}
