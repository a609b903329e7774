//! The doctor inside the server: the leader's run every six hours, and a
//! run asked for on the cabinet's page. Each compares with the last report,
//! which is kept in the settings store, so every node of a cluster shows
//! the same one and a restart does not announce again what was known.
//! Every check's severity goes to `/metrics` (`ostrog_doctor_check`), and
//! each check whose severity changed since the last report (or that finds
//! something when there was none) is audited as `doctor.finding`, so the
//! customer's monitoring and auditors see a finding appear and go.

use super::facts::{Brought, Sources};
use super::{Facts, Report, Severity};
use crate::config::Config;
use crate::error::AppResult;
use crate::services::auditor::{Auditor, Ctx};
use ostrog_domain::audit::{Action, Outcome};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;

pub const EVERY: Duration = Duration::from_secs(6 * 3600);
const LAST_REPORT: &str = "doctor.last_report";

/// A report as kept and as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SavedReport {
    /// When the checks ran, ms since the Unix epoch.
    pub checked_at: i64,
    /// `ok`, `notice`, `warning` or `critical`: the worst finding.
    #[schema(value_type = String)]
    pub worst: Severity,
    /// The worst first.
    pub checks: Vec<SavedCheck>,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SavedCheck {
    /// Stable, e.g. `tls.public_url`; the web app names it in its language.
    pub id: String,
    #[schema(value_type = String)]
    pub severity: Severity,
    /// What was found (English, technical: settings, paths, commands).
    pub evidence: String,
    /// What to do; empty when nothing is to be done.
    pub fix: String,
    /// The section of the documentation, e.g. `docs/operations.md#5-tls-and-reverse-proxies`.
    pub doc: String,
}

impl From<&Report> for SavedReport {
    fn from(r: &Report) -> Self {
        let checks = r
            .checks
            .iter()
            .map(|c| SavedCheck {
                id: c.id.into(),
                severity: c.severity,
                evidence: c.evidence.clone(),
                fix: c.fix.clone(),
                doc: c.doc.into(),
            })
            .collect();
        SavedReport { checked_at: r.checked_at, worst: r.worst, checks }
    }
}

/// Runs the checks, one run at a time, and keeps the last report.
pub struct Doctor {
    config: Config,
    sources: Sources,
    auditor: Arc<Auditor>,
    /// A run scans test files and walks the audit trails: requests for
    /// runs (the page's button, the schedule) wait for each other rather
    /// than add up. A request is not answered with an earlier run's
    /// report, which may predate the fix it is meant to confirm.
    running: tokio::sync::Mutex<()>,
}

impl Doctor {
    pub fn new(config: Config, sources: Sources, auditor: Arc<Auditor>) -> Self {
        Doctor { config, sources, auditor, running: Default::default() }
    }

    /// Every check now, without recording anything: `ostrog doctor`.
    pub async fn check(&self, loose_paths: Vec<PathBuf>, brought: Brought<'_>) -> AppResult<Report> {
        let facts = Facts::gather(&self.sources, &self.config, loose_paths, brought).await?;
        Ok(super::report(&self.config, &facts))
    }

    /// The last report, from whichever node made it.
    pub async fn last(&self) -> AppResult<Option<SavedReport>> {
        let stored = self.sources.store.setting(LAST_REPORT).await?;
        // A report an older version kept in another shape is simply not shown.
        Ok(stored.and_then(|v| serde_json::from_value(v).ok()))
    }

    /// Runs every check (the crates against `[doctor] advisories` when it
    /// is set), records what changed and keeps the report.
    pub async fn run(&self) -> AppResult<SavedReport> {
        let _one = self.running.lock().await;
        let previous = self.last().await?;
        let loose = super::facts::loose_paths(&self.config.data_dir);
        let brought = Brought { advisories: self.config.doctor.advisories.as_deref(), backup_identity: None };
        let report = SavedReport::from(&self.check(loose, brought).await?);
        self.record(&report, previous.as_ref()).await?;
        let value = serde_json::to_value(&report).map_err(|e| crate::error::AppError::Internal(e.to_string()))?;
        self.sources.store.put_setting(LAST_REPORT, &value).await?;
        Ok(report)
    }

