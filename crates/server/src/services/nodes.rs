//! This node's bookkeeping among the others on one database: the leader
//! lease, the rows of the nodes, and, while the bus is down, the check of
//! the sessions connected here (a revocation elsewhere still arrives).
//! It never decides presence (see `presence`) and runs nothing by itself:
//! the cluster jobs call it.

use crate::cluster::{Cluster, LEADER, LEASE, wall_ms};
use crate::error::AppResult;
use ostrog_domain::employee::EmployeeStatus;
use ostrog_domain::ids::{EmployeeId, SessionId};
use ostrog_store::{ClusterStore, EmployeeStore, NodeRecord, SessionStore};
use std::collections::HashMap;
use std::sync::Arc;

pub struct Nodes {
    rows: Arc<dyn ClusterStore>,
    employees: Arc<dyn EmployeeStore>,
    sessions: Arc<dyn SessionStore>,
    cluster: Arc<Cluster>,
}

impl Nodes {
    pub fn new(
        rows: Arc<dyn ClusterStore>,
        employees: Arc<dyn EmployeeStore>,
        sessions: Arc<dyn SessionStore>,
        cluster: Arc<Cluster>,
    ) -> Self {
        Self { rows, employees, sessions, cluster }
    }

    /// Takes or renews the leader lease from `now` (wall ms); whether held.
    pub async fn try_lead(&self, now: i64) -> AppResult<bool> {
        Ok(self.rows.try_lease(LEADER, &self.cluster.node, now, now + LEASE.as_millis() as i64).await?)
    }

    /// Leaves on shutdown: another node takes over the jobs at once instead
    /// of when the lease runs out, and the others stop counting this node's
    /// operators.
    pub async fn leave(&self) {
        if !self.cluster.clustered {
            return;
        }
        self.cluster.set_leader(false);
        if let Err(e) = self.rows.release_lease(LEADER, &self.cluster.node).await {
            tracing::warn!(error = %e, "could not release the leader lease; another node takes over when it runs out");
        }
        let _ = self.rows.delete_node(&self.cluster.node).await;
    }

    /// Removes the rows of nodes not seen for a day (restarts leave their
    /// old row behind).
    pub async fn prune(&self) {
        let Ok(rows) = self.rows.nodes(0).await else { return };
        let day_ago = wall_ms() - 24 * 3600 * 1000;
        for row in rows.iter().filter(|n| n.seen_at < day_ago) {
            let _ = self.rows.delete_node(&row.id).await;
        }
    }

    /// The rows of the nodes seen since `since` (wall ms).
    pub async fn seen_since(&self, since: i64) -> AppResult<Vec<NodeRecord>> {
        Ok(self.rows.nodes(since).await?)
    }

    /// Of the sessions connected here, those that are gone or whose
    /// employee is no longer active.
    pub async fn revoked(&self, connected: Vec<(EmployeeId, SessionId)>) -> Vec<SessionId> {
        let mut by_employee: HashMap<_, Vec<_>> = HashMap::new();
        for (employee, session) in connected {
            by_employee.entry(employee).or_default().push(session);
        }
        let mut revoked = Vec::new();
        for (employee, sessions) in by_employee {
            let active = matches!(self.employees.employee(employee).await,
                Ok(Some(e)) if e.employee.status == EmployeeStatus::Active);
            let Ok(valid) = self.sessions.sessions_of(employee).await else { continue };
            revoked.extend(sessions.into_iter().filter(|session| !active || !valid.iter().any(|s| s.id == *session)));
        }
        revoked
    }
}
