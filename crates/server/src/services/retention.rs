//! Retention (152-FZ Art. 21 p. 4–5): personal data is destroyed, by key
//! destruction, once its purpose is achieved — a set time after the
//! conversation closed, or after a visitor came and never wrote — and when
//! a withdrawn consent's period runs out. A background job runs it every
//! hour and records each run; the preview shows what the next run destroys.

use crate::error::{AppError, AppResult};
use crate::services::auditor::{Auditor, Ctx};
use crate::services::caller::Caller;
use crate::services::erasure::Erasure;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::clock::Clock;
use ostrog_domain::erasure::Basis;
use ostrog_domain::ids::VisitorId;
use ostrog_domain::privacy::{DAY, RequestKind, RetentionSettings};
use ostrog_store::{Due, SettingsStore, SubjectStore};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const RETENTION_KEY: &str = "personal_data.retention";
/// Subjects destroyed per run at most; the next run takes the rest.
const PER_RUN: u32 = 1_000;
pub const EVERY: Duration = Duration::from_secs(3600);

/// One subject the run destroys, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    pub visitor: VisitorId,
    pub basis: Basis,
    /// `conversation_closed`, `silent_visitor` or `consent_withdrawn`.
    pub reason: &'static str,
}

pub struct Retention {
    settings: Arc<dyn SettingsStore>,
    /// Requests (withdrawn consents) and what the periods make due.
    subjects: Arc<dyn SubjectStore>,
    erasure: Arc<Erasure>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
}

impl Retention {
    pub fn new(
        settings: Arc<dyn SettingsStore>,
        subjects: Arc<dyn SubjectStore>,
        erasure: Arc<Erasure>,
        auditor: Arc<Auditor>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { settings, subjects, erasure, auditor, clock }
    }

    pub async fn settings(&self) -> AppResult<RetentionSettings> {
        let stored = self.settings.setting(RETENTION_KEY).await?;
        Ok(stored.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default())
    }

    pub async fn set_settings(&self, caller: &Caller, s: RetentionSettings) -> AppResult<()> {
        s.validate()?;
        let value = serde_json::to_value(s).map_err(|e| AppError::Internal(e.to_string()))?;
        self.settings.put_setting(RETENTION_KEY, &value).await?;
        self.auditor
            .audit(&caller.ctx(), Action::SettingsChanged, Some(RETENTION_KEY.into()), Outcome::Success, value)
            .await
    }

    /// What a run now would destroy: the dry run.
    pub async fn plan(&self) -> AppResult<Vec<Planned>> {
        let s = self.settings().await?;
        let now = self.clock.now();
        let closed_before = now - i64::from(s.closed_conversation_days) * DAY;
        let silent_before = now - i64::from(s.silent_visitor_days) * DAY;
        let mut plan: Vec<Planned> = vec![];
        // Withdrawn consents first: their deadline is the law's, not ours.
        // A day's margin keeps the hourly run inside it.
        for r in self.subjects.requests(None, true, u32::MAX).await? {
            if r.kind == RequestKind::Erasure && r.basis == Basis::ConsentWithdrawn.name() && r.due_at - DAY <= now {
                plan.push(Planned {
                    visitor: r.visitor_id,
                    basis: Basis::ConsentWithdrawn,
                    reason: "consent_withdrawn",
                });
            }
        }
        for (visitor, due) in self.subjects.retention_due(closed_before, silent_before, PER_RUN).await? {
            if plan.iter().any(|p| p.visitor == visitor) {
                continue;
            }
            let reason = match due {
                Due::ConversationClosed => "conversation_closed",
                Due::Silent => "silent_visitor",
            };
            plan.push(Planned { visitor, basis: Basis::RetentionExpired, reason });
        }
        plan.truncate(PER_RUN as usize);
        Ok(plan)
    }

