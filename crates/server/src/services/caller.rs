//! Resolving a session token to the employee behind it, on every request:
//! a blocked employee or a changed permission takes effect at once.

use crate::app::App;
use crate::auth::tokens;
use crate::error::{AppError, AppResult};
use crate::services::auditor::Ctx;
use ostrog_domain::access::{Actor, effective};
use ostrog_domain::clock::MINUTE;
use ostrog_domain::employee::{Employee, EmployeeStatus};
use ostrog_domain::ids::{EmployeeId, SessionId};
use ostrog_domain::session::Stage;
use ostrog_store::SessionRecord;
use std::net::IpAddr;

/// A signed-in employee making a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub employee: Employee,
    pub actor: Actor,
    pub session: SessionRecord,
    pub ip: Option<IpAddr>,
}

impl Caller {
    pub fn ctx(&self) -> Ctx {
        Ctx { actor: Some(self.employee.id), ip: self.ip, user_agent: self.session.user_agent.clone() }
    }
    pub fn session_id(&self) -> SessionId {
        self.session.id
    }
}

/// `last_seen_at` is written at most this often, so reads do not each cost a write.
const TOUCH_EVERY: i64 = MINUTE;

/// Whether a request is the person's doing: only that keeps a session from
/// idling out (ASVS 7.3.1). A page's own background checks and transport
/// keep-alives are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Person,
    Background,
}

impl App {
    pub async fn caller(&self, token: &str, ip: Option<IpAddr>, activity: Activity) -> AppResult<Caller> {
        let session =
            self.store.session_by_token_hash(&tokens::hash_token(token)).await?.ok_or(AppError::Unauthenticated)?;
        let now = self.now();
        if !self.session_policy.is_live(session.created_at, session.last_seen_at, now) {
            self.store.delete_session(session.employee_id, session.id).await?;
            return Err(AppError::Unauthenticated);
        }
        let record = self.store.employee(session.employee_id).await?.ok_or(AppError::Unauthenticated)?;
        if record.employee.status != EmployeeStatus::Active {
            return Err(AppError::Unauthenticated);
        }
        if activity == Activity::Person {
            self.touch(&session, now).await?;
        }
        let overrides = self.store.overrides(record.employee.id).await?;
        let employee = record.employee;
        let actor = Actor { id: employee.id, role: employee.role, permissions: effective(employee.role, &overrides) };
        Ok(Caller { employee, actor, session, ip })
    }

    /// Records the person's activity in `session` (written at most once a
    /// minute); whether it was written now.
    pub async fn touch(&self, session: &SessionRecord, now: i64) -> AppResult<bool> {
        if now - session.last_seen_at < TOUCH_EVERY {
            return Ok(false);
        }
        self.store.touch_session(session.id, now).await?;
        Ok(true)
    }

    /// For long-lived connections: the session `id` of `employee` still
    /// exists, has neither idled out nor outlived its absolute lifetime, and
    /// its employee is active. An open connection is not activity: only what
    /// the person does over it (`touch`) is, so an unattended tab signs out.
    pub async fn session_is_live(&self, employee: EmployeeId, id: SessionId) -> Option<SessionRecord> {
        let now = self.now();
        let current = self.store.sessions_of(employee).await.ok()?.into_iter().find(|s| s.id == id)?;
        if !self.session_policy.is_live(current.created_at, current.last_seen_at, now) {
            return None;
        }
        let active = matches!(self.store.employee(employee).await,
            Ok(Some(r)) if r.employee.status == EmployeeStatus::Active);
        active.then_some(current)
    }

    /// Whether the caller proved who they are recently enough for a
    /// sensitive operation.
    pub fn is_fresh(&self, caller: &Caller) -> bool {
        caller.session.stage == Stage::Full
            && self.now() - caller.session.authenticated_at <= self.session_policy.reauth_window
    }
}
