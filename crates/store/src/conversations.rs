//! Storage of widgets, visitors, conversations and messages.

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ChannelId, ConversationId, EmployeeId, FileId, MessageId, VisitorId, WidgetId};
use ostrog_domain::message::{Author, Body};
use ostrog_domain::privacy::{RequestKind, RequestStatus};
use ostrog_domain::widget::WidgetSettings;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetRecord {
    pub id: WidgetId,
    pub settings: WidgetSettings,
    /// The identity-signing secret, encrypted by the server's key.
    pub secret: Vec<u8>,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorRecord {
    pub id: VisitorId,
    pub source: Source,
    /// The company's user id, when the visitor came with a signed identity
    /// (or the messenger's user id, for a contact of a channel): its blind
    /// index (for lookups) and the id sealed by the visitor's key.
    pub external: Option<External>,
    pub created_at: Millis,
}

/// Where a visitor writes from: a website widget, or a messenger channel
/// (the visitor is then the channel's contact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Widget(WidgetId),
    Channel(ChannelId),
}

impl Source {
    /// `{"widget_id": …}` or `{"channel_id": …}`, for exports and the audit log.
    pub fn to_json(self) -> serde_json::Value {
        match self {
            Source::Widget(w) => serde_json::json!({"widget_id": w}),
            Source::Channel(c) => serde_json::json!({"channel_id": c}),
        }
    }
}

/// A personal identifier kept only as a keyed blind index (HMAC, for
/// equality lookups) and a ciphertext: the store never sees it in the clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    pub index: String,
    pub sealed: Vec<u8>,
}

/// A message body as stored: its kind in the clear (statistics and the
/// history's shape need it), its content sealed by the data subject's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBody {
    /// `text`, `note`, `file` or `event`.
    pub kind: String,
    pub content: Content,
}

/// A blind-index term of a word some text or note of the conversation holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Term {
    pub conversation: ConversationId,
    pub term: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Sealed(Vec<u8>),
    /// Written before bodies were sealed (schema 0003 and older).
    Legacy(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRecord {
    pub id: ConversationId,
    pub visitor_id: VisitorId,
    pub channel: String,
    pub state: State,
    /// The operator it is assigned to, or was when it was closed.
    pub operator: Option<EmployeeId>,
    pub last_seq: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage<B = Body> {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    /// `Author::client_key` of the sender's own id, or another key that
    /// makes the message happen once; `None` when no retry can repeat it.
    pub client_key: Option<String>,
    pub author: Author,
    pub body: B,
    pub at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord<B = Body> {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub seq: i64,
    pub client_key: Option<String>,
    pub author: Author,
    pub body: B,
    pub at: Millis,
}

impl<B> MessageRecord<B> {
    /// The same message with its body mapped (sealed or opened).
    pub fn map<C>(self, f: impl FnOnce(B) -> C) -> MessageRecord<C> {
        let MessageRecord { id, conversation_id, seq, client_key, author, body, at } = self;
        MessageRecord { id, conversation_id, seq, client_key, author, body: f(body), at }
    }
}

impl<B> NewMessage<B> {
    pub fn map<C>(self, f: impl FnOnce(B) -> C) -> NewMessage<C> {
        let NewMessage { id, conversation_id, client_key, author, body, at } = self;
        NewMessage { id, conversation_id, client_key, author, body: f(body), at }
    }
}

/// What storing a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended<B = Body> {
    /// Stored now; with the conversation's state and operator right after.
    Stored { message: MessageRecord<B>, state: State, operator: Option<EmployeeId> },
    /// Already stored under the same key (a resend): nothing changed.
    Duplicate(MessageRecord<B>),
}

impl<B> Appended<B> {
    pub fn map<C>(self, f: impl FnOnce(B) -> C) -> Appended<C> {
        match self {
            Appended::Stored { message, state, operator } => {
                Appended::Stored { message: message.map(f), state, operator }
            }
            Appended::Duplicate(message) => Appended::Duplicate(message.map(f)),
        }
    }

    pub fn message(&self) -> &MessageRecord<B> {
        match self {
            Appended::Stored { message, .. } | Appended::Duplicate(message) => message,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    /// `new`, `queued`, `assigned` or `closed`.
    pub state: Option<&'static str>,
    /// Only conversations whose operator is this one.
    pub operator: Option<EmployeeId>,
    /// Only conversations with texts or notes holding every one of these
    /// blind-index terms (the words searched for).
    pub terms: Vec<Vec<u8>>,
    /// Keyset paging: the conversations after this (updated_at, id) in
    /// the listing's order.
    pub before: Option<(Millis, ConversationId)>,
    /// Oldest activity first (the queue), instead of newest first.
    pub oldest_first: bool,
    pub limit: u32,
}

/// A compare-and-set move of one conversation, with the event recording it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change<B = Body> {
    pub id: ConversationId,
    pub from: State,
    pub to: State,
    pub event: NewMessage<B>,
}

/// An operator's current load, for routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    pub operator: EmployeeId,
    pub active: u32,
    pub limit: u32,
    pub last_assigned_at: Millis,
}

/// A message or event with its conversation's channel, for statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelMessage<B = Body> {
    pub channel: String,
    /// Whose data it is: the key that opens the body is theirs.
    pub visitor_id: VisitorId,
    pub message: MessageRecord<B>,
}

/// The message types as the store holds them: bodies sealed.
pub type StoredMessage = MessageRecord<SealedBody>;
pub type NewStoredMessage = NewMessage<SealedBody>;

/// What erasing a data subject removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    pub conversation: Option<ConversationId>,
    pub messages: u64,
    /// Files whose stored bytes the caller deletes from the data folder.
    pub files: Vec<FileId>,
}

