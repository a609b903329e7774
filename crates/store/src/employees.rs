//! Employees: their accounts, permission overrides and second factor.

use crate::{EmployeeFilter, EmployeeRecord, NewEmployee, StoreResult};
use async_trait::async_trait;
use ostrog_domain::access::Override;
use ostrog_domain::clock::Millis;
use ostrog_domain::employee::{Employee, EmployeeStatus};
use ostrog_domain::ids::EmployeeId;
use ostrog_domain::permission::Permission;
use ostrog_domain::role::Role;

/// Changes to one employee fail with `NotFound` when no such employee
/// exists, and also when the employee is deleted: a deleted employee is a
/// tombstone that no longer changes. Rows referring to a missing employee
/// (a session, an override, a link) fail with `NotFound` as well.
#[async_trait]
pub trait EmployeeStore: Send + Sync {
    /// Fails with `Conflict("email")` when the e-mail is taken, and with
    /// `Conflict("administrator")` when creating a second Administrator.
    async fn create_employee(&self, new: &NewEmployee) -> StoreResult<()>;
    async fn employee(&self, id: EmployeeId) -> StoreResult<Option<EmployeeRecord>>;
    async fn employee_by_email(&self, email: &str) -> StoreResult<Option<EmployeeRecord>>;
    async fn list_employees(&self, filter: &EmployeeFilter) -> StoreResult<Vec<Employee>>;
    async fn administrator_exists(&self) -> StoreResult<bool>;
    /// Employees invited who have not yet set a password (not deleted):
    /// they cannot sign in until they accept their invitation.
    async fn invited_employees(&self) -> StoreResult<Vec<EmployeeId>>;
    async fn update_profile(&self, id: EmployeeId, name: &str, email: &str) -> StoreResult<()>;
    async fn set_role(&self, id: EmployeeId, role: Role) -> StoreResult<()>;
    /// Changes the status; `Deleted` also destroys credentials, 2FA secrets,
    /// recovery codes, overrides and sessions, keeping only id and name.
    /// Any other status but `Active` ends every session of the employee
    /// in the same transaction.
    async fn set_status(&self, id: EmployeeId, status: EmployeeStatus, at: Millis) -> StoreResult<()>;
    async fn set_password(&self, id: EmployeeId, hash: &str, must_change: bool) -> StoreResult<()>;
    async fn overrides(&self, id: EmployeeId) -> StoreResult<Vec<Override>>;
    /// `None` removes the override (back to the role default).
    async fn set_override(
        &self,
        id: EmployeeId,
        p: Permission,
        effect: Option<ostrog_domain::access::Effect>,
    ) -> StoreResult<()>;

    // Second factor.
    async fn set_pending_totp(&self, id: EmployeeId, encrypted_secret: Option<&[u8]>) -> StoreResult<()>;
    /// Promotes the pending secret to the active one, records `step` as
    /// used and replaces the recovery codes, in one transaction; `NotFound`
    /// when no secret is pending.
    async fn activate_totp(&self, id: EmployeeId, step: i64, recovery_code_hashes: &[String]) -> StoreResult<()>;
    /// Replaces the recovery codes of an employee with an active TOTP
    /// secret; `NotFound` if there is none.
    async fn replace_recovery_codes(&self, id: EmployeeId, recovery_code_hashes: &[String]) -> StoreResult<()>;
    /// Records a TOTP step as used if it is later than the last one; false
    /// when it was not (a replay, even from a concurrent request).
    async fn use_totp_step(&self, id: EmployeeId, step: i64) -> StoreResult<bool>;
    /// Marks an unused recovery code as used; false when none matched.
    async fn use_recovery_code(&self, id: EmployeeId, code_hash: &str, at: Millis) -> StoreResult<bool>;
    async fn unused_recovery_codes(&self, id: EmployeeId) -> StoreResult<u32>;
    /// Removes the TOTP secret (active and pending) and the recovery codes.
    async fn clear_totp(&self, id: EmployeeId) -> StoreResult<()>;
}
