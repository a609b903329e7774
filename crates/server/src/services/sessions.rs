//! Sessions: resolving a token to the employee behind it on every request
//! (a blocked employee or a changed permission takes effect at once),
//! issuing and renewing them, ending them together with their open
//! connections, and sweeping the expired ones.
//!
//! Tokens exist only in the answer that issues them and in the client; the
//! store keeps their hashes. Nothing here checks a password: that is
//! `SignIn`'s, which asks for a session once it is satisfied.

use crate::auth::tokens;
use crate::error::{AppError, AppResult};
use crate::realtime::hub::Hub;
use crate::services::auditor::Ctx;
use crate::services::caller::{Activity, Caller};
use ostrog_domain::access::{Actor, effective};
use ostrog_domain::clock::{Clock, MINUTE};
use ostrog_domain::employee::EmployeeStatus;
use ostrog_domain::ids::{EmployeeId, SessionId};
use ostrog_domain::session::{SessionPolicy, Stage};
use ostrog_store::{EmployeeRecord, EmployeeStore, SessionRecord, SessionStore};
use std::net::IpAddr;
use std::sync::Arc;

/// `last_seen_at` is written at most this often, so reads do not each cost a write.
const TOUCH_EVERY: i64 = MINUTE;

/// What a client receives when a session is issued. The tokens exist only
/// here and in the client; the store keeps their hashes.
#[derive(Debug)]
pub struct Issued {
    pub token: String,
    pub csrf_token: String,
    pub stage: Stage,
}

pub struct Sessions {
    sessions: Arc<dyn SessionStore>,
    employees: Arc<dyn EmployeeStore>,
    clock: Arc<dyn Clock>,
    policy: SessionPolicy,
    /// Open connections end with their session.
    hub: Arc<Hub>,
}

impl Sessions {
    pub fn new(
        sessions: Arc<dyn SessionStore>,
        employees: Arc<dyn EmployeeStore>,
        clock: Arc<dyn Clock>,
        policy: SessionPolicy,
        hub: Arc<Hub>,
    ) -> Self {
        Self { sessions, employees, clock, policy, hub }
    }

    /// Idle timeout, absolute lifetime and re-authentication window.
    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    /// The employee behind `token`, if the session is live and they are active.
    pub async fn caller(&self, token: &str, ip: Option<IpAddr>, activity: Activity) -> AppResult<Caller> {
        let session =
            self.sessions.session_by_token_hash(&tokens::hash_token(token)).await?.ok_or(AppError::Unauthenticated)?;
        let now = self.clock.now();
        if !self.policy.is_live(session.created_at, session.last_seen_at, now) {
            self.sessions.delete_session(session.employee_id, session.id).await?;
            return Err(AppError::Unauthenticated);
        }
        let record = self.employees.employee(session.employee_id).await?.ok_or(AppError::Unauthenticated)?;
        if record.employee.status != EmployeeStatus::Active {
            return Err(AppError::Unauthenticated);
        }
        if activity == Activity::Person {
            self.touch(&session, now).await?;
        }
        let overrides = self.employees.overrides(record.employee.id).await?;
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
        self.sessions.touch_session(session.id, now).await?;
        Ok(true)
    }

    /// For long-lived connections: the session `id` of `employee` still
    /// exists, has neither idled out nor outlived its absolute lifetime, and
    /// its employee is active. An open connection is not activity: only what
    /// the person does over it (`touch`) is, so an unattended tab signs out.
    pub async fn session_is_live(&self, employee: EmployeeId, id: SessionId) -> Option<SessionRecord> {
        let now = self.clock.now();
        let current = self.sessions.sessions_of(employee).await.ok()?.into_iter().find(|s| s.id == id)?;
        if !self.policy.is_live(current.created_at, current.last_seen_at, now) {
            return None;
        }
        let active = matches!(self.employees.employee(employee).await,
            Ok(Some(r)) if r.employee.status == EmployeeStatus::Active);
        active.then_some(current)
    }