    /// Destroys what the plan names, and records the run.
    pub async fn run(&self, ctx: &Ctx) -> AppResult<Vec<Planned>> {
        let plan = self.plan().await?;
        let mut done = Vec::with_capacity(plan.len());
        for p in plan {
            match self.erasure.erase(ctx, p.visitor, p.basis, &format!("retention: {}", p.reason)).await {
                Ok(_) => done.push(p),
                // Erased meanwhile by someone else.
                Err(AppError::NotFound) => {}
                Err(e) => {
                    tracing::error!(error = %e, "retention could not erase a subject; the next run retries");
                    break;
                }
            }
        }
        let subjects: Vec<String> = done.iter().map(|p| p.visitor.to_string()).collect();
        let details = json!({"erased": done.len(), "subjects": subjects});
        self.auditor.audit(ctx, Action::RetentionRun, None, Outcome::Success, details).await?;
        Ok(done)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::subjects::Subjects;
    use crate::services::testing::{Harness, START};
    use ostrog_domain::conversation::State;
    use ostrog_domain::privacy::RequestStatus;
    use ostrog_domain::role::Role;
    use ostrog_store::{AuditFilter, SubjectRequest};

    fn retention(t: &Harness) -> Retention {
        let subjects = Arc::new(Subjects::new(
            t.store.clone(),
            t.store.clone(),
            t.store.clone(),
            t.vault.clone(),
            t.ledger(),
            t.auditor(),
            t.clock(),
        ));
        let erasure = Arc::new(Erasure::new(
            t.store.clone(),
            t.store.clone(),
            t.vault.clone(),
            t.ledger(),
            crate::realtime::Realtime::new(t.ledger()).hub,
            std::env::temp_dir().join("ostrog-retention-no-files"),
            subjects,
            t.auditor(),
            t.clock(),
        ));
        Retention::new(t.store.clone(), t.store.clone(), erasure, t.auditor(), t.clock())
    }

    const SETTINGS: RetentionSettings = RetentionSettings { closed_conversation_days: 30, silent_visitor_days: 7 };

    #[tokio::test]
    async fn a_run_destroys_only_what_is_older_than_the_policy() {
        let t = Harness::new().await;
        let (retention, admin) = (retention(&t), t.caller(Role::Administrator).await);
        retention.set_settings(&admin, SETTINGS).await.unwrap();
        let (closed_early, closed_late) = (t.subject(START).await, t.subject(START).await);
        let (open, silent) = (t.subject(START).await, t.subject(START).await);
        t.subject_conversation(closed_early, State::Closed, None, START).await;
        t.subject_conversation(closed_late, State::Closed, None, START + 2 * DAY).await;
        t.subject_conversation(open, State::Queued, None, START).await;

        t.clock.advance(7 * DAY);
        assert!(retention.plan().await.unwrap().is_empty(), "nothing is due at the very end of the period");
        assert!(retention.run(&Ctx::default()).await.unwrap().is_empty());
        t.clock.advance(1);
        let due: Vec<(VisitorId, &str)> =
            retention.plan().await.unwrap().iter().map(|p| (p.visitor, p.reason)).collect();
        assert_eq!(due, [(silent, "silent_visitor")], "a visitor who never wrote, after 7 days");
        let done = retention.run(&Ctx::default()).await.unwrap();
        assert_eq!(done.iter().map(|p| p.visitor).collect::<Vec<_>>(), [silent]);
        assert!(t.store.visitor(silent).await.unwrap().is_none(), "erased");

        t.clock.advance(23 * DAY - 1);
        assert!(retention.run(&Ctx::default()).await.unwrap().is_empty(), "closed exactly 30 days ago");
        t.clock.advance(1);
        let done = retention.run(&Ctx::default()).await.unwrap();
        let erased: Vec<(VisitorId, Basis, &str)> = done.iter().map(|p| (p.visitor, p.basis, p.reason)).collect();
        assert_eq!(erased, [(closed_early, Basis::RetentionExpired, "conversation_closed")]);
        assert!(t.store.conversation_of_visitor(closed_early).await.unwrap().is_none());
        for kept in [closed_late, open] {
            assert!(t.store.conversation_of_visitor(kept).await.unwrap().is_some(), "within the policy: kept");
        }
        let acts = AuditFilter { action: Some("personal_data.erased".into()), ..Default::default() };
        let acts = t.store.audit_entries(&acts, 0, 10).await.unwrap();
        assert_eq!(acts.len(), 2);
        assert!(acts.iter().all(|a| a.event.details["basis"] == "retention_expired" && a.event.actor.is_none()));
    }

    #[tokio::test]
    async fn a_withdrawn_consent_is_honoured_a_day_before_its_deadline() {
        let t = Harness::new().await;
        let retention = retention(&t);
        let ada = t.subject(START).await;
        t.subject_conversation(ada, State::Queued, None, START).await;
        let withdrawal = SubjectRequest {
            id: uuid::Uuid::new_v4(),
            visitor_id: ada,
            kind: RequestKind::Erasure,
            basis: Basis::ConsentWithdrawn.name().into(),
            status: RequestStatus::Open,
            received_at: START,
            due_at: START + 10 * DAY,
            closed_at: None,
            closed_by: None,
            note: String::new(),
        };
        t.store.create_request(&withdrawal).await.unwrap();
        t.clock.advance(9 * DAY - 1);
        assert!(retention.run(&Ctx::default()).await.unwrap().is_empty());
        t.clock.advance(1);
        let done = retention.run(&Ctx::default()).await.unwrap();
        assert_eq!(done.iter().map(|p| (p.visitor, p.reason)).collect::<Vec<_>>(), [(ada, "consent_withdrawn")]);
        assert_eq!(t.store.request(withdrawal.id).await.unwrap().unwrap().status, RequestStatus::Done);

        // Each run is recorded by the system, with whom it erased.
        let log = t.store.audit_entries(&AuditFilter::default(), 0, 10).await.unwrap();
        let runs: Vec<_> = log.iter().filter(|e| e.event.action == "retention.run").collect();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].event.details["erased"], 0);
        assert_eq!(runs[1].event.details, json!({"erased": 1, "subjects": [ada.to_string()]}));
        assert!(runs.iter().all(|e| e.event.actor.is_none()));
    }

    #[tokio::test]
    async fn settings_outside_sane_bounds_are_refused_and_the_defaults_stay() {
        let t = Harness::new().await;
        let (retention, admin) = (retention(&t), t.caller(Role::Administrator).await);
        let never = RetentionSettings { closed_conversation_days: 0, silent_visitor_days: 7 };
        assert!(retention.set_settings(&admin, never).await.is_err());
        assert_eq!(retention.settings().await.unwrap(), RetentionSettings::default());
        retention.set_settings(&admin, SETTINGS).await.unwrap();
        assert_eq!(retention.settings().await.unwrap(), SETTINGS);
        let log = t.store.audit_entries(&AuditFilter::default(), 0, 10).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].event.target.as_deref(), Some(RETENTION_KEY));
    }
}