    async fn record(&self, report: &SavedReport, previous: Option<&SavedReport>) -> AppResult<()> {
        let before: HashMap<&str, Severity> =
            previous.iter().flat_map(|p| &p.checks).map(|c| (c.id.as_str(), c.severity)).collect();
        for check in &report.checks {
            crate::metrics::doctor_check(&check.id, check.severity.name());
            let previous = before.get(check.id.as_str()).copied();
            if previous == Some(check.severity) || (previous.is_none() && check.severity == Severity::Ok) {
                continue;
            }
            let outcome = if check.severity == Severity::Ok { Outcome::Success } else { Outcome::Failure };
            let details = json!({
                "check": check.id, "severity": check.severity, "previous": previous,
                "evidence": check.evidence, "fix": check.fix, "doc": check.doc,
            });
            self.auditor
                .audit(&Ctx::default(), Action::DoctorFinding, Some(check.id.clone()), outcome, details)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(severities: &[(&str, Severity)]) -> SavedReport {
        let checks = severities
            .iter()
            .map(|(id, severity)| SavedCheck {
                id: id.to_string(),
                severity: *severity,
                evidence: format!("{id} evidence"),
                fix: String::new(),
                doc: "docs/operations.md#18-security-checks-ostrog-doctor".into(),
            })
            .collect();
        SavedReport { checked_at: 0, worst: Severity::Ok, checks }
    }

    fn doctor(h: &crate::services::testing::Harness) -> Doctor {
        let store = h.store.clone();
        let labels = crate::services::audit_labels::AuditLabels::new(store.clone(), store.clone(), store.clone());
        let sources = Sources {
            settings: Arc::new(crate::services::settings::Settings::new(store.clone(), h.auditor())),
            audit_log: Arc::new(crate::services::audit::AuditLog::new(store.clone(), h.auditor(), labels)),
            store,
            clock: h.clock(),
            scanner: None,
        };
        Doctor::new(Config::default(), sources, h.auditor())
    }

    #[tokio::test]
    async fn findings_are_audited_when_they_appear_change_and_go() {
        let h = crate::services::testing::Harness::new().await;
        let doctor = doctor(&h);
        let audited = || async {
            let log = h.store.audit_entries(&ostrog_store::AuditFilter::default(), 0, 100).await.unwrap();
            log.into_iter()
                .filter(|e| e.event.action == "doctor.finding")
                .map(|e| (e.event.target.unwrap_or_default(), e.event.details["severity"].clone()))
                .collect::<Vec<_>>()
        };
        let first = report(&[("tls.transport", Severity::Critical), ("auth.sessions", Severity::Ok)]);
        doctor.record(&first, None).await.unwrap();
        assert_eq!(audited().await, [("tls.transport".to_string(), json!("critical"))], "a finding, not what is fine");
        doctor.record(&first, Some(&first)).await.unwrap();
        assert_eq!(audited().await.len(), 1, "nothing changed, nothing audited");
        let later = report(&[("tls.transport", Severity::Ok), ("auth.sessions", Severity::Notice)]);
        doctor.record(&later, Some(&first)).await.unwrap();
        let all = audited().await;
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(all.contains(&("tls.transport".to_string(), json!("ok"))), "the fix is on record too");
        let gauges = crate::metrics::Gauges {
            operators: 0,
            visitors: 0,
            write_queue: 0,
            scanner: "disabled",
            engines: vec![],
            waiting: None,
        };
        let metrics = crate::metrics::render(gauges);
        assert!(metrics.contains(r#"ostrog_doctor_check{check="auth.sessions",severity="notice"} 1"#), "{metrics}");
        assert!(metrics.contains(r#"ostrog_doctor_check{check="tls.transport",severity="critical"} 0"#));
    }

    async fn advisories(doctor: &Doctor) -> SavedCheck {
        let report = doctor.run().await.unwrap();
        report.checks.into_iter().find(|c| c.id == "dependencies.advisories").unwrap()
    }

    #[tokio::test]
    async fn the_scheduled_run_reads_the_advisory_database_the_settings_name() {
        let h = crate::services::testing::Harness::new().await;
        let db = std::env::temp_dir().join(format!("ostrog-advisories-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(db.join("crates")).unwrap();
        let unset = advisories(&doctor(&h)).await;
        assert_eq!(unset.severity, Severity::Notice, "{unset:?}");
        let mut with = doctor(&h);
        with.config.doctor.advisories = Some(db.clone());
        let checked = advisories(&with).await;
        assert_eq!(checked.severity, Severity::Ok, "{checked:?}");
        assert!(checked.evidence.contains("none of the binary's"), "{checked:?}");
        std::fs::remove_dir_all(&db).unwrap();
    }

    #[tokio::test]
    async fn the_last_report_is_kept_and_one_in_another_shape_is_not_shown() {
        let h = crate::services::testing::Harness::new().await;
        let doctor = doctor(&h);
        assert_eq!(doctor.last().await.unwrap(), None, "no run yet");
        h.store.put_setting(LAST_REPORT, &json!({"checked_at": 1, "findings": []})).await.unwrap();
        assert_eq!(doctor.last().await.unwrap(), None);
        let kept = report(&[("backups.recent", Severity::Warning)]);
        h.store.put_setting(LAST_REPORT, &serde_json::to_value(&kept).unwrap()).await.unwrap();
        assert_eq!(doctor.last().await.unwrap(), Some(kept));
    }
}
