//! Managing employees: create (invitation or initial password), edit,
//! block, unblock, delete, role and permission changes, 2FA reset. The
//! domain's `may_act_on` decides every action on another employee.

use crate::app::App;
use crate::auth::tokens;
use crate::error::{AppError, AppResult};
use crate::services::caller::Caller;
use ostrog_domain::access::{
    Action, Effect, PermissionState, effective, explain, may_act_on, may_assign_role, may_override,
};
use ostrog_domain::audit::{self, Outcome};
use ostrog_domain::employee::{Employee, EmployeeStatus, normalize_email, normalize_name};
use ostrog_domain::ids::EmployeeId;
use ostrog_domain::permission::{Permission, PermissionSet};
use ostrog_domain::role::Role;
use ostrog_store::{EmployeeFilter, LinkKind, NewEmployee, StoreError};
use serde_json::json;

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

impl App {
    pub async fn list_employees(&self, filter: &EmployeeFilter) -> AppResult<Vec<Employee>> {
        Ok(self.store.list_employees(filter).await?)
    }

    pub async fn get_employee(&self, id: EmployeeId) -> AppResult<Employee> {
        let record = self.store.employee(id).await?.ok_or(AppError::NotFound)?;
        Ok(record.employee)
    }

    pub(crate) async fn permissions_of(&self, e: &Employee) -> AppResult<PermissionSet> {
        Ok(effective(e.role, &self.store.overrides(e.id).await?))
    }

    /// Loads the target and applies the domain's rule for `action`,
    /// auditing a refusal.
    async fn target(&self, caller: &Caller, id: EmployeeId, action: Action) -> AppResult<Employee> {
        let target = self.get_employee(id).await?;
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

    pub async fn create_employee(
        &self,
        caller: &Caller,
        req: NewEmployeeRequest,
    ) -> AppResult<(Employee, FirstAccess)> {
        may_assign_role(&caller.actor, req.role)?;
        let (email, name) = (normalize_email(&req.email)?, normalize_name(&req.name)?);
        let employee = Employee {
            id: EmployeeId::random(),
            email,
            name,
            role: req.role,
            status: EmployeeStatus::Active,
            created_at: self.now(),
        };
        let (password_hash, initial) = if req.invite {
            (None, None)
        } else {
            let initial = tokens::new_token();
            (Some(self.hasher.hash(&initial).await?), Some(initial))
        };
        let new = NewEmployee { employee: employee.clone(), password_hash, must_change_password: !req.invite };
        self.store.create_employee(&new).await.map_err(|e| match e {
            StoreError::Conflict("email") => AppError::Conflict(crate::error::ErrorCode::EmailTaken),
            StoreError::Conflict(_) => AppError::Conflict(crate::error::ErrorCode::Conflict),
            other => other.into(),
        })?;
        let access = match initial {
            Some(password) => FirstAccess::InitialPassword(password),
            None => {
                let token = self.new_link(LinkKind::Invitation, Some(employee.id)).await?;
                FirstAccess::InvitationUrl(format!("{}/invitation#{token}", self.public_url))
            }
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

    pub async fn edit_employee(
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
        self.get_employee(id).await
    }

    /// Block, unblock (which also restores an account disabled by failed
    /// sign-ins) or delete. Anything but unblock ends every session at once.
    pub async fn set_employee_status(&self, caller: &Caller, id: EmployeeId, status: EmployeeStatus) -> AppResult<()> {
        let (action, name) = match status {
            EmployeeStatus::Blocked => (Action::Block, audit::Action::EmployeeBlocked),
            EmployeeStatus::Active => (Action::Unblock, audit::Action::EmployeeUnblocked),
            EmployeeStatus::Deleted => (Action::Delete, audit::Action::EmployeeDeleted),
            EmployeeStatus::Disabled => return Err(AppError::Forbidden),
        };
        self.target(caller, id, action).await?;
        self.store.set_status(id, status, self.now()).await?;
        // Their open connections end now, not when they next send something.
        self.realtime.hub.disconnect_employee(id);
        if status == EmployeeStatus::Active {
            // A restored account starts with a clean slate of failures.
            let record = self.store.employee(id).await?.ok_or(AppError::NotFound)?;
            self.store.clear_failures("password", &tokens::hash_token(&record.employee.email)).await?;
        }
        self.auditor.audit(&caller.ctx(), name, Some(id.to_string()), Outcome::Success, json!({})).await
    }

    /// Ends every session of another employee at once (ASVS 7.4.5): a lost
    /// laptop, a shared password, without blocking the person. Their open
    /// connections close now, on every node.
    pub async fn end_employee_sessions(&self, caller: &Caller, id: EmployeeId) -> AppResult<u64> {
        self.target(caller, id, Action::EndSessions).await?;
        let mut ended = 0u64;
        for session in self.store.sessions_of(id).await? {
            if self.store.delete_session(id, session.id).await? {
                ended += 1;
            }
        }
        self.realtime.hub.disconnect_employee(id);
        let details = json!({"sessions": ended});
        self.auditor
            .audit(&caller.ctx(), audit::Action::EmployeeSessionsEnded, Some(id.to_string()), Outcome::Success, details)
            .await?;
        Ok(ended)
    }

    pub async fn set_employee_role(&self, caller: &Caller, id: EmployeeId, role: Role) -> AppResult<()> {
        let target = self.target(caller, id, Action::ChangeRole).await?;
        may_assign_role(&caller.actor, role)?;
        self.store.set_role(id, role).await?;
        // Connections carry the permissions of their start: reconnect with the new ones.
        self.realtime.hub.disconnect_employee(id);
        let details = json!({"from": target.role, "to": role});
        self.auditor
            .audit(&caller.ctx(), audit::Action::EmployeeRoleChanged, Some(id.to_string()), Outcome::Success, details)
            .await
    }

    /// `None` returns the permission to the role's default.
    pub async fn set_employee_permission(
        &self,
        caller: &Caller,
        id: EmployeeId,
        p: Permission,
        effect: Option<Effect>,
    ) -> AppResult<Vec<PermissionState>> {
        self.target(caller, id, Action::ChangePermissions).await?;
        may_override(&caller.actor, p)?;
        self.store.set_override(id, p, effect).await?;
        self.realtime.hub.disconnect_employee(id);
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
        self.employee_permissions(id).await
    }

    pub async fn employee_permissions(&self, id: EmployeeId) -> AppResult<Vec<PermissionState>> {
        let e = self.get_employee(id).await?;
        Ok(explain(e.role, &self.store.overrides(id).await?))
    }

    /// How many conversations routing may give the employee at once (0–100).
    pub async fn set_chat_limit(&self, caller: &Caller, id: EmployeeId, limit: u32) -> AppResult<()> {
        if limit > 100 {
            return Err(ostrog_domain::DomainError::Invalid("limit").into());
        }
        self.target(caller, id, Action::Edit).await?;
        self.store.set_chat_limit(id, limit).await?;
        self.realtime.signals.route();
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
        self.store.delete_sessions_of(id).await?;
        self.realtime.hub.disconnect_employee(id);
        self.auditor
            .audit(&caller.ctx(), audit::Action::TwoFactorReset, Some(id.to_string()), Outcome::Success, json!({}))
            .await
    }
}
