// @ts-check
/** The operator workplace: conversation lists on the left, the open
 * conversation on the right, live through the operator WebSocket. What the
 * operator types is kept per conversation and survives a dropped connection:
 * a message leaves the composer only when the server acknowledged it.
 *
 * This module only lays out the screen and composes its components; each
 * gets the shared state (`state.js`) and the part of the page it owns. */

import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';
import { workplaceState } from './state.js';
import { workplaceSocket } from './socket.js';
import { conversationList } from './list.js';
import { conversationPane } from './pane.js';
import { conversationComposer } from './composer.js';
import { REPLIES_PATH } from './replies.js';
import { go } from '../../nav.js';

/**
 * @param {HTMLElement} main
 * @param {any} me
 * @param {(p: string) => boolean} holds
 * @returns {() => void} what to do when the screen is left
 */
export function workplaceView(main, me, holds) {
  const state = workplaceState(me, holds);
  const bar = h('div', { class: 'bar' });
  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  const list = h('ul', { class: 'conversations', id: 'conversation-list', 'aria-label': t('workplace.conversations') });
  const pane = h('section', { class: 'conversation', 'aria-live': 'off' }, h('p', { class: 'empty' }, t('workplace.pick')));
  const pending = h('ul', { class: 'pending' });
  const form = h('form', { class: 'composer' });

  // Where the operator writes their quick replies (and managers the shared ones).
  const replies = h(
    'a',
    { href: REPLIES_PATH, id: 'quick-replies-link', class: 'side-link', onclick: (/** @type {MouseEvent} */ e) => { e.preventDefault(); go(REPLIES_PATH); } },
    t('replies.manage_link'),
  );

  show(main, h('div', { class: 'workplace' }, h('aside', { class: 'side' }, bar, tabs, list, replies), pane));

  // Listeners run in the order they subscribed: when a conversation opens, the
  // socket subscribes to it, the list marks it, the pane asks for its latest
  // page, and the composer shows its draft and takes the focus.
  const close = workplaceSocket(state, bar);
  const leaveList = conversationList(state, tabs, list);
  const leavePane = conversationPane(state, pane, { pending, form });
  conversationComposer(state, form, pending);

  if ('Notification' in window && Notification.permission === 'default') {
    main.addEventListener('click', () => Notification.requestPermission(), { once: true });
  }

  return () => {
    leavePane();
    leaveList();
    close();
  };
}
