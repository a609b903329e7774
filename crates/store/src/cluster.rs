//! What several nodes on one database share besides the data: who holds
//! each singleton job, and which nodes are alive with whom connected.
//!
//! Times here are wall-clock milliseconds of the node that writes them
//! (the nodes' clocks are kept in step by NTP); a node's own clock for
//! business rules is not used, so a test's frozen clock cannot freeze a lease.

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::clock::Millis;

/// A node as the others see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    pub id: String,
    /// The connected employees and their status, as the node wrote it (JSON).
    pub presence: String,
    pub started_at: Millis,
    pub seen_at: Millis,
}

#[async_trait]
pub trait ClusterStore: Send + Sync {
    /// Takes or renews the lease `name` for `holder` until `until`: granted
    /// when nobody holds it, when `holder` already does, or when the
    /// holder's lease ran out before `now`. Atomic: of nodes racing for a
    /// free lease exactly one gets it.
    async fn try_lease(&self, name: &str, holder: &str, now: Millis, until: Millis) -> StoreResult<bool>;
    /// Gives the lease up (on shutdown), if `holder` holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;
    /// The holder of `name` whose lease has not run out at `now`.
    async fn lease_holder(&self, name: &str, now: Millis) -> StoreResult<Option<String>>;
    /// Creates or replaces the node's row.
    async fn put_node(&self, node: &NodeRecord) -> StoreResult<()>;
    /// Nodes seen at `since` or later.
    async fn nodes(&self, since: Millis) -> StoreResult<Vec<NodeRecord>>;
    async fn delete_node(&self, id: &str) -> StoreResult<()>;
}
