//! Rows as the store hands them over: domain types plus the stored secrets
//! (hashes, encrypted blobs) that only the auth service interprets.

use ostrog_domain::clock::Millis;
use ostrog_domain::employee::{Employee, EmployeeStatus};
use ostrog_domain::ids::{EmployeeId, SessionId};
use ostrog_domain::role::Role;
use ostrog_domain::session::Stage;

#[derive(Debug, Clone)]
pub struct NewEmployee {
    pub employee: Employee,
    /// PHC string (Argon2id); `None` for an invited employee who has not set one.
    pub password_hash: Option<String>,
    pub must_change_password: bool,
}

#[derive(Debug, Clone)]
pub struct EmployeeRecord {
    pub employee: Employee,
    pub password_hash: Option<String>,
    pub must_change_password: bool,
    /// The active TOTP secret, encrypted by the server's key.
    pub totp_secret: Option<Vec<u8>>,
    /// A secret being enrolled, not yet confirmed by a first code.
    pub pending_totp_secret: Option<Vec<u8>>,
    pub totp_last_step: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct EmployeeFilter {
    pub role: Option<Role>,
    pub status: Option<EmployeeStatus>,
    /// Case-insensitive substring of name or e-mail.
    pub query: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub employee_id: EmployeeId,
    /// SHA-256 (hex) of the token; the token itself is never stored.
    pub token_hash: String,
    /// SHA-256 (hex) of the CSRF token bound to this session.
    pub csrf_hash: String,
    pub stage: Stage,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    /// When the employee last proved who they are (password + 2FA).
    pub authenticated_at: Millis,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Creates the Administrator on first run.
    Setup,
    /// Lets an invited employee set their password.
    Invitation,
}

impl LinkKind {
    pub fn name(self) -> &'static str {
        match self {
            LinkKind::Setup => "setup",
            LinkKind::Invitation => "invitation",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeLink {
    pub token_hash: String,
    pub kind: LinkKind,
    pub employee_id: Option<EmployeeId>,
    pub expires_at: Millis,
}

/// The two hash-chained logs: the security audit trail, and the log of who
/// read whose personal data (152-FZ), kept apart so each can be handed over
/// on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Trail {
    #[default]
    Security,
    PersonalDataAccess,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub trail: Trail,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    /// Entries at or after this time.
    pub since: Option<Millis>,
    /// Entries before this time (exclusive).
    pub until: Option<Millis>,
    /// Newest first: the page holds entries *before* the given sequence
    /// number, in descending order (the latest page: `i64::MAX`).
    pub newest_first: bool,
}
