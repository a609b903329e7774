//! What routing needs of operators: their chat limits and current loads.

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::EmployeeId;

/// An operator's current load, for routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    pub operator: EmployeeId,
    pub active: u32,
    pub limit: u32,
    pub last_assigned_at: Millis,
}

#[async_trait]
pub trait RoutingStore: Send + Sync {
    async fn set_chat_limit(&self, id: EmployeeId, limit: u32) -> StoreResult<()>;
    async fn chat_limit(&self, id: EmployeeId) -> StoreResult<u32>;
    async fn loads(&self, operators: &[EmployeeId]) -> StoreResult<Vec<Load>>;
}
