//! The doctor as a job of the leader: at start and every six hours. Every
//! check's severity goes to `/metrics` (`ostrog_doctor_check`), and each
//! check whose severity changed since the last run (or that finds
//! something on the first run after a start) is audited as
//! `doctor.finding`, so the customer's monitoring and auditors see a
//! finding appear and go.

use super::{Facts, Report, Severity};
use crate::app::App;
use crate::config::Config;
use crate::error::AppResult;
use crate::services::auditor::{Auditor, Ctx};
use ostrog_domain::audit::{Action, Outcome};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

pub const EVERY: Duration = Duration::from_secs(6 * 3600);

/// What the last run found, by check.
#[derive(Default)]
pub struct Watch {
    previous: HashMap<&'static str, Severity>,
}

impl Watch {
    /// Runs every check (advisories only by hand: the job has no database
    /// copy) and records what changed.
    pub async fn run(&mut self, app: &App, config: &Config) -> AppResult<Report> {
        let loose = super::facts::loose_paths(&config.data_dir);
        let facts = Facts::gather(app, config, app.clock.now(), loose, None).await?;
        let report = super::report(config, &facts);
        self.record(&report, &app.auditor).await?;
        Ok(report)
    }

    async fn record(&mut self, report: &Report, auditor: &Auditor) -> AppResult<()> {
        for check in &report.checks {
            crate::metrics::doctor_check(check.id, check.severity.name());
            let previous = self.previous.insert(check.id, check.severity);
            if previous == Some(check.severity) || (previous.is_none() && check.severity == Severity::Ok) {
                continue;
            }
            let outcome = if check.severity == Severity::Ok { Outcome::Success } else { Outcome::Failure };
            let details = json!({
                "check": check.id, "severity": check.severity, "previous": previous,
                "evidence": check.evidence, "fix": check.fix, "doc": check.doc,
            });
            auditor.audit(&Ctx::default(), Action::DoctorFinding, Some(check.id.to_string()), outcome, details).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Check;

    fn report(severities: &[(&'static str, Severity)]) -> Report {
        let checks = severities
            .iter()
            .map(|(id, severity)| Check {
                id,
                severity: *severity,
                evidence: format!("{id} evidence"),
                fix: String::new(),
                doc: "docs/operations.md#18-security-checks-ostrog-doctor",
            })
            .collect();
        Report { checked_at: 0, worst: Severity::Ok, checks }
    }

    #[tokio::test]
    async fn findings_are_audited_when_they_appear_change_and_go() {
        let h = crate::services::testing::Harness::new().await;
        let auditor = h.auditor();
        let mut watch = Watch::default();
        let audited = || async {
            let log = h.store.audit_entries(&ostrog_store::AuditFilter::default(), 0, 100).await.unwrap();
            log.into_iter()
                .filter(|e| e.event.action == "doctor.finding")
                .map(|e| (e.event.target.unwrap_or_default(), e.event.details["severity"].clone()))
                .collect::<Vec<_>>()
        };
        let first = report(&[("tls.transport", Severity::Critical), ("auth.sessions", Severity::Ok)]);
        watch.record(&first, &auditor).await.unwrap();
        assert_eq!(audited().await, [("tls.transport".to_string(), json!("critical"))], "a finding, not what is fine");
        watch.record(&first, &auditor).await.unwrap();
        assert_eq!(audited().await.len(), 1, "nothing changed, nothing audited");
        let later = report(&[("tls.transport", Severity::Ok), ("auth.sessions", Severity::Notice)]);
        watch.record(&later, &auditor).await.unwrap();
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
}
