//! Appending to the hash-chained trails: the security audit log and the
//! personal-data access trail. Every service that acts records through one
//! `Auditor`; a failure to record fails the action.

use crate::error::AppResult;
use ostrog_domain::audit::{Action, AuditEntry, AuditEvent, Outcome};
use ostrog_domain::clock::Clock;
use ostrog_domain::ids::{EmployeeId, VisitorId};
use ostrog_store::{AuditStore, Trail};
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;

/// Who is acting and from where, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    pub actor: Option<EmployeeId>,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

pub struct Auditor {
    trails: Arc<dyn AuditStore>,
    clock: Arc<dyn Clock>,
    /// `log.audit`: every appended entry also goes to the logs.
    forward: bool,
}

impl Auditor {
    pub fn new(trails: Arc<dyn AuditStore>, clock: Arc<dyn Clock>, forward: bool) -> Self {
        Self { trails, clock, forward }
    }

    /// Appends to the security audit log. A failure to audit fails the
    /// operation: an action that cannot be recorded must not happen silently.
    pub async fn audit(
        &self,
        ctx: &Ctx,
        action: Action,
        target: Option<String>,
        outcome: Outcome,
        details: Value,
    ) -> AppResult<()> {
        self.record(Trail::Security, ctx, action, target, outcome, details).await.map(|_| ())
    }

    /// Records in the personal-data access trail that `subject`'s data was
    /// read or acted on.
    pub async fn record_access(&self, ctx: &Ctx, subject: VisitorId, action: Action, details: Value) -> AppResult<()> {
        let target = Some(format!("visitor:{subject}"));
        self.record(Trail::PersonalDataAccess, ctx, action, target, Outcome::Success, details).await.map(|_| ())
    }

    /// Appends to one of the trails; the entry as chained.
    pub async fn record(
        &self,
        trail: Trail,
        ctx: &Ctx,
        action: Action,
        target: Option<String>,
        outcome: Outcome,
        details: Value,
    ) -> AppResult<AuditEntry> {
        let event = AuditEvent {
            at: self.clock.now(),
            actor: ctx.actor.map(|a| a.to_string()),
            ip: ctx.ip.map(|ip| ip.to_string()),
            action: action.name().to_string(),
            target,
            outcome,
            details,
        };
        let entry = self.trails.append_to(trail, &event).await?;
        if self.forward {
            forward(trail, &entry);
        }
        Ok(entry)
    }
}

/// An audit entry as a log event, for the SIEM: what happened, by which
/// employee id, with which outcome and chain position. The IP address and
/// browser stay in the audit log itself (`ostrog audit export`).
fn forward(trail: Trail, entry: &AuditEntry) {
    let e = &entry.event;
    let trail = match trail {
        Trail::Security => "security",
        Trail::PersonalDataAccess => "personal_data",
    };
    tracing::info!(
        target: "ostrog::audit",
        trail,
        seq = entry.seq,
        action = %e.action,
        outcome = ?e.outcome,
        actor = e.actor.as_deref().unwrap_or("-"),
        target_id = e.target.as_deref().unwrap_or("-"),
        details = %e.details,
        hash = %entry.hash,
        "audit"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::testing;
    use ostrog_domain::audit::{GENESIS, verify};
    use ostrog_store::AuditFilter;
    use serde_json::json;

    #[tokio::test]
    async fn records_chain_in_their_trail_at_the_clocks_time() {
        let t = testing::Harness::new().await;
        let auditor = Auditor::new(t.store.clone(), t.clock.clone(), false);
        let ctx = Ctx { actor: Some(EmployeeId::random()), ip: "192.0.2.7".parse().ok(), user_agent: None };
        auditor.audit(&ctx, Action::WidgetCreated, Some("w".into()), Outcome::Success, json!({})).await.unwrap();
        t.clock.advance(5_000);
        auditor.audit(&ctx, Action::AuthSignIn, None, Outcome::Failure, json!({"failures": 1})).await.unwrap();
        auditor.record_access(&ctx, VisitorId::random(), Action::TranscriptRead, json!({})).await.unwrap();

        let security = t.store.audit_entries(&AuditFilter::default(), 0, 10).await.unwrap();
        let names: Vec<&str> = security.iter().map(|e| e.event.action.as_str()).collect();
        assert_eq!(names, ["widget.created", "auth.sign_in"]);
        assert_eq!(security[1].event.at - security[0].event.at, 5_000);
        assert_eq!(security[0].event.ip.as_deref(), Some("192.0.2.7"));
        assert!(verify((0, GENESIS.to_string()), &security).is_ok());

        let access = AuditFilter { trail: Trail::PersonalDataAccess, ..Default::default() };
        let access = t.store.audit_entries(&access, 0, 10).await.unwrap();
        assert_eq!(access.len(), 1);
        assert!(access[0].event.target.as_deref().is_some_and(|t| t.starts_with("visitor:")));
    }

    /// The audit log's page offers every action as a filter and shows it in
    /// words: a new action without its place there and its texts would show
    /// as a bare name.
    #[test]
    fn every_action_is_offered_and_worded_by_the_web_app() {
        let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/public/assets");
        let read = |p: &str| std::fs::read_to_string(web.join(p)).unwrap();
        let page = read("views/cabinet/audit.js");
        let texts = [read("i18n/en.js"), read("i18n/ru.js")];
        for action in Action::ALL {
            let name = action.name();
            assert!(page.contains(&format!("'{name}'")), "{name} missing from ACTIONS in views/cabinet/audit.js");
            for text in &texts {
                assert!(
                    text.contains(&format!("'audit.act.{name}'")),
                    "{name} has no audit.act text in every language"
                );
            }
        }
    }
}