    /// Whether the caller proved who they are recently enough for a
    /// sensitive operation.
    pub fn is_fresh(&self, caller: &Caller) -> bool {
        caller.session.stage == Stage::Full
            && self.clock.now() - caller.session.authenticated_at <= self.policy.reauth_window
    }

    /// A new session of `record` at `stage`, from where `ctx` says.
    pub async fn issue(&self, record: &EmployeeRecord, stage: Stage, ctx: &Ctx) -> AppResult<Issued> {
        let (token, csrf_token) = (tokens::new_token(), tokens::new_token());
        let now = self.clock.now();
        self.sessions
            .create_session(&SessionRecord {
                id: SessionId::random(),
                employee_id: record.employee.id,
                token_hash: tokens::hash_token(&token),
                csrf_hash: tokens::hash_token(&csrf_token),
                stage,
                created_at: now,
                last_seen_at: now,
                authenticated_at: now,
                ip: ctx.ip.map(|ip| ip.to_string()),
                user_agent: ctx.user_agent.as_ref().map(|ua| ua.chars().take(200).collect()),
            })
            .await?;
        Ok(Issued { token, csrf_token, stage })
    }

    /// Replaces the caller's session after a step of authentication (ASVS
    /// 7.2.4): a new token and CSRF token, proven now; the old token stops
    /// working, and the open connections move to the new session. The
    /// session's start is kept, so a step never extends its lifetime.
    pub async fn renew(&self, caller: &Caller, stage: Stage) -> AppResult<Issued> {
        let (token, csrf_token) = (tokens::new_token(), tokens::new_token());
        let now = self.clock.now();
        let old = &caller.session;
        let renewed = SessionRecord {
            id: SessionId::random(),
            token_hash: tokens::hash_token(&token),
            csrf_hash: tokens::hash_token(&csrf_token),
            stage,
            last_seen_at: now,
            authenticated_at: now,
            ..old.clone()
        };
        self.sessions.create_session(&renewed).await?;
        self.hub.move_session(old.id, renewed.id);
        self.sessions.delete_session(caller.employee.id, old.id).await?;
        Ok(Issued { token, csrf_token, stage })
    }

    /// Drops a session without closing connections: for one that was just
    /// replaced by a new one before any connection could use it.
    pub async fn forget(&self, employee: EmployeeId, id: SessionId) -> AppResult<bool> {
        Ok(self.sessions.delete_session(employee, id).await?)
    }

    /// Ends one session of `employee` and closes its connections; whether
    /// it was theirs (another's session is left alone, connections too).
    pub async fn end(&self, employee: EmployeeId, id: SessionId) -> AppResult<bool> {
        let ended = self.sessions.delete_session(employee, id).await?;
        if ended {
            self.hub.disconnect_session(id);
        }
        Ok(ended)
    }

