//! The application layer's error: every way a request can be refused. The
//! HTTP layer turns it into a status and a stable code in one place
//! (`http::error`).

use ostrog_domain::DomainError;
use ostrog_domain::session::Stage;
use ostrog_store::StoreError;

pub use ostrog_protocol::{ErrorCode, catalogue_json};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sign in first")]
    Unauthenticated,
    /// The one answer for a wrong e-mail, a wrong password, an unknown,
    /// blocked or disabled account alike.
    #[error("the e-mail, password or code is not correct")]
    InvalidCredentials,
    /// The second step only: the password was right, so saying that the code
    /// did not match reveals nothing, and sends the person to their phone's clock.
    #[error("the code did not match")]
    InvalidSecondFactor,
    #[error("too many attempts; try again later")]
    TooManyAttempts { retry_after_seconds: i64 },
    #[error("you do not have permission for this")]
    Forbidden,
    #[error("finish signing in first")]
    SignInIncomplete(Stage),
    #[error("confirm your password and code again to do this")]
    ReauthenticationRequired,
    #[error("cross-site request refused")]
    CsrfRejected,
    #[error("not found")]
    NotFound,
    #[error("invalid or expired link")]
    InvalidLink,
    #[error("{0}")]
    Conflict(ErrorCode),
    #[error("the file is larger than the limit of {0} bytes")]
    FileTooLarge(u64),
    #[error("files of this type are not accepted: {0}")]
    FileTypeNotAllowed(String),
    #[error("the file contains malware ({0}) and was refused")]
    FileInfected(String),
    #[error("the archive unpacks to more than {0} bytes, more than the virus scanner reads whole, and was refused")]
    ArchiveTooLarge(u64),
    /// A file refused without being malware: the scanner could not read it
    /// whole (`scan_limits`), or an archive's contents are not accepted
    /// (`archive_encrypted`, `archive_executable`, `archive_too_deep`,
    /// `archive_too_many_entries`, `archive_unreadable`).
    #[error("the file cannot be checked for malware and was refused ({0})")]
    FileRefused(ErrorCode),
    #[error("virus scanning is unavailable, so files cannot be accepted now; chat goes on")]
    ScanningUnavailable,
    /// The scanner's self-test found it passing test files as clean.
    #[error("the virus scanner is misconfigured, so files cannot be accepted now; chat goes on")]
    ScannerMisconfigured,
    /// The messenger refused what a channel needs (a token, a webhook);
    /// its reason, which never holds a secret.
    #[error("the messenger refused: {0}")]
    ChannelRefused(String),
    /// An inbound call to a channel's hook that is not the messenger's:
    /// `bad_signature`, `stale_timestamp` or `bad_secret`.
    #[error("the call was not signed by the channel's secret or is too old")]
    HookRejected(ErrorCode),
    #[error("internal error")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl From<crate::auth::password::HashError> for AppError {
    fn from(e: crate::auth::password::HashError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<crate::keys::VaultError> for AppError {
    fn from(e: crate::keys::VaultError) -> Self {
        AppError::Internal(e.to_string())
    }
}