#[async_trait]
pub trait ConversationStore: Send + Sync {
    async fn create_widget(&self, w: &WidgetRecord) -> StoreResult<()>;
    /// A widget that exists and is not deleted.
    async fn widget(&self, id: WidgetId) -> StoreResult<Option<WidgetRecord>>;
    async fn list_widgets(&self) -> StoreResult<Vec<WidgetRecord>>;
    /// `secret: None` keeps the current secret.
    async fn update_widget(&self, id: WidgetId, settings: &WidgetSettings, secret: Option<&[u8]>) -> StoreResult<()>;
    async fn delete_widget(&self, id: WidgetId, at: Millis) -> StoreResult<()>;

    /// Creates the visitor with its first token (a channel's contact has
    /// none: it never connects to the widget); `Conflict("visitor")` when
    /// the widget or channel already has a visitor with that external id.
    async fn create_visitor(&self, v: &VisitorRecord, token_hash: Option<&str>) -> StoreResult<()>;
    async fn add_visitor_token(&self, visitor: VisitorId, token_hash: &str, at: Millis) -> StoreResult<()>;
    async fn visitor_by_token(&self, widget: WidgetId, token_hash: &str) -> StoreResult<Option<VisitorRecord>>;
    async fn visitor_by_external_index(&self, source: Source, index: &str) -> StoreResult<Option<VisitorRecord>>;
    async fn visitor(&self, id: VisitorId) -> StoreResult<Option<VisitorRecord>>;
    /// Deletes everything stored about the visitor — tokens, conversation,
    /// messages, search terms, file rows — and keeps only a tombstone of
    /// the visitor row (id, widget, times), in one transaction.
    /// `NotFound` when there is no such visitor or it is already erased.
    async fn erase_visitor(&self, id: VisitorId, at: Millis) -> StoreResult<Erased>;

    /// `Conflict("conversation")` when the visitor already has one.
    async fn create_conversation(&self, c: &ConversationRecord) -> StoreResult<()>;
    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<ConversationRecord>>;
    async fn conversation_of_visitor(&self, visitor: VisitorId) -> StoreResult<Option<ConversationRecord>>;
    /// Newest activity first, unless `oldest_first`.
    async fn list_conversations(&self, filter: &ConversationFilter) -> StoreResult<Vec<ConversationRecord>>;
    /// Applies each change in one transaction, in order: moves the
    /// conversation from `from` to `to` and appends the change's event (its
    /// sequence number is assigned here). An entry is `None` when the
    /// conversation was not in `from` (someone else changed it first).
    /// Closing keeps the operator; queueing clears it. An event whose
    /// `client_key` is already stored changes nothing: `Duplicate`.
    async fn change_conversations(
        &self,
        changes: &[Change<SealedBody>],
    ) -> StoreResult<Vec<Option<Appended<SealedBody>>>>;

    /// `change_conversations` for one change.
    async fn change_conversation(
        &self,
        id: ConversationId,
        from: State,
        to: State,
        event: &NewStoredMessage,
    ) -> StoreResult<Option<Appended<SealedBody>>> {
        let change = Change { id, from, to, event: event.clone() };
        Ok(self.change_conversations(std::slice::from_ref(&change)).await?.into_iter().next().flatten())
    }