    /// Ends every session of the caller's but the current one; how many.
    pub async fn end_others(&self, caller: &Caller) -> AppResult<u64> {
        let mut ended = 0u64;
        for s in self.sessions.sessions_of(caller.employee.id).await? {
            if s.id != caller.session_id() && self.end(caller.employee.id, s.id).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Ends every session of `employee` and closes every connection of
    /// theirs, on every node; how many sessions there were.
    pub async fn end_all(&self, employee: EmployeeId) -> AppResult<u64> {
        let ended = self.sessions.delete_sessions_of(employee).await?;
        self.hub.disconnect_employee(employee);
        Ok(ended)
    }

    /// Closes every connection of `employee` without touching their
    /// sessions: they reconnect, and are checked again (a new role, new
    /// permissions, or a status that no longer lets them in).
    pub fn disconnect(&self, employee: EmployeeId) {
        self.hub.disconnect_employee(employee);
    }

    pub async fn of(&self, employee: EmployeeId) -> AppResult<Vec<SessionRecord>> {
        Ok(self.sessions.sessions_of(employee).await?)
    }

    /// Moves a session to `stage`, proven now.
    pub async fn set_stage(&self, id: SessionId, stage: Stage) -> AppResult<()> {
        Ok(self.sessions.set_session_stage(id, stage, self.clock.now()).await?)
    }

    /// Deletes the sessions that idled out or outlived their lifetime:
    /// their rows are useless and the list of one's sessions should not
    /// show them. How many.
    pub async fn sweep_expired(&self) -> AppResult<u64> {
        let now = self.clock.now();
        let swept = self
            .sessions
            .delete_expired_sessions(now - self.policy.idle_timeout, now - self.policy.absolute_lifetime)
            .await?;
        Ok(swept)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::{Harness, People};
    use ostrog_domain::role::Role;

    /// A new Operator and a full session of theirs.
    async fn signed_in(t: &Harness, people: &People) -> (EmployeeId, Issued) {
        let id = t.caller(Role::Operator).await.employee.id;
        let record = t.store.employee(id).await.unwrap().unwrap();
        (id, people.sessions.issue(&record, Stage::Full, &Ctx::default()).await.unwrap())
    }

    #[tokio::test]
    async fn only_the_persons_activity_keeps_a_session_from_idling_out() {
        let t = Harness::new().await;
        let people = t.people();
        let (id, issued) = signed_in(&t, &people).await;
        let sessions = &people.sessions;
        t.clock.advance(20 * MINUTE);
        sessions.caller(&issued.token, None, Activity::Person).await.unwrap();
        t.clock.advance(20 * MINUTE);
        // 40 minutes after sign-in, 20 after the person's last request: live.
        sessions.caller(&issued.token, None, Activity::Background).await.unwrap();
        t.clock.advance(11 * MINUTE);
        // Background checks did not count: 31 idle minutes end it.
        let refused = sessions.caller(&issued.token, None, Activity::Background).await;
        assert!(matches!(refused, Err(AppError::Unauthenticated)));
        assert!(t.store.sessions_of(id).await.unwrap().is_empty(), "the expired session is deleted");
    }

    #[tokio::test]
    async fn the_sweep_deletes_only_expired_sessions() {
        let t = Harness::new().await;
        let people = t.people();
        let (id, _old) = signed_in(&t, &people).await;
        t.clock.advance(25 * MINUTE);
        let record = t.store.employee(id).await.unwrap().unwrap();
        let young = people.sessions.issue(&record, Stage::Full, &Ctx::default()).await.unwrap();
        t.clock.advance(6 * MINUTE);
        assert_eq!(people.sessions.sweep_expired().await.unwrap(), 1);
        assert_eq!(t.store.sessions_of(id).await.unwrap().len(), 1);
        people.sessions.caller(&young.token, None, Activity::Person).await.unwrap();
    }

    #[tokio::test]
    async fn a_proof_is_fresh_for_the_reauthentication_window_only() {
        let t = Harness::new().await;
        let people = t.people();
        let (_, issued) = signed_in(&t, &people).await;
        let caller = people.sessions.caller(&issued.token, None, Activity::Person).await.unwrap();
        assert!(people.sessions.is_fresh(&caller));
        t.clock.advance(people.sessions.policy().reauth_window + 1);
        let caller = people.sessions.caller(&issued.token, None, Activity::Person).await.unwrap();
        assert!(!people.sessions.is_fresh(&caller));
    }

    #[tokio::test]
    async fn nobody_ends_another_employees_session() {
        let t = Harness::new().await;
        let people = t.people();
        let (_, theirs) = signed_in(&t, &people).await;
        let (other, _) = signed_in(&t, &people).await;
        let session = people.sessions.caller(&theirs.token, None, Activity::Person).await.unwrap().session;
        assert!(!people.sessions.end(other, session.id).await.unwrap());
        people.sessions.caller(&theirs.token, None, Activity::Person).await.unwrap();
    }
}
