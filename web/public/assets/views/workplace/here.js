// @ts-check
/** Who else is in the open conversation: when two employees have it open
 * (its operator and a supervisor watching, say), each sees the other, and
 * whether they are typing, so that they do not answer the client twice.
 * Joining, leaving and typing go to the server as `here`/`typing` frames;
 * a colleague who joins is answered with `here`. */

import { api } from '../../api.js';
import { h, show } from '../../dom.js';
import { t } from '../../i18n.js';

/** How long a colleague's typing shows without a new keystroke. */
const TYPING_MS = 4000;

/**
 * @param {import('./state.js').State} state
 * @returns {HTMLElement} the line to show above the messages
 */
export function colleaguesHere(state) {
  const line = h('p', { class: 'colleagues-here', id: 'colleagues-here', role: 'status', 'aria-live': 'polite' });
  /** who is here, and until when they count as typing */
  let here = /** @type {Map<string, number>} */ (new Map());

  state.subscribe('leaving', () => {
    if (state.openId) state.send({ type: 'here', conversation_id: state.openId, activity: 'left' });
    here = new Map();
    render();
  });
  state.subscribe('opened', () => {
    state.send({ type: 'here', conversation_id: state.openId, activity: 'joined' });
  });
  state.subscribe('colleague', (/** @type {any} */ f) => {
    if (f.conversation_id !== state.openId) return;
    if (f.activity === 'left') here.delete(f.employee_id);
    else here.set(f.employee_id, f.activity === 'typing' ? Date.now() + TYPING_MS : here.get(f.employee_id) || 0);
    if (f.activity === 'joined') state.send({ type: 'here', conversation_id: f.conversation_id, activity: 'here' });
    if (!state.colleagues.has(f.employee_id)) learnNames();
    render();
    if (f.activity === 'typing') window.setTimeout(render, TYPING_MS + 50);
  });

  /** A colleague who connected after the page loaded: their name. */
  function learnNames() {
    api('GET', '/api/v1/presence')
      .then((list) => {
        list.forEach((/** @type {any} */ p) => state.colleagues.set(p.employee_id, p.name));
        render();
      })
      .catch(() => {});
  }

  function render() {
    if (!here.size) return show(line);
    const now = Date.now();
    const names = [...here].map(([id, typingUntil]) => {
      const name = state.colleagues.get(id) || t('workplace.colleague');
      return typingUntil > now ? t('workplace.colleague_typing', { name }) : name;
    });
    show(line, t('workplace.also_here', { names: names.join(', ') }));
  }

  return line;
}
