//! Managing employees: create (invitation or initial password), edit,
//! block, unblock, delete, role and permission changes, 2FA reset. The
//! domain's `may_act_on` decides every action on another employee.

use crate::auth::tokens;
use crate::error::{AppError, AppResult};
use crate::realtime::Signals;
use crate::services::auditor::Auditor;
use crate::services::caller::Caller;
use crate::services::sessions::Sessions;
use crate::services::setup::Setup;
use crate::services::sign_in::SignIn;
use ostrog_domain::access::{
    Action, Effect, PermissionState, effective, explain, may_act_on, may_assign_role, may_override,
};
use ostrog_domain::audit::{self, Outcome};
use ostrog_domain::clock::Clock;
use ostrog_domain::employee::{Employee, EmployeeStatus, normalize_email, normalize_name};
use ostrog_domain::ids::EmployeeId;
use ostrog_domain::permission::{Permission, PermissionSet};
use ostrog_domain::role::Role;
use ostrog_store::{EmployeeFilter, EmployeeStore, NewEmployee, RoutingStore, StoreError};
use serde_json::json;
use std::sync::Arc;

pub struct NewEmployeeRequest {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Invitation link when true, one-time initial password when false.
    pub invite: bool,
}

/// How the new employee gets in; shown once to whoever created them.
pub enum FirstAccess {
    InvitationUrl(String),
    InitialPassword(String),
}

pub struct Employees {
    store: Arc<dyn EmployeeStore>,
    /// Chat limits, which routing reads.
    routing: Arc<dyn RoutingStore>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
    /// Ends sessions and closes connections when access changes.
    sessions: Arc<Sessions>,
    /// Hashes initial passwords; forgets failed attempts on unblocking.
    sign_in: Arc<SignIn>,
    /// Invitation links.
    setup: Arc<Setup>,
    /// A changed chat limit may let routing assign more.
    signals: Arc<Signals>,
}

impl Employees {
    #[allow(clippy::too_many_arguments)] // each is a dependency, named where `App::new` builds this
    pub fn new(
        store: Arc<dyn EmployeeStore>,
        routing: Arc<dyn RoutingStore>,
        auditor: Arc<Auditor>,
        clock: Arc<dyn Clock>,
        sessions: Arc<Sessions>,
        sign_in: Arc<SignIn>,
        setup: Arc<Setup>,
        signals: Arc<Signals>,
    ) -> Self {
        Self { store, routing, auditor, clock, sessions, sign_in, setup, signals }
    }

    pub async fn list(&self, filter: &EmployeeFilter) -> AppResult<Vec<Employee>> {
        Ok(self.store.list_employees(filter).await?)
    }

    /// Employees invited who have not accepted yet (no password of their own).
    pub async fn invited(&self) -> AppResult<Vec<EmployeeId>> {
        Ok(self.store.invited_employees().await?)
    }

    /// Loads an invitee who has not accepted yet, as one whom the caller may
    /// `action`; anyone else is a conflict (there is no invitation to change).
    async fn invitee(&self, caller: &Caller, id: EmployeeId, action: Action) -> AppResult<Employee> {
        let target = self.target(caller, id, action).await?;
        if !self.invited().await?.contains(&id) {
            return Err(AppError::Conflict(crate::error::ErrorCode::Conflict));
        }
        Ok(target)
    }

    /// A new invitation link for an invitee; the links sent before stop working.
    pub async fn resend_invitation(&self, caller: &Caller, id: EmployeeId) -> AppResult<String> {
        self.invitee(caller, id, Action::Edit).await?;
        let url = self.setup.reissue_invitation(id).await?;
        self.auditor
            .audit(
                &caller.ctx(),
                audit::Action::EmployeeInvitationResent,
                Some(id.to_string()),
                Outcome::Success,
                json!({}),
            )
            .await?;
        Ok(url)
    }

    /// Withdraws an invitation: the invitee's links stop working and the
    /// account is deleted (it never had a password or a session), leaving
    /// its name for the audit log.
    pub async fn revoke_invitation(&self, caller: &Caller, id: EmployeeId) -> AppResult<()> {
        self.invitee(caller, id, Action::Delete).await?;
        self.store.set_status(id, EmployeeStatus::Deleted, self.clock.now()).await?;
        self.auditor
            .audit(
                &caller.ctx(),
                audit::Action::EmployeeInvitationRevoked,
                Some(id.to_string()),
                Outcome::Success,
                json!({}),
            )
            .await
    }

    pub async fn get(&self, id: EmployeeId) -> AppResult<Employee> {
        let record = self.store.employee(id).await?.ok_or(AppError::NotFound)?;
        Ok(record.employee)
    }