    /// Stores the batch in one transaction, each message with the next
    /// sequence number of its conversation, in the order given. A text or
    /// file from an employee to a channel's contact is also queued for
    /// delivery (`ChannelStore`), in the same transaction. A message
    /// whose `client_key` is already stored (or earlier in the batch) is
    /// not stored again: its entry is `Duplicate` of the stored one.
    /// An entry is `NotFound` when its conversation does not exist.
    /// `terms` make the batch's conversations findable (as `add_terms`),
    /// written in the same transaction: a message acknowledged is a message
    /// searchable, whatever happens to the process after the commit.
    async fn append_messages(
        &self,
        batch: &[NewStoredMessage],
        terms: &[Term],
    ) -> StoreResult<Vec<StoreResult<Appended<SealedBody>>>>;
    /// The message stored under this `client_key`, if any.
    async fn message_by_client_key(&self, key: &str) -> StoreResult<Option<StoredMessage>>;
    /// Messages with `after < seq < before`, in order, at most `limit`;
    /// from the newest backwards when only `before` is given.
    async fn messages(
        &self,
        conversation: ConversationId,
        after: i64,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>>;
    /// The messages with these ids (in no particular order); ids not
    /// stored are left out. Other nodes read what the bus announced.
    async fn messages_by_id(&self, ids: &[MessageId]) -> StoreResult<Vec<StoredMessage>>;
    /// Every text and event (not notes) of the conversations that were
    /// active during `[from, to)` (created before `to`, last changed at or
    /// after `from`): a superset of those with a message in the period,
    /// by conversation and sequence.
    async fn activity(&self, from: Millis, to: Millis) -> StoreResult<Vec<ChannelMessage<SealedBody>>>;
    /// Makes the conversations findable by these terms (for
    /// `ConversationFilter::terms`); terms of conversations that no longer
    /// exist (erased meanwhile) are skipped.
    async fn add_terms(&self, terms: &[Term]) -> StoreResult<()>;

    // Upgrading installations from before bodies were sealed.
    /// Messages still stored in the clear (`Content::Legacy`), in key order
    /// after `(conversation, seq)`, at most `limit`.
    async fn legacy_messages(
        &self,
        after: Option<(ConversationId, i64)>,
        limit: u32,
    ) -> StoreResult<Vec<ChannelMessage<SealedBody>>>;
    /// Replaces clear bodies by these sealed ones, in one transaction; a row
    /// sealed meanwhile is left alone.
    async fn reseal_messages(&self, sealed: &[StoredMessage]) -> StoreResult<()>;
    /// Visitors whose user id is still stored in the clear, with it.
    async fn legacy_visitors(&self, limit: u32) -> StoreResult<Vec<(VisitorRecord, String)>>;
    /// Replaces a visitor's clear user id by its index and sealed form;
    /// `Conflict("visitor")` when the index belongs to another visitor.
    async fn reseal_visitor(&self, id: VisitorId, external: &External) -> StoreResult<()>;

    async fn set_chat_limit(&self, id: EmployeeId, limit: u32) -> StoreResult<()>;
    async fn chat_limit(&self, id: EmployeeId) -> StoreResult<u32>;
    async fn loads(&self, operators: &[EmployeeId]) -> StoreResult<Vec<Load>>;
}

/// A stored, scanned file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub id: FileId,
    pub conversation_id: ConversationId,
    pub uploader: Author,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    /// The file's key, sealed by the key of the conversation's visitor.
    pub sealed_key: Vec<u8>,
    pub created_at: Millis,
}

#[async_trait]
pub trait FileStore: Send + Sync {
    async fn create_file(&self, f: &FileRecord) -> StoreResult<()>;
    async fn file(&self, id: FileId) -> StoreResult<Option<FileRecord>>;
    async fn files_of(&self, conversation: ConversationId) -> StoreResult<Vec<FileRecord>>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub id: uuid::Uuid,
    pub visitor_id: VisitorId,
    pub version: u32,
    pub accepted: bool,
    pub at: Millis,
    /// `widget` or the channel.
    pub source: String,
    /// The subject's IP address, sealed by their data key.
    pub ip_sealed: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectRequest {
    pub id: uuid::Uuid,
    pub visitor_id: VisitorId,
    pub kind: RequestKind,
    pub basis: String,
    pub status: RequestStatus,
    pub received_at: Millis,
    pub due_at: Millis,
    pub closed_at: Option<Millis>,
    pub closed_by: Option<EmployeeId>,
    pub note: String,
}

/// Why retention would destroy a visitor's data now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Their conversation closed before the retention period.
    ConversationClosed,
    /// They never wrote, and came before the period.
    Silent,
}

#[async_trait]
pub trait SubjectStore: Send + Sync {
    async fn add_consent(&self, c: &ConsentRecord) -> StoreResult<()>;
    /// The visitor's consents, oldest first.
    async fn consents(&self, visitor: VisitorId) -> StoreResult<Vec<ConsentRecord>>;
    async fn create_request(&self, r: &SubjectRequest) -> StoreResult<()>;
    async fn request(&self, id: uuid::Uuid) -> StoreResult<Option<SubjectRequest>>;
    /// Open ones first by deadline, then the latest closed ones; only the
    /// visitor's when given; at most `limit`.
    async fn requests(
        &self,
        visitor: Option<VisitorId>,
        open_only: bool,
        limit: u32,
    ) -> StoreResult<Vec<SubjectRequest>>;
    /// Closes an open request; false when it was not open.
    async fn close_request(
        &self,
        id: uuid::Uuid,
        status: RequestStatus,
        at: Millis,
        by: Option<EmployeeId>,
    ) -> StoreResult<bool>;
    /// Visitors (not erased) whose data retention would destroy: whose
    /// conversation closed before `closed_before`, or who have none and
    /// came before `silent_before`; oldest first, at most `limit`.
    async fn retention_due(
        &self,
        closed_before: Millis,
        silent_before: Millis,
        limit: u32,
    ) -> StoreResult<Vec<(VisitorId, Due)>>;
}
