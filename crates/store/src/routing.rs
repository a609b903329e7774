//! What routing needs of operators: their chat limits and current loads,
//! and which assignments their operators have not attended to yet.

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::{ConversationId, EmployeeId};

/// An operator's current load, for routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    pub operator: EmployeeId,
    pub active: u32,
    pub limit: u32,
    pub last_assigned_at: Millis,
}

/// An assignment its operator has neither opened nor answered yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unattended {
    pub conversation: ConversationId,
    pub operator: EmployeeId,
    pub assigned_at: Millis,
}

#[async_trait]
pub trait RoutingStore: Send + Sync {
    async fn set_chat_limit(&self, id: EmployeeId, limit: u32) -> StoreResult<()>;
    async fn chat_limit(&self, id: EmployeeId) -> StoreResult<u32>;
    async fn loads(&self, operators: &[EmployeeId]) -> StoreResult<Vec<Load>>;
    /// The conversation went to `operator` at `at`: unattended until they
    /// open or answer it (replaces what was noted of an earlier assignment).
    async fn note_assigned(&self, id: ConversationId, operator: EmployeeId, at: Millis) -> StoreResult<()>;
    /// `operator` opened or answered the conversation; nothing happens when
    /// it is not (or no longer) assigned to them.
    async fn note_attended(&self, id: ConversationId, operator: EmployeeId, at: Millis) -> StoreResult<()>;
    /// Assignments made at or before `before` and not attended to, oldest
    /// first, at most `limit`.
    async fn unattended(&self, before: Millis, limit: u32) -> StoreResult<Vec<Unattended>>;
    /// Forgets `u`, unless the conversation was assigned again since.
    async fn forget_assignment(&self, u: &Unattended) -> StoreResult<()>;
}
