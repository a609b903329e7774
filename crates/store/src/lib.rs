//! The storage interface: one trait per aggregate, speaking domain types.
//! Backends (SQLite, PostgreSQL) live in `ostrog-store-sql`; `conformance`
//! is the one test suite every backend must pass.
//!
//! Secrets arrive here already hashed or encrypted: the store never sees a
//! password, a session token or a TOTP secret in the clear.

mod channels;
mod cluster;
pub mod conformance;
mod conversations;
mod keys;
mod records;

pub use channels::*;
pub use cluster::*;
pub use conversations::*;
pub use keys::*;
pub use records::*;

use async_trait::async_trait;
use ostrog_domain::access::Override;
use ostrog_domain::audit::{AuditEntry, AuditEvent};
use ostrog_domain::clock::Millis;
use ostrog_domain::employee::{Employee, EmployeeStatus};
use ostrog_domain::ids::{EmployeeId, SessionId};
use ostrog_domain::lockout::Failures;
use ostrog_domain::permission::Permission;
use ostrog_domain::role::Role;
use ostrog_domain::session::Stage;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

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

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, s: &SessionRecord) -> StoreResult<()>;
    async fn session_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>>;
    /// `NotFound` when the session is gone (signed out or expired).
    async fn touch_session(&self, id: SessionId, at: Millis) -> StoreResult<()>;
    async fn set_session_stage(&self, id: SessionId, stage: Stage, authenticated_at: Millis) -> StoreResult<()>;
    async fn sessions_of(&self, employee: EmployeeId) -> StoreResult<Vec<SessionRecord>>;
    /// Deletes one session of `employee`; false when there was none.
    async fn delete_session(&self, employee: EmployeeId, id: SessionId) -> StoreResult<bool>;
    async fn delete_sessions_of(&self, employee: EmployeeId) -> StoreResult<u64>;
    async fn delete_expired_sessions(&self, idle_before: Millis, created_before: Millis) -> StoreResult<u64>;
}

#[async_trait]
pub trait LinkStore: Send + Sync {
    async fn create_link(&self, link: &OneTimeLink) -> StoreResult<()>;
    /// The link, if it exists, is of `kind`, is unused and unexpired; without using it.
    async fn find_link(&self, token_hash: &str, kind: LinkKind, now: Millis) -> StoreResult<Option<OneTimeLink>>;
    /// Marks the link used and returns it, if it exists, is of `kind`, is
    /// unused and has not expired at `now`; atomically, so it works once.
    async fn consume_link(&self, token_hash: &str, kind: LinkKind, now: Millis) -> StoreResult<Option<OneTimeLink>>;
}

#[async_trait]
pub trait AttemptStore: Send + Sync {
    async fn failures(&self, scope: &str, subject: &str) -> StoreResult<Failures>;
    async fn set_failures(&self, scope: &str, subject: &str, f: &Failures) -> StoreResult<()>;
    async fn clear_failures(&self, scope: &str, subject: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends the event at the end of the trail's chain; appends are
    /// serialised so that concurrent writers never fork the chain.
    async fn append_to(&self, trail: Trail, event: &AuditEvent) -> StoreResult<AuditEntry>;

    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<AuditEntry> {
        self.append_to(Trail::Security, event).await
    }
    /// Entries with `seq > after`, oldest first, at most `limit`, filtered.
    async fn audit_entries(&self, filter: &AuditFilter, after: i64, limit: u32) -> StoreResult<Vec<AuditEntry>>;
}

#[async_trait]
pub trait SettingsStore: Send + Sync {
    async fn setting(&self, key: &str) -> StoreResult<Option<serde_json::Value>>;
    async fn put_setting(&self, key: &str, value: &serde_json::Value) -> StoreResult<()>;
}

/// Everything a backend provides.
#[async_trait]
pub trait Store:
    EmployeeStore
    + SessionStore
    + LinkStore
    + AttemptStore
    + AuditStore
    + SettingsStore
    + ConversationStore
    + FileStore
    + SubjectStore
    + ChannelStore
    + ClusterStore
{
    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> StoreResult<()>;
    fn backend(&self) -> &'static str;
    /// Periodic housekeeping of the backend (SQLite: checkpoint the
    /// write-ahead log); the server calls it every second.
    async fn maintain(&self) -> StoreResult<()>;
    /// Rewrites the database so that rows deleted or overwritten in place
    /// leave as little behind as the backend allows (SQLite: `VACUUM` and an
    /// emptied write-ahead log; PostgreSQL: `VACUUM`, which frees dead rows
    /// without promising to overwrite them). Slow on a large database.
    async fn compact(&self) -> StoreResult<()>;
}
