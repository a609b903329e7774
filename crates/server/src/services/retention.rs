//! Retention (152-FZ Art. 21 p. 4–5): personal data is destroyed, by key
//! destruction, once its purpose is achieved — a set time after the
//! conversation closed, or after a visitor came and never wrote — and when
//! a withdrawn consent's period runs out. A background job runs it every
//! hour and records each run; the preview shows what the next run destroys.

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::services::auditor::Ctx;
use crate::services::caller::Caller;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::erasure::Basis;
use ostrog_domain::ids::VisitorId;
use ostrog_domain::privacy::{DAY, RequestKind, RetentionSettings};
use ostrog_store::Due;
use serde_json::json;
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

impl App {
    pub async fn retention_settings(&self) -> AppResult<RetentionSettings> {
        let stored = self.store.setting(RETENTION_KEY).await?;
        Ok(stored.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default())
    }

    pub async fn set_retention_settings(&self, caller: &Caller, s: RetentionSettings) -> AppResult<()> {
        s.validate()?;
        let value = serde_json::to_value(s).map_err(|e| AppError::Internal(e.to_string()))?;
        self.store.put_setting(RETENTION_KEY, &value).await?;
        self.auditor
            .audit(&caller.ctx(), Action::SettingsChanged, Some(RETENTION_KEY.into()), Outcome::Success, value)
            .await
    }

    /// What a run now would destroy: the dry run.
    pub async fn retention_plan(&self) -> AppResult<Vec<Planned>> {
        let s = self.retention_settings().await?;
        let now = self.now();
        let closed_before = now - i64::from(s.closed_conversation_days) * DAY;
        let silent_before = now - i64::from(s.silent_visitor_days) * DAY;
        let mut plan: Vec<Planned> = vec![];
        // Withdrawn consents first: their deadline is the law's, not ours.
        // A day's margin keeps the hourly run inside it.
        for r in self.store.requests(None, true, u32::MAX).await? {
            if r.kind == RequestKind::Erasure && r.basis == Basis::ConsentWithdrawn.name() && r.due_at - DAY <= now {
                plan.push(Planned {
                    visitor: r.visitor_id,
                    basis: Basis::ConsentWithdrawn,
                    reason: "consent_withdrawn",
                });
            }
        }
        for (visitor, due) in self.store.retention_due(closed_before, silent_before, PER_RUN).await? {
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
    pub async fn run_retention(&self, ctx: &Ctx) -> AppResult<Vec<Planned>> {
        let plan = self.retention_plan().await?;
        let mut done = Vec::with_capacity(plan.len());
        for p in plan {
            match self.erase_subject(ctx, p.visitor, p.basis, &format!("retention: {}", p.reason)).await {
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
