//! The domain's refusals. Each variant is a rule that was broken, never an
//! internal failure; the HTTP layer maps them to status codes in one place.

use crate::permission::Permission;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("the Administrator cannot be blocked, deleted, demoted or restricted")]
    AdministratorImmune,
    #[error("there is already an Administrator")]
    AdministratorExists,
    #[error("you cannot change your own role, permissions or status")]
    SelfModification,
    #[error("you cannot grant or act with a permission you do not hold: {0}")]
    NotHeld(Permission),
    #[error("you may not act on an employee whose access exceeds yours")]
    TargetOutranks,
    #[error("unknown permission: {0}")]
    UnknownPermission(String),
    #[error("unknown role: {0}")]
    UnknownRole(String),
    #[error("password rejected: {0}")]
    WeakPassword(&'static str),
    /// Too short for the configured policy: the refusal names the minimum, so
    /// the page says exactly how long a password must be.
    #[error("password rejected: too_short (at least {0} characters)")]
    PasswordTooShort(usize),
    #[error("invalid input: {0}")]
    Invalid(&'static str),
    #[error("2FA cannot be switched off while policy requires it")]
    TwoFactorRequired,
}