    /// The permissions in effect for `e`: the role's, with their overrides.
    pub async fn permissions_of(&self, e: &Employee) -> AppResult<PermissionSet> {
        Ok(effective(e.role, &self.store.overrides(e.id).await?))
    }

    /// Loads the target and applies the domain's rule for `action`,
    /// auditing a refusal.
    async fn target(&self, caller: &Caller, id: EmployeeId, action: Action) -> AppResult<Employee> {
        let target = self.get(id).await?;
        if target.status == EmployeeStatus::Deleted {
            return Err(AppError::NotFound);
        }
        let held = self.permissions_of(&target).await?;
        if let Err(e) = may_act_on(&caller.actor, &target, &held, action) {
            let details = json!({"action": format!("{action:?}"), "reason": e.to_string()});
            self.auditor
                .audit(
                    &caller.ctx(),
                    audit::Action::EmployeeActionRefused,
                    Some(id.to_string()),
                    Outcome::Denied,
                    details,
                )
                .await?;
            return Err(e.into());
        }
        Ok(target)
    }

    pub async fn create(&self, caller: &Caller, req: NewEmployeeRequest) -> AppResult<(Employee, FirstAccess)> {
        may_assign_role(&caller.actor, req.role)?;
        let (email, name) = (normalize_email(&req.email)?, normalize_name(&req.name)?);
        let employee = Employee {
            id: EmployeeId::random(),
            email,
            name,
            role: req.role,
            status: EmployeeStatus::Active,
            created_at: self.clock.now(),
        };
        let (password_hash, initial) = if req.invite {
            (None, None)
        } else {
            let initial = tokens::new_token();
            (Some(self.sign_in.hasher().hash(&initial).await?), Some(initial))
        };
        let new = NewEmployee { employee: employee.clone(), password_hash, must_change_password: !req.invite };
        self.store.create_employee(&new).await.map_err(|e| match e {
            StoreError::Conflict("email") => AppError::Conflict(crate::error::ErrorCode::EmailTaken),
            StoreError::Conflict(_) => AppError::Conflict(crate::error::ErrorCode::Conflict),
            other => other.into(),
        })?;
        let access = match initial {
            Some(password) => FirstAccess::InitialPassword(password),
            None => FirstAccess::InvitationUrl(self.setup.invitation_url(employee.id).await?),
        };
        let action = if req.invite { audit::Action::EmployeeInvited } else { audit::Action::EmployeeCreated };
        self.auditor
            .audit(
                &caller.ctx(),
                action,
                Some(employee.id.to_string()),
                Outcome::Success,
                json!({"role": employee.role}),
            )
            .await?;
        Ok((employee, access))
    }

