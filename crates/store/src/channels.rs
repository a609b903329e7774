//! Storage of messenger channels and of the outbox of replies to them.
//!
//! The outbox is filled by `ConversationStore::append_messages` itself, in
//! the transaction that stores a reply: a reply is never stored without
//! its delivery, whatever happens to the process right after.

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::channel::{ChannelSettings, DeliveryStatus};
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::{ChannelId, ConversationId, EmployeeId, MessageId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRecord {
    pub id: ChannelId,
    pub name: String,
    pub settings: ChannelSettings,
    /// `ChannelSecrets` as JSON, sealed by the server's key.
    pub secrets: Vec<u8>,
    pub secrets_changed_at: Millis,
    pub secrets_changed_by: Option<EmployeeId>,
    /// Telegram long polling: the next `update_id` to ask for.
    pub poll_offset: i64,
    pub created_at: Millis,
}

/// One reply on its way to a messenger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub seq: i64,
    pub channel_id: ChannelId,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: Millis,
    /// Why the last attempt failed, as shown to the operator.
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub done_at: Option<Millis>,
}

/// What one attempt to deliver did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Sent {
        at: Millis,
    },
    /// Failed for now; tried again at `next`.
    Retry {
        next: Millis,
        error: String,
    },
    /// Given up (permanent refusal, or out of time).
    Failed {
        at: Millis,
        error: String,
    },
}

#[async_trait]
pub trait ChannelStore: Send + Sync {
    async fn create_channel(&self, c: &ChannelRecord) -> StoreResult<()>;
    /// A channel that exists and is not disconnected.
    async fn channel(&self, id: ChannelId) -> StoreResult<Option<ChannelRecord>>;
    async fn list_channels(&self) -> StoreResult<Vec<ChannelRecord>>;
    /// Name and settings; the kind does not change (`NotFound` if gone).
    async fn update_channel(&self, id: ChannelId, name: &str, settings: &ChannelSettings) -> StoreResult<()>;
    async fn set_channel_secrets(
        &self,
        id: ChannelId,
        sealed: &[u8],
        at: Millis,
        by: Option<EmployeeId>,
    ) -> StoreResult<()>;
    /// Disconnects: the channel is gone for new traffic; its conversations
    /// and their history stay. Pending deliveries fail with `reason`.
    async fn delete_channel(&self, id: ChannelId, at: Millis, reason: &str) -> StoreResult<()>;
    /// Moves the polling offset forward (never back).
    async fn set_poll_offset(&self, id: ChannelId, offset: i64) -> StoreResult<()>;

    /// Pending deliveries due at `now`, only the first pending one of each
    /// conversation (replies reach a contact in order), oldest first.
    async fn due_deliveries(&self, now: Millis, limit: u32) -> StoreResult<Vec<Delivery>>;
    /// The deliveries of a conversation's replies, in order.
    async fn deliveries_of(&self, conversation: ConversationId) -> StoreResult<Vec<Delivery>>;
    async fn delivery(&self, message: MessageId) -> StoreResult<Option<Delivery>>;
    /// Given-up deliveries of a channel, latest first.
    async fn dead_letters(&self, channel: ChannelId, limit: u32) -> StoreResult<Vec<Delivery>>;
    /// Records an attempt on a pending delivery; false when it was not
    /// pending any more (disconnected meanwhile).
    async fn record_attempt(&self, message: MessageId, attempt: &Attempt) -> StoreResult<bool>;
    /// Puts a failed delivery back in the queue, due at `at`; false when it
    /// was not failed.
    async fn requeue_delivery(&self, message: MessageId, at: Millis) -> StoreResult<bool>;
}
