//! Visitors (of a widget, or a channel's contacts), their tokens, and their erasure.

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::{ChannelId, ConversationId, FileId, VisitorId, WidgetId};

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

/// What erasing a data subject removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    pub conversation: Option<ConversationId>,
    pub messages: u64,
    /// Files whose stored bytes the caller deletes from the data folder.
    pub files: Vec<FileId>,
}

#[async_trait]
pub trait VisitorStore: Send + Sync {
    /// Creates the visitor with its first token (a channel's contact has
    /// none: it never connects to the widget); `Conflict("visitor")` when
    /// the widget or channel already has a visitor with that external id.
    async fn create_visitor(&self, v: &VisitorRecord, token_hash: Option<&str>) -> StoreResult<()>;
    async fn add_visitor_token(&self, visitor: VisitorId, token_hash: &str, at: Millis) -> StoreResult<()>;
    async fn visitor_by_token(&self, widget: WidgetId, token_hash: &str) -> StoreResult<Option<VisitorRecord>>;
    async fn visitor_by_external_index(&self, source: Source, index: &str) -> StoreResult<Option<VisitorRecord>>;
    async fn visitor(&self, id: VisitorId) -> StoreResult<Option<VisitorRecord>>;
    /// Deletes everything stored about the visitor — tokens, conversation,
    /// messages, search terms, file rows, contact — and keeps only a tombstone of
    /// the visitor row (id, widget, times), in one transaction.
    /// `NotFound` when there is no such visitor or it is already erased.
    async fn erase_visitor(&self, id: VisitorId, at: Millis) -> StoreResult<Erased>;
}
