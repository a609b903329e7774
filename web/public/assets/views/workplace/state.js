// @ts-check
/** What the workplace knows, in one object its components share, and the
 * topics they tell each other about. A component changes the state, then
 * notifies; the components that show that part of it redraw. Listeners run
 * in the order they subscribed, so `index.js` creates the components in the
 * order their work must happen (the socket subscribes to a conversation
 * before the pane asks for its history). Nothing here touches the page or
 * the network. */

/**
 * What the components tell each other (and what comes with it):
 * - `send` (frame): a frame for the server; the socket sends it, or keeps it while offline
 * - `connected`: the socket (re)connected; the list catches up on what happened meanwhile
 * - `missing` (id): a frame named a conversation the list does not have yet
 * - `arrived` (id): a conversation for this operator to answer; the list alerts them
 * - `list`: conversations, their order or their unread counts changed
 * - `leaving`: the open conversation is about to change (the composer keeps its draft)
 * - `opened`: another conversation is open
 * - `header`: the open conversation's state or operator changed
 * - `message` (m): a message of the open conversation, new to its history
 * - `typing`, `read`: the client of the open conversation types, or has read up to `readUpTo`
 * - `delivery` (d): where a reply of the open conversation stands on its way to a messenger
 * - `pending`: the sends waiting for the server's acknowledgement changed
 * - `failed` ({client_id, reason}): the server refused a send; it waits for "Resend"
 * - `notice` (text): a refusal or a progress line, shown above the composer
 * - `colleague` (frame): another employee joined, is in, types in or left a conversation
 * - `lost` (id): a conversation of this operator went to someone else (taken over, requeued)
 * - `confirmed` (text): something the employee did was done (a transfer)
 * - `selection`: bulk selection started, ended, or its conversations changed
 * @typedef {'send' | 'connected' | 'missing' | 'arrived' | 'list' | 'leaving' | 'opened' | 'header'
 *   | 'message' | 'typing' | 'read' | 'delivery' | 'pending' | 'failed' | 'notice'
 *   | 'colleague' | 'lost' | 'confirmed' | 'selection'} Topic
 */

/**
 * @param {any} me the signed-in employee (`me.employee.id`, `me.employee.name`)
 * @param {(p: string) => boolean} holds
 */
export function workplaceState(me, holds) {
  /** @type {Map<Topic, ((detail: any) => void)[]>} */
  const listeners = new Map();
  const state = {
    me,
    holds,
    seesAll: holds('conversations.all'),
    /** conversations by id */
    conversations: /** @type {Map<string, any>} */ (new Map()),
    unread: /** @type {Map<string, number>} */ (new Map()),
    /** contacts by visitor id: `{name, number}` and, once opened, their details */
    contacts: /** @type {Map<string, any>} */ (new Map()),
    /** the label catalogue by id: `{id, name, colour}` */
    labels: /** @type {Map<string, any>} */ (new Map()),
    /** the labels of each listed conversation, by conversation id */
    conversationLabels: /** @type {Map<string, string[]>} */ (new Map()),
    /** the teams by id: `{id, name, …}` */
    teams: /** @type {Map<string, any>} */ (new Map()),
    /** where routing sent each listed conversation that has a team or a high priority: `{team_id, priority}` */
    routes: /** @type {Map<string, {team_id: string | null, priority: string}>} */ (new Map()),
    /** whether the list shows checkboxes for bulk actions, and which are ticked */
    selecting: false,
    selected: /** @type {Set<string>} */ (new Set()),
    /** the list shows only conversations with this label, when set */
    labelFilter: /** @type {string | null} */ (null),
    /** the last text of each conversation, masked, one line (kept fresh by the socket's messages) */
    previews: /** @type {Map<string, string>} */ (new Map()),
    /** names of colleagues, for "assigned to …" lines */
    colleagues: /** @type {Map<string, string>} */ (new Map([[me.employee.id, me.employee.name]])),
    /** how far the client has read, by conversation */
    readUpTo: /** @type {Map<string, number>} */ (new Map()),
    /** drafts by conversation */
    drafts: /** @type {Map<string, string>} */ (new Map()),
    /** unacknowledged sends by client id */
    pending: /** @type {Map<string, {conversation_id: string, text: string, note: boolean}>} */ (new Map()),
    /** which list is shown: `mine`, `queue` or `all` */
    tab: 'mine',
    openId: /** @type {string | null} */ (null),
    /** messages of the open conversation by seq */
    history: /** @type {Map<number, any>} */ (new Map()),
    /** where replies to a messenger stand, by seq (open conversation) */
    deliveries: /** @type {Map<number, any>} */ (new Map()),
    /** the oldest seq of the open conversation loaded so far */
    oldest: Infinity,
    noteMode: false,
    /** conversations this employee is handing over: losing them is no news */
    handingOver: /** @type {Set<string>} */ (new Set()),
    /** The conversation a page of history is on its way for: scrolling asks once. */
    loadingFor: /** @type {string | null} */ (null),

    /**
     * @param {Topic} topic
     * @param {(detail: any) => void} listener
     */
    subscribe(topic, listener) {
      listeners.set(topic, [...(listeners.get(topic) || []), listener]);
    },

    /**
     * @param {Topic} topic
     * @param {any} [detail]
     */
    notify(topic, detail) {
      for (const listener of listeners.get(topic) || []) listener(detail);
    },

    /** A frame for the server. @param {any} frame */
    send(frame) {
      state.notify('send', frame);
    },

    /** Opens conversation `id` in the pane, from its latest page. @param {string} id */
    open(id) {
      state.notify('leaving');
      state.openId = id;
      state.history = new Map();
      state.deliveries = new Map();
      state.oldest = Infinity;
      state.unread.delete(id);
      state.notify('opened');
    },
  };
  return state;
}

/** @typedef {ReturnType<typeof workplaceState>} State */
