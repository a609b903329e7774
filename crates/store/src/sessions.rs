//! Employees' sessions, found by the hash of their token.

use crate::{SessionRecord, StoreResult};
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::{EmployeeId, SessionId};
use ostrog_domain::session::Stage;

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, s: &SessionRecord) -> StoreResult<()>;
    async fn session_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>>;
    /// `NotFound` when the session is gone (signed out or expired).
    async fn touch_session(&self, id: SessionId, at: Millis) -> StoreResult<()>;
    async fn set_session_stage(&self, id: SessionId, stage: Stage, authenticated_at: Millis) -> StoreResult<()>;
    async fn sessions_of(&self, employee: EmployeeId) -> StoreResult<Vec<SessionRecord>>;
    /// Deletes one session of `employee`; false when there was none.
    async fn delete_session(&self, employee: EmployeeId, id: SessionId) -> StoreResult<bool>;
    async fn delete_sessions_of(&self, employee: EmployeeId) -> StoreResult<u64>;
    async fn delete_expired_sessions(&self, idle_before: Millis, created_before: Millis) -> StoreResult<u64>;
}
