//! Messages: appended in batches with sequence numbers, read back by page, id or key.

use crate::{Appended, StoreResult, Term};
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::{ConversationId, MessageId, VisitorId};
use ostrog_domain::message::{Author, Body};

/// A message body as stored: its kind in the clear (statistics and the
/// history's shape need it), its content sealed by the data subject's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBody {
    /// `text`, `note`, `file` or `event`.
    pub kind: String,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Sealed(Vec<u8>),
    /// Written before bodies were sealed (schema 0003 and older).
    Legacy(String),
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

#[async_trait]
pub trait MessageStore: Send + Sync {
    /// How many calls of `append_messages` are worth running at once: one
    /// where the database admits one writer (SQLite), more where batches
    /// over different conversations are written in parallel.
    fn parallel_batches(&self) -> usize {
        1
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
    /// For each `(conversation, after)`, the conversation's messages with
    /// `seq > after` (in no particular order): the ends of a page of
    /// conversations, read in one query for their previews.
    async fn messages_after_each(&self, ends: &[(ConversationId, i64)]) -> StoreResult<Vec<StoredMessage>>;
    /// The conversation's messages of kind `event` or `file` with `seq >
    /// after`, in order, at most `limit`: the shape of its history (its
    /// rounds and the files exchanged) without reading every text.
    async fn events_and_files(
        &self,
        conversation: ConversationId,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>>;
    /// Every text and event (not notes) of the conversations that were
    /// active during `[from, to)` (created before `to`, last changed at or
    /// after `from`): a superset of those with a message in the period,
    /// by conversation and sequence.
    async fn activity(&self, from: Millis, to: Millis) -> StoreResult<Vec<ChannelMessage<SealedBody>>>;
}
