//! Quick replies and the record of their uses, for the statistics.

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::{EmployeeId, QuickReplyId};
use ostrog_domain::quick_reply::{Bodies, Scope};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickReplyRecord {
    pub id: QuickReplyId,
    pub scope: Scope,
    /// Unique within its scope among the replies not deleted.
    pub code: String,
    pub title: String,
    pub bodies: Bodies,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// How often a reply was used in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickReplyUsage {
    pub id: QuickReplyId,
    pub scope: Scope,
    pub code: String,
    pub title: String,
    /// Whether the reply was deleted since (its uses still count).
    pub deleted: bool,
    pub uses: i64,
}

#[async_trait]
pub trait QuickReplyStore: Send + Sync {
    /// `Conflict("code")` when the scope has a reply of that code.
    async fn create_quick_reply(&self, r: &QuickReplyRecord) -> StoreResult<()>;
    /// A reply that is not deleted.
    async fn quick_reply(&self, id: QuickReplyId) -> StoreResult<Option<QuickReplyRecord>>;
    /// The shared replies and `employee`'s own, by code.
    async fn quick_replies_for(&self, employee: EmployeeId) -> StoreResult<Vec<QuickReplyRecord>>;
    /// Replaces code, title, bodies and `updated_at` (not the scope).
    /// `NotFound` for a deleted reply, `Conflict("code")` as on creation.
    async fn update_quick_reply(&self, r: &QuickReplyRecord) -> StoreResult<()>;
    /// Deleted replies keep their row, so that past statistics still name them.
    async fn delete_quick_reply(&self, id: QuickReplyId, at: Millis) -> StoreResult<()>;
    async fn record_quick_reply_use(&self, id: QuickReplyId, by: EmployeeId, at: Millis) -> StoreResult<()>;
    /// Uses in `[from, to)` of the shared replies and `viewer`'s own, most
    /// used first; only `by`'s uses when given.
    async fn quick_reply_usage(
        &self,
        from: Millis,
        to: Millis,
        viewer: EmployeeId,
        by: Option<EmployeeId>,
    ) -> StoreResult<Vec<QuickReplyUsage>>;
}
