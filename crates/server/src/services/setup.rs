//! First run and invitations: single-use links valid for 24 hours, and the
//! one Administrator.

use crate::auth::password::Hasher;
use crate::auth::tokens;
use crate::error::{AppError, AppResult};
use crate::services::auditor::{Auditor, Ctx};
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::clock::{Clock, HOUR};
use ostrog_domain::employee::{Employee, EmployeeStatus, normalize_email, normalize_name};
use ostrog_domain::ids::EmployeeId;
use ostrog_domain::password_policy::PasswordPolicy;
use ostrog_domain::role::Role;
use ostrog_store::{EmployeeStore, LinkKind, LinkStore, NewEmployee, OneTimeLink, StoreError};
use serde_json::json;
use std::sync::Arc;

pub const LINK_LIFETIME: i64 = 24 * HOUR;

pub struct Setup {
    employees: Arc<dyn EmployeeStore>,
    links: Arc<dyn LinkStore>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
    hasher: Hasher,
    password_policy: PasswordPolicy,
    /// Where links point: `<public_url>/setup#…`, `<public_url>/invitation#…`.
    public_url: String,
}

impl Setup {
    pub fn new(
        employees: Arc<dyn EmployeeStore>,
        links: Arc<dyn LinkStore>,
        auditor: Arc<Auditor>,
        clock: Arc<dyn Clock>,
        hasher: Hasher,
        password_policy: PasswordPolicy,
        public_url: String,
    ) -> Self {
        Self { employees, links, auditor, clock, hasher, password_policy, public_url }
    }

    /// A new set-up link while no Administrator exists; `None` once one does.
    pub async fn link(&self) -> AppResult<Option<String>> {
        if self.employees.administrator_exists().await? {
            return Ok(None);
        }
        let token = self.new_link(LinkKind::Setup, None).await?;
        Ok(Some(format!("{}/setup#{token}", self.public_url)))
    }

    /// The URL of a new invitation of `employee`, valid for `LINK_LIFETIME`.
    pub(crate) async fn invitation_url(&self, employee: EmployeeId) -> AppResult<String> {
        let token = self.new_link(LinkKind::Invitation, Some(employee)).await?;
        Ok(format!("{}/invitation#{token}", self.public_url))
    }

    /// A new invitation of `employee` in place of the ones sent before,
    /// which stop working at once.
    pub(crate) async fn reissue_invitation(&self, employee: EmployeeId) -> AppResult<String> {
        self.links.revoke_links(employee, LinkKind::Invitation).await?;
        self.invitation_url(employee).await
    }

    async fn new_link(&self, kind: LinkKind, employee_id: Option<EmployeeId>) -> AppResult<String> {
        let token = tokens::new_token();
        self.links
            .create_link(&OneTimeLink {
                token_hash: tokens::hash_token(&token),
                kind,
                employee_id,
                expires_at: self.clock.now() + LINK_LIFETIME,
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
        if self.employees.administrator_exists().await? {
            return Err(AppError::InvalidLink);
        }
        self.links
            .consume_link(&tokens::hash_token(token), LinkKind::Setup, self.clock.now())
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
            created_at: self.clock.now(),
        };
        let password_hash = Some(self.hasher.hash(password).await?);
        let new = NewEmployee { employee: employee.clone(), password_hash, must_change_password: false };
        self.employees.create_employee(&new).await.map_err(|e| match e {
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
        let now = self.clock.now();
        // Check the password against the policy before spending the link,
        // so a weak password does not burn it.
        let link = self.links.find_link(&hash, LinkKind::Invitation, now).await?.ok_or(AppError::InvalidLink)?;
        let id = link.employee_id.ok_or(AppError::InvalidLink)?;
        let record = self.employees.employee(id).await?.ok_or(AppError::InvalidLink)?;
        self.password_policy.check(password, &record.employee.name, &record.employee.email)?;
        self.links.consume_link(&hash, LinkKind::Invitation, now).await?.ok_or(AppError::InvalidLink)?;
        let password_hash = self.hasher.hash(password).await?;
        self.employees.set_password(id, &password_hash, false).await?;
        let ctx = Ctx { actor: Some(id), ..ctx.clone() };
        self.auditor
            .audit(&ctx, Action::EmployeeInvitationAccepted, Some(id.to_string()), Outcome::Success, json!({}))
            .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::{Harness, PASSWORD};

    fn token(link: &str) -> &str {
        link.strip_prefix("https://chat.example.test/setup#").unwrap()
    }

    #[tokio::test]
    async fn setup_runs_once_and_a_weak_password_does_not_spend_the_link() {
        let t = Harness::new().await;
        let people = t.people();
        let (first, second) =
            (people.setup.link().await.unwrap().unwrap(), people.setup.link().await.unwrap().unwrap());
        let ctx = Ctx::default();
        let weak = people.setup.complete_setup(token(&first), "ada@example.test", "Ada", "weak", &ctx).await;
        assert!(weak.is_err());
        let admin =
            people.setup.complete_setup(token(&first), "ada@example.test", "Ada", PASSWORD, &ctx).await.unwrap();
        assert_eq!(admin.role, Role::Administrator);
        assert!(people.setup.link().await.unwrap().is_none(), "no new link once an Administrator exists");
        for link in [&first, &second] {
            let again = people.setup.complete_setup(token(link), "eve@example.test", "Eve", PASSWORD, &ctx).await;
            assert!(matches!(again, Err(AppError::InvalidLink)));
        }
        assert_eq!(t.audited().await, ["employee.created"]);
    }

    #[tokio::test]
    async fn links_expire_after_a_day() {
        let t = Harness::new().await;
        let people = t.people();
        let link = people.setup.link().await.unwrap().unwrap();
        t.clock.advance(LINK_LIFETIME + 1);
        let late =
            people.setup.complete_setup(token(&link), "ada@example.test", "Ada", PASSWORD, &Ctx::default()).await;
        assert!(matches!(late, Err(AppError::InvalidLink)));
    }
}
