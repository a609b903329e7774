//! Conversations and their compare-and-set state changes.

use crate::{MessageRecord, NewMessage, NewStoredMessage, SealedBody, StoreResult};
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ConversationId, EmployeeId, VisitorId};
use ostrog_domain::message::Body;

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
    /// Only conversations carrying this label.
    pub label: Option<ostrog_domain::ids::LabelId>,
    /// Only conversations where every one of these blind-index terms (the
    /// words searched for) is in a text or note, or in the contact's name.
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

#[async_trait]
pub trait ConversationStore: Send + Sync {
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
}
