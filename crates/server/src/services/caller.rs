//! Resolving a session token to the employee behind it, on every request:
//! a blocked employee or a changed permission takes effect at once.

use crate::app::{App, Ctx};
use crate::auth::tokens;
use crate::error::{AppError, AppResult};
use ostrog_domain::access::{Actor, effective};
use ostrog_domain::clock::MINUTE;
use ostrog_domain::employee::{Employee, EmployeeStatus};
use ostrog_domain::ids::SessionId;
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

impl App {
    pub async fn caller(&self, token: &str, ip: Option<IpAddr>) -> AppResult<Caller> {
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
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.store.touch_session(session.id, now).await?;
        }
        let overrides = self.store.overrides(record.employee.id).await?;
        let employee = record.employee;
        let actor = Actor { id: employee.id, role: employee.role, permissions: effective(employee.role, &overrides) };
        Ok(Caller { employee, actor, session, ip })
    }

    /// For long-lived connections: the session still exists, has not
    /// outlived its absolute lifetime, and its employee is active. An open
    /// connection counts as activity, so it keeps the session from idling out.
    pub async fn session_is_live(&self, session: &SessionRecord) -> bool {
        let now = self.now();
        let Ok(Some(current)) = self.store.session_by_token_hash(&session.token_hash).await else { return false };
        if !self.session_policy.is_live(current.created_at, now, now) {
            return false;
        }
        let active = matches!(self.store.employee(current.employee_id).await,
            Ok(Some(r)) if r.employee.status == EmployeeStatus::Active);
        active && self.store.touch_session(current.id, now).await.is_ok()
    }

    /// Whether the caller proved who they are recently enough for a
    /// sensitive operation.
    pub fn is_fresh(&self, caller: &Caller) -> bool {
        caller.session.stage == Stage::Full
            && self.now() - caller.session.authenticated_at <= self.session_policy.reauth_window
    }
}
