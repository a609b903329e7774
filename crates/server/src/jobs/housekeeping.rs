//! The periodic chores: the database's maintenance, expired sessions,
//! the audit of refused attempts, retention, the scanner's self-test, and
//! sealing what an older version stored in the clear.

use super::Stop;
use crate::auth::refusals::Refusals;
use crate::cluster::Cluster;
use crate::files::scanner::Scanner;
use crate::metrics;
use crate::services::auditor::{Auditor, Ctx};
use crate::services::maintenance::Maintenance;
use crate::services::retention::Retention;
use crate::services::sessions::Sessions;
use crate::services::upgrade::LegacySealing;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::clock::Clock;
use std::sync::Arc;
use std::time::Duration;

/// The backend's housekeeping, every second (see `Store::maintain`), and
/// the master key file re-read.
pub async fn maintain_store(maintenance: Arc<Maintenance>, mut stop: Stop) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while stop.wait(tick.tick()).await {
        if let Err(e) = maintenance.maintain_store().await {
            tracing::warn!(error = %e, "database maintenance failed");
        }
        if let Err(e) = maintenance.reload_keys() {
            tracing::error!(error = %e, "could not re-read the master key file");
        }
    }
}

/// Deletes expired sessions every few minutes; their rows are useless and
/// the list of one's sessions should not show them.
pub async fn sweep_sessions(sessions: Arc<Sessions>, cluster: Arc<Cluster>, mut stop: Stop) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    while stop.wait(tick.tick()).await {
        if !cluster.is_leader() {
            continue;
        }
        let swept = sessions.sweep_expired().await;
        metrics::job("sessions", swept.is_ok());
        if let Err(e) = swept {
            tracing::warn!(error = %e, "could not sweep expired sessions");
        }
    }
}

/// Writes the refusals counted in the last minute to the audit log, one
/// entry per kind and address (`security.refused`, ASVS 16.3.3); what was
/// counted before a stop is written then.
pub async fn audit_refusals(refusals: Arc<Refusals>, auditor: Arc<Auditor>, clock: Arc<dyn Clock>, mut stop: Stop) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.tick().await;
    while stop.wait(tick.tick()).await {
        flush_refusals(&refusals, &auditor, clock.now()).await;
    }
    flush_refusals(&refusals, &auditor, clock.now()).await;
}

/// One audit entry per kind and address counted since the last flush.
pub async fn flush_refusals(refusals: &Refusals, auditor: &Auditor, now: i64) {
    for (kind, ip, count) in refusals.drain() {
        let ctx = Ctx { actor: None, ip, user_agent: None };
        let details = serde_json::json!({"kind": kind, "count": count, "minute_to": now});
        if let Err(e) = auditor.audit(&ctx, Action::SecurityRefused, None, Outcome::Denied, details).await {
            tracing::warn!(error = %e, kind, count, "could not audit refused attempts");
        }
    }
}

/// Runs retention every hour, the first time a minute after start, while
/// this node leads.
pub async fn retention(retention: Arc<Retention>, leads: impl Fn() -> bool + Send, mut stop: Stop) {
    let every = crate::services::retention::EVERY;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(60), every);
    while stop.wait(tick.tick()).await {
        if !leads() {
            continue;
        }
        let outcome = retention.run(&Ctx::default()).await;
        metrics::job("retention", outcome.is_ok());
        if let Err(e) = outcome {
            tracing::error!(error = %e, "the retention run failed");
        }
    }
}

/// Self-tests the scanner at start and every `minutes` after (the log says
/// when its health changes).
pub async fn self_test(scanner: Scanner, minutes: u64, mut stop: Stop) {
    let mut tick = tokio::time::interval(Duration::from_secs(minutes.saturating_mul(60)));
    while stop.wait(tick.tick()).await {
        let health = scanner.self_test().await;
        metrics::job("scanner_self_test", health == crate::files::self_test::Health::Passed);
    }
}

/// `ostrog doctor`'s checks a minute after start, then every six hours,
/// on the leader (`doctor::runs`).
pub async fn doctor(doctor: Arc<crate::doctor::runs::Doctor>, leads: impl Fn() -> bool + Send, mut stop: Stop) {
    use crate::doctor::runs::EVERY;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(60), EVERY);
    while stop.wait(tick.tick()).await {
        if !leads() {
            continue;
        }
        match doctor.run().await {
            Ok(report) => {
                metrics::job("doctor", true);
                tracing::info!(worst = report.worst.name(), "security checks done (ostrog doctor for details)");
            }
            Err(e) => {
                metrics::job("doctor", false);
                tracing::error!(error = %e, "the scheduled security checks failed");
            }
        }
    }
}

/// Seals what an older version stored in the clear, once after start.
pub async fn seal_legacy(sealing: Arc<LegacySealing>, mut stop: Stop) {
    match stop.until(sealing.run()).await {
        None | Some(Ok((0, 0))) => {}
        Some(Ok((messages, visitors))) => tracing::info!(messages, visitors, "sealed what was stored in the clear"),
        Some(Err(e)) => {
            tracing::error!(error = %e, "could not seal what was stored in the clear; the next start retries")
        }
    }
}
