//! The daily backup: every minute, the leader looks whether today's is due
//! (`backup::schedule`), takes it, and audits the outcome.

use super::Stop;
use crate::backup::schedule::{is_due, take, taken};
use crate::cluster::Cluster;
use crate::config::Config;
use crate::services::auditor::{Auditor, Ctx};
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::clock::Clock;
use std::sync::Arc;
use std::time::Duration;

/// What the backup job needs besides the configuration: when it is, whether
/// this node leads, and where to record the outcome.
pub struct Deps {
    pub clock: Arc<dyn Clock>,
    pub cluster: Arc<Cluster>,
    pub auditor: Arc<Auditor>,
}

pub async fn run(deps: Deps, config: Config, mut stop: Stop) {
    let Deps { clock, cluster, auditor } = deps;
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    while stop.wait(tick.tick()).await {
        let now = clock.now();
        // One node of a cluster takes the backup (into its own backup.dir).
        if !cluster.is_leader() || !is_due(&config.backup, &taken(&config.backup.dir), now) {
            continue;
        }
        let (outcome, details) = match take(&config, now).await {
            Ok(t) => (
                Outcome::Success,
                serde_json::json!({"file": t.name, "bytes": t.bytes, "sha256": t.sha256, "removed": t.removed}),
            ),
            Err(e) => {
                tracing::error!(error = %e, "the scheduled backup failed");
                (Outcome::Failure, serde_json::json!({"error": e}))
            }
        };
        crate::metrics::job("backup", outcome == Outcome::Success);
        if let Err(e) = auditor.audit(&Ctx::default(), Action::BackupScheduled, None, outcome, details).await {
            tracing::error!(error = %e, "could not audit the scheduled backup");
        }
    }
}