    pub async fn edit(
        &self,
        caller: &Caller,
        id: EmployeeId,
        name: Option<&str>,
        email: Option<&str>,
    ) -> AppResult<Employee> {
        let target = self.target(caller, id, Action::Edit).await?;
        let name = name.map(normalize_name).transpose()?.unwrap_or(target.name);
        let email = email.map(normalize_email).transpose()?.unwrap_or(target.email);
        self.store.update_profile(id, &name, &email).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::Conflict(crate::error::ErrorCode::EmailTaken),
            other => other.into(),
        })?;
        self.auditor
            .audit(&caller.ctx(), audit::Action::EmployeeEdited, Some(id.to_string()), Outcome::Success, json!({}))
            .await?;
        self.get(id).await
    }

    /// Block, unblock (which also restores an account disabled by failed
    /// sign-ins) or delete. Anything but unblock ends every session at once.
    pub async fn set_status(&self, caller: &Caller, id: EmployeeId, status: EmployeeStatus) -> AppResult<()> {
        let (action, name) = match status {
            EmployeeStatus::Blocked => (Action::Block, audit::Action::EmployeeBlocked),
            EmployeeStatus::Active => (Action::Unblock, audit::Action::EmployeeUnblocked),
            EmployeeStatus::Deleted => (Action::Delete, audit::Action::EmployeeDeleted),
            EmployeeStatus::Disabled => return Err(AppError::Forbidden),
        };
        self.target(caller, id, action).await?;
        self.store.set_status(id, status, self.clock.now()).await?;
        // Their open connections end now, not when they next send something.
        self.sessions.disconnect(id);
        if status == EmployeeStatus::Active {
            // A restored account starts with a clean slate of failures.
            let record = self.store.employee(id).await?.ok_or(AppError::NotFound)?;
            self.sign_in.forgive_failures(&record.employee.email).await?;
        }
        self.auditor.audit(&caller.ctx(), name, Some(id.to_string()), Outcome::Success, json!({})).await
    }

    /// Ends every session of another employee at once (ASVS 7.4.5): a lost
    /// laptop, a shared password, without blocking the person. Their open
    /// connections close now, on every node.
    pub async fn end_sessions(&self, caller: &Caller, id: EmployeeId) -> AppResult<u64> {
        self.target(caller, id, Action::EndSessions).await?;
        let ended = self.sessions.end_all(id).await?;
        let details = json!({"sessions": ended});
        self.auditor
            .audit(&caller.ctx(), audit::Action::EmployeeSessionsEnded, Some(id.to_string()), Outcome::Success, details)
            .await?;
        Ok(ended)
    }

    pub async fn set_role(&self, caller: &Caller, id: EmployeeId, role: Role) -> AppResult<()> {
        let target = self.target(caller, id, Action::ChangeRole).await?;
        may_assign_role(&caller.actor, role)?;
        self.store.set_role(id, role).await?;
        // Connections carry the permissions of their start: reconnect with the new ones.
        self.sessions.disconnect(id);
        let details = json!({"from": target.role, "to": role});
        self.auditor
            .audit(&caller.ctx(), audit::Action::EmployeeRoleChanged, Some(id.to_string()), Outcome::Success, details)
            .await
    }

    /// `None` returns the permission to the role's default.
    pub async fn set_permission(
        &self,
        caller: &Caller,
        id: EmployeeId,
        p: Permission,
        effect: Option<Effect>,
    ) -> AppResult<Vec<PermissionState>> {
        self.target(caller, id, Action::ChangePermissions).await?;
        may_override(&caller.actor, p)?;
        self.store.set_override(id, p, effect).await?;
        self.sessions.disconnect(id);
        let details = json!({"permission": p, "effect": effect});
        self.auditor
            .audit(
                &caller.ctx(),
                audit::Action::EmployeePermissionChanged,
                Some(id.to_string()),
                Outcome::Success,
                details,
            )
            .await?;
        self.permissions(id).await
    }

    pub async fn permissions(&self, id: EmployeeId) -> AppResult<Vec<PermissionState>> {
        let e = self.get(id).await?;
        Ok(explain(e.role, &self.store.overrides(id).await?))
    }

    /// How many conversations routing may give the employee at once (0–100).
    pub async fn set_chat_limit(&self, caller: &Caller, id: EmployeeId, limit: u32) -> AppResult<()> {
        if limit > 100 {
            return Err(ostrog_domain::DomainError::Invalid("limit").into());
        }
        self.target(caller, id, Action::Edit).await?;
        self.routing.set_chat_limit(id, limit).await?;
        self.signals.route();
        let details = json!({"limit": limit});
        self.auditor
            .audit(
                &caller.ctx(),
                audit::Action::EmployeeChatLimitChanged,
                Some(id.to_string()),
                Outcome::Success,
                details,
            )
            .await
    }

    pub async fn reset_two_factor(&self, caller: &Caller, id: EmployeeId) -> AppResult<()> {
        self.target(caller, id, Action::ResetTwoFactor).await?;
        self.store.clear_totp(id).await?;
        // Sessions that passed the old second factor must not outlive it.
        self.sessions.end_all(id).await?;
        self.auditor
            .audit(&caller.ctx(), audit::Action::TwoFactorReset, Some(id.to_string()), Outcome::Success, json!({}))
            .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::auditor::Ctx;
    use crate::services::caller::Activity;
    use crate::services::testing::{Harness, PASSWORD, People};
    use ostrog_domain::access::Override;
    use ostrog_domain::lockout::Failures;
    use ostrog_domain::session::Stage;

    async fn session_of(t: &Harness, people: &People, id: EmployeeId) -> String {
        let record = t.store.employee(id).await.unwrap().unwrap();
        people.sessions.issue(&record, Stage::Full, &Ctx::default()).await.unwrap().token
    }

    #[tokio::test]
    async fn a_blocked_employees_sessions_end_at_once_and_unblocking_forgives_failures() {
        let t = Harness::new().await;
        let people = t.people();
        let admin = t.caller(Role::Administrator).await;
        let op = t.employee_with_password(&people, Role::Operator).await;
        let token = session_of(&t, &people, op.id).await;
        people.employees.set_status(&admin, op.id, EmployeeStatus::Blocked).await.unwrap();
        let r = people.sessions.caller(&token, None, Activity::Background).await;
        assert!(matches!(r, Err(AppError::Unauthenticated)));
        assert!(t.store.sessions_of(op.id).await.unwrap().is_empty(), "ended, not just suspended");

        let subject = tokens::hash_token(&op.email);
        let failures = Failures { count: 7, next_attempt_at: 0 };
        t.store.set_failures("password", &subject, &failures).await.unwrap();
        people.employees.set_status(&admin, op.id, EmployeeStatus::Active).await.unwrap();
        assert_eq!(t.store.failures("password", &subject).await.unwrap().count, 0);
        assert!(
            people.sessions.caller(&token, None, Activity::Background).await.is_err(),
            "unblocking revives nothing"
        );
        people.sign_in.sign_in(&op.email, PASSWORD, &Ctx::default()).await.unwrap();
        assert_eq!(t.audited().await, ["employee.blocked", "employee.unblocked", "auth.sign_in"]);
    }

    #[tokio::test]
    async fn the_administrator_can_be_neither_blocked_nor_deleted() {
        let t = Harness::new().await;
        let people = t.people();
        let admin = t.caller(Role::Administrator).await;
        let manager = t.caller(Role::Manager).await;
        let by_manager = people.employees.set_status(&manager, admin.employee.id, EmployeeStatus::Blocked).await;
        assert!(by_manager.is_err());
        let by_self = people.employees.set_status(&admin, admin.employee.id, EmployeeStatus::Deleted).await;
        assert!(by_self.is_err());
        assert_eq!(people.employees.get(admin.employee.id).await.unwrap().status, EmployeeStatus::Active);
        let log = t.store.audit_entries(&Default::default(), 0, 10).await.unwrap();
        assert_eq!(log.len(), 2);
        assert!(log.iter().all(|e| e.event.action == "employee.action_refused" && e.event.outcome == Outcome::Denied));
    }

    #[tokio::test]
    async fn a_manager_cannot_grant_what_they_lack() {
        let t = Harness::new().await;
        let people = t.people();
        let mut manager = t.caller(Role::Manager).await;
        let lacking = [Override { permission: Permission::AuditView, effect: Effect::Revoke }];
        t.store.set_override(manager.employee.id, Permission::AuditView, Some(Effect::Revoke)).await.unwrap();
        manager.actor.permissions = effective(Role::Manager, &lacking);
        let op = t.caller(Role::Operator).await.employee;
        let grant = Some(Effect::Grant);
        assert!(people.employees.set_permission(&manager, op.id, Permission::AuditView, grant).await.is_err());
        assert!(t.store.overrides(op.id).await.unwrap().is_empty());
        // What they hold they may grant, and that is audited.
        people.employees.set_permission(&manager, op.id, Permission::StatisticsGeneral, grant).await.unwrap();
        assert_eq!(t.audited().await, ["employee.permission_changed"]);
    }

    #[tokio::test]
    async fn an_invitation_sets_the_password_once_and_a_weak_one_does_not_spend_it() {
        let t = Harness::new().await;
        let people = t.people();
        let admin = t.caller(Role::Administrator).await;
        let req = NewEmployeeRequest {
            email: "New.Person@Example.test".into(),
            name: "New Person".into(),
            role: Role::Operator,
            invite: true,
        };
        let (employee, access) = people.employees.create(&admin, req).await.unwrap();
        assert_eq!(employee.email, "new.person@example.test");
        let FirstAccess::InvitationUrl(url) = access else { panic!("an invitation was asked for") };
        let token = url.strip_prefix("https://chat.example.test/invitation#").unwrap();
        assert!(people.setup.accept_invitation(token, "short", &Ctx::default()).await.is_err());
        people.setup.accept_invitation(token, PASSWORD, &Ctx::default()).await.unwrap();
        let again = people.setup.accept_invitation(token, PASSWORD, &Ctx::default()).await;
        assert!(matches!(again, Err(AppError::InvalidLink)));
        people.sign_in.sign_in(&employee.email, PASSWORD, &Ctx::default()).await.unwrap();
    }

    #[tokio::test]
    async fn ending_an_employees_sessions_counts_them_and_is_audited() {
        let t = Harness::new().await;
        let people = t.people();
        let admin = t.caller(Role::Administrator).await;
        let op = t.caller(Role::Operator).await.employee;
        let (a, b) = (session_of(&t, &people, op.id).await, session_of(&t, &people, op.id).await);
        assert_eq!(people.employees.end_sessions(&admin, op.id).await.unwrap(), 2);
        for token in [a, b] {
            assert!(people.sessions.caller(&token, None, Activity::Background).await.is_err());
        }
        let log = t.store.audit_entries(&Default::default(), 0, 10).await.unwrap();
        assert_eq!(log[0].event.action, "employee.sessions_ended");
        assert_eq!(log[0].event.details["sessions"], 2);
    }
}
