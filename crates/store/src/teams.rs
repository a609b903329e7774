//! Teams, their members, and what routing decided for each conversation:
//! its team, its priority and when it entered the queue.

use crate::{ConversationRecord, StoreResult};
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::{ConversationId, EmployeeId, TeamId};
use ostrog_domain::rule::Priority;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRecord {
    pub id: TeamId,
    /// Unique, case and spacing aside, among the teams not deleted.
    pub name: String,
    pub fallback_after_seconds: u32,
    /// In id order.
    pub members: Vec<EmployeeId>,
    pub created_at: Millis,
}

/// Where routing sends a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub conversation: ConversationId,
    pub team: Option<TeamId>,
    pub priority: Priority,
}

/// A conversation waiting in the queue, with its route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub conversation: ConversationRecord,
    pub team: Option<TeamId>,
    /// When it last entered the queue.
    pub queued_at: Millis,
}

#[async_trait]
pub trait TeamStore: Send + Sync {
    /// `Conflict("team")` when a team of that name exists; `NotFound` when
    /// a member is not an employee.
    async fn create_team(&self, t: &TeamRecord) -> StoreResult<()>;
    /// The teams not deleted, by name, with their members.
    async fn teams(&self) -> StoreResult<Vec<TeamRecord>>;
    /// Replaces the name, the wait and the members; errors as on creation.
    async fn update_team(&self, t: &TeamRecord) -> StoreResult<()>;
    /// Conversations keep naming a deleted team; routing treats them as the
    /// general queue's.
    async fn delete_team(&self, id: TeamId, at: Millis) -> StoreResult<()>;
    async fn set_route(&self, route: &Route) -> StoreResult<()>;
    /// The routes of these conversations (team or priority set).
    async fn routes_of(&self, conversations: &[ConversationId]) -> StoreResult<Vec<Route>>;
    /// Queued conversations of `priority`, longest waiting first, after
    /// `after` (queued_at, id).
    async fn queued(
        &self,
        priority: Priority,
        after: Option<(Millis, ConversationId)>,
        limit: u32,
    ) -> StoreResult<Vec<Queued>>;
}
