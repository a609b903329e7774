//! Upgrading installations from before bodies and user ids were sealed.

use crate::{ChannelMessage, External, SealedBody, StoreResult, StoredMessage, VisitorRecord};
use async_trait::async_trait;
use ostrog_domain::ids::{ConversationId, VisitorId};

#[async_trait]
pub trait LegacySealStore: Send + Sync {
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
}
