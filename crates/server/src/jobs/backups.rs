//! The daily backup: every minute, the leader looks whether today's is due
//! (`backup::schedule`), takes it, and audits the outcome.

use super::Stop;
use crate::app::App;
use crate::backup::schedule::{is_due, take, taken};
use crate::config::Config;
use crate::services::auditor::Ctx;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use std::sync::Arc;
use std::time::Duration;

pub async fn run(app: Arc<App>, config: Config, mut stop: Stop) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    while stop.wait(tick.tick()).await {
        let now = app.now();
        // One node of a cluster takes the backup (into its own backup.dir).
        if !app.cluster.is_leader() || !is_due(&config.backup, &taken(&config.backup.dir), now) {
            continue;
        }
        let (outcome, details) = match take(&config, now).await {
            Ok((name, bytes, removed)) => {
                (Outcome::Success, serde_json::json!({"file": name, "bytes": bytes, "removed": removed}))
            }
            Err(e) => {
                tracing::error!(error = %e, "the scheduled backup failed");
                (Outcome::Failure, serde_json::json!({"error": e}))
            }
        };
        crate::metrics::job("backup", outcome == Outcome::Success);
        if let Err(e) = app.auditor.audit(&Ctx::default(), Action::BackupScheduled, None, outcome, details).await {
            tracing::error!(error = %e, "could not audit the scheduled backup");
        }
    }
}
