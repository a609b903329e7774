// @ts-check
/** The types of what the server says: the WebSocket's server frames
 * (`ServerFrame` in crates/protocol/src/frames.rs, docs/protocol.md)
 * and the core objects of the REST answers (`Message`, `Conversation` in
 * crates/protocol/src/objects.rs). Both are published in the
 * OpenAPI document (`/api/openapi.json`, components); keep these in step
 * with it. Nothing here runs: it only types the pages for `tsc`. */

/**
 * @typedef {object} AuthorRef
 * @property {string | null} id none for the system
 * @property {'visitor' | 'employee' | 'system'} kind
 */

/**
 * @typedef {object} MaskedValue
 * @property {string} category `phone`, `email`, `card`, …
 * @property {number} index
 */

/**
 * @typedef {object} FileRef
 * @property {string} content_type
 * @property {string} file_id
 * @property {string} name
 * @property {number} size
 * @property {boolean} thumbnail
 */

/**
 * A message of a conversation.
 * @typedef {object} Message
 * @property {number} at ms since the Unix epoch
 * @property {AuthorRef} author
 * @property {string | null} client_id
 * @property {string} conversation_id
 * @property {{ name: string, [field: string]: unknown } | null} event
 * @property {FileRef | null} file
 * @property {string} id
 * @property {'text' | 'note' | 'file' | 'event'} kind
 * @property {MaskedValue[]} [personal_data]
 * @property {number} seq
 * @property {string | null} text
 */

/**
 * A conversation.
 * @typedef {object} Conversation
 * @property {string} channel
 * @property {number} created_at
 * @property {string} id
 * @property {number} last_seq
 * @property {string | null} operator_id
 * @property {'new' | 'queued' | 'assigned' | 'closed'} state
 * @property {number} updated_at
 * @property {string} visitor_id
 */

/** @typedef {{ type: 'ack', at: number, client_id: string, conversation_id: string, id: string, seq: number }} AckFrame */
/** @typedef {{ type: 'alert', details: Record<string, unknown>, kind: string }} AlertFrame */
/** @typedef {{ type: 'closed', conversation_id: string, rating_requested: boolean }} ClosedFrame */
/** @typedef {{ type: 'consent', accepted: boolean, version: number }} ConsentFrame */
/**
 * @typedef {{ type: 'colleague', activity: 'joined' | 'here' | 'typing' | 'left', conversation_id: string,
 *   employee_id: string }} ColleagueFrame
 */
/** @typedef {{ id: string, last_seq: number, operator_id: string | null, state: Conversation['state'] }} ConversationChange */
/** @typedef {{ type: 'conversation', conversation: ConversationChange }} ConversationFrame */
/**
 * @typedef {{ type: 'delivery', attempts: number, conversation_id: string, error: string | null,
 *   message_id: string, seq: number, status: 'pending' | 'sent' | 'failed' }} DeliveryFrame
 */
/** @typedef {{ type: 'error', client_id?: string, code: string, message: string }} ErrorFrame */
/** @typedef {{ type: 'message', message: Message }} MessageFrame */
/** @typedef {{ type: 'messages', conversation_id: string | null, items: Message[] }} MessagesFrame */
/** @typedef {{ type: 'pong' }} PongFrame */
/** @typedef {{ type: 'presence', employee_id: string, status: 'online' | 'away' | 'offline' }} PresenceFrame */
/** @typedef {{ type: 'rated', conversation_id: string, rating: number }} RatedFrame */
/** @typedef {{ type: 'read', conversation_id: string, seq: number }} ReadFrame */
/** @typedef {{ type: 'subscribed', conversation_id: string }} SubscribedFrame */
/** @typedef {{ type: 'typing', author: AuthorRef, conversation_id: string }} TypingFrame */
/** @typedef {{ version: number, text: string, required: boolean, given: boolean }} ConsentOffer */
/**
 * @typedef {{ type: 'welcome', consent: ConsentOffer | null,
 *   conversation: { id: string, last_seq: number, state: Conversation['state'] } | null,
 *   token: string, v: number, visitor_id: string, widget: { greeting: string, name: string } }} VisitorWelcomeFrame
 */
/** @typedef {{ type: 'welcome', employee_id: string, presence: 'online' | 'away' | 'offline', v: number }} OperatorWelcomeFrame */

/**
 * What a visitor's connection receives.
 * @typedef {VisitorWelcomeFrame | AckFrame | MessageFrame | MessagesFrame | TypingFrame | ReadFrame | ClosedFrame
 *   | RatedFrame | ConsentFrame | ErrorFrame | PongFrame} ToVisitor
 */

/**
 * What an employee's connection receives.
 * @typedef {OperatorWelcomeFrame | AckFrame | MessageFrame | MessagesFrame | TypingFrame | ReadFrame | ClosedFrame
 *   | RatedFrame | ConversationFrame | DeliveryFrame | PresenceFrame | AlertFrame | SubscribedFrame | ErrorFrame
 *   | PongFrame | ColleagueFrame} ToEmployee
 */

export {};
