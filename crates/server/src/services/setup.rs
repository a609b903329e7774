//! First run and invitations: single-use links valid for 24 hours, and the
//! one Administrator.

use crate::app::App;
use crate::auth::tokens;
use crate::error::{AppError, AppResult};
use crate::services::auditor::Ctx;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::clock::HOUR;
use ostrog_domain::employee::{Employee, EmployeeStatus, normalize_email, normalize_name};
use ostrog_domain::ids::EmployeeId;
use ostrog_domain::role::Role;
use ostrog_store::{LinkKind, NewEmployee, OneTimeLink, StoreError};
use serde_json::json;

pub const LINK_LIFETIME: i64 = 24 * HOUR;

impl App {
    /// A new set-up link while no Administrator exists; `None` once one does.
    pub async fn setup_link(&self) -> AppResult<Option<String>> {
        if self.store.administrator_exists().await? {
            return Ok(None);
        }
        let token = self.new_link(LinkKind::Setup, None).await?;
        Ok(Some(format!("{}/setup#{token}", self.public_url)))
    }

    pub(crate) async fn new_link(&self, kind: LinkKind, employee_id: Option<EmployeeId>) -> AppResult<String> {
        let token = tokens::new_token();
        self.store
            .create_link(&OneTimeLink {
                token_hash: tokens::hash_token(&token),
                kind,
                employee_id,
                expires_at: self.now() + LINK_LIFETIME,
            })
            .await?;
        Ok(token)
    }

    /// Creates the Administrator through a set-up link.
    pub async fn complete_setup(
        &self,
        token: &str,
        email: &str,
        name: &str,
        password: &str,
        ctx: &Ctx,
    ) -> AppResult<Employee> {
        // Validate before spending the link, so a typo does not burn it.
        self.administrator_identity(email, name, password)?;
        if self.store.administrator_exists().await? {
            return Err(AppError::InvalidLink);
        }
        self.store
            .consume_link(&tokens::hash_token(token), LinkKind::Setup, self.now())
            .await?
            .ok_or(AppError::InvalidLink)?;
        self.create_administrator(email, name, password, ctx).await
    }

    /// The normalised e-mail and name, once they and the password pass the rules.
    fn administrator_identity(&self, email: &str, name: &str, password: &str) -> AppResult<(String, String)> {
        let (email, name) = (normalize_email(email)?, normalize_name(name)?);
        self.password_policy.check(password, &name, &email)?;
        Ok((email, name))
    }

    /// Creates the one Administrator (set-up link or `ostrog admin create`).
    pub async fn create_administrator(
        &self,
        email: &str,
        name: &str,
        password: &str,
        ctx: &Ctx,
    ) -> AppResult<Employee> {
        let (email, name) = self.administrator_identity(email, name, password)?;
        let employee = Employee {
            id: EmployeeId::random(),
            email,
            name,
            role: Role::Administrator,
            status: EmployeeStatus::Active,
            created_at: self.now(),
        };
        let password_hash = Some(self.hasher.hash(password).await?);
        let new = NewEmployee { employee: employee.clone(), password_hash, must_change_password: false };
        self.store.create_employee(&new).await.map_err(|e| match e {
            StoreError::Conflict("administrator") => ostrog_domain::DomainError::AdministratorExists.into(),
            other => AppError::from(other),
        })?;
        let ctx = Ctx { actor: ctx.actor.or(Some(employee.id)), ..ctx.clone() };
        self.auditor
            .audit(
                &ctx,
                Action::EmployeeCreated,
                Some(employee.id.to_string()),
                Outcome::Success,
                json!({"role": "administrator"}),
            )
            .await?;
        Ok(employee)
    }

    /// An invited employee sets their password through the invitation link.
    pub async fn accept_invitation(&self, token: &str, password: &str, ctx: &Ctx) -> AppResult<()> {
        let hash = tokens::hash_token(token);
        let now = self.now();
        // Check the password against the policy before spending the link,
        // so a weak password does not burn it.
        let link = self.store.find_link(&hash, LinkKind::Invitation, now).await?.ok_or(AppError::InvalidLink)?;
        let id = link.employee_id.ok_or(AppError::InvalidLink)?;
        let record = self.store.employee(id).await?.ok_or(AppError::InvalidLink)?;
        self.password_policy.check(password, &record.employee.name, &record.employee.email)?;
        self.store.consume_link(&hash, LinkKind::Invitation, now).await?.ok_or(AppError::InvalidLink)?;
        let password_hash = self.hasher.hash(password).await?;
        self.store.set_password(id, &password_hash, false).await?;
        let ctx = Ctx { actor: Some(id), ..ctx.clone() };
        self.auditor
            .audit(&ctx, Action::EmployeeInvitationAccepted, Some(id.to_string()), Outcome::Success, json!({}))
            .await
    }
}
