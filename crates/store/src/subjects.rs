//! Data subjects' consents and requests, and what retention would destroy.

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::{EmployeeId, VisitorId};
use ostrog_domain::privacy::{RequestKind, RequestStatus};

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
