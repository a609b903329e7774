//! The one place errors become HTTP answers: a status and a body of one
//! shape, `{"error": {"code", "message", …}}`, with a stable
//! machine-readable code and nothing internal in it.

use crate::error::AppError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ostrog_domain::DomainError;
use ostrog_store::StoreError;
use serde_json::{Value, json};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub extra: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), extra: Value::Null }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        use StatusCode as S;
        let message = e.to_string();
        let (status, code, extra) = match &e {
            AppError::Domain(d) => return domain(d),
            AppError::Store(StoreError::NotFound) | AppError::NotFound => (S::NOT_FOUND, "not_found", Value::Null),
            AppError::Store(StoreError::Conflict(_)) => (S::CONFLICT, "conflict", Value::Null),
            AppError::Store(other) => {
                tracing::error!(error = %other, "storage failure");
                return ApiError::new(
                    S::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "storage is unavailable; try again",
                );
            }
            AppError::Unauthenticated => (S::UNAUTHORIZED, "unauthenticated", Value::Null),
            AppError::InvalidCredentials => (S::UNAUTHORIZED, "invalid_credentials", Value::Null),
            AppError::TooManyAttempts { retry_after_seconds } => {
                (S::TOO_MANY_REQUESTS, "too_many_attempts", json!({"retry_after_seconds": retry_after_seconds}))
            }
            AppError::Forbidden => (S::FORBIDDEN, "forbidden", Value::Null),
            AppError::SignInIncomplete(stage) => (S::FORBIDDEN, "sign_in_incomplete", json!({"stage": stage.name()})),
            AppError::ReauthenticationRequired => (S::FORBIDDEN, "reauthentication_required", Value::Null),
            AppError::CsrfRejected => (S::FORBIDDEN, "csrf_rejected", Value::Null),
            AppError::InvalidLink => (S::GONE, "invalid_link", Value::Null),
            AppError::Conflict(code) => (S::CONFLICT, *code, Value::Null),
            AppError::FileTooLarge(limit) => (S::PAYLOAD_TOO_LARGE, "file_too_large", json!({"limit_bytes": limit})),
            AppError::FileTypeNotAllowed(t) => {
                (S::UNSUPPORTED_MEDIA_TYPE, "file_type_not_allowed", json!({"detected": t}))
            }
            AppError::FileInfected(name) => (S::UNPROCESSABLE_ENTITY, "file_infected", json!({"signature": name})),
            AppError::ArchiveTooLarge(limit) => {
                (S::UNPROCESSABLE_ENTITY, "archive_too_large", json!({"limit_unpacked_bytes": limit}))
            }
            AppError::FileRefused(code) => (S::UNPROCESSABLE_ENTITY, *code, Value::Null),
            AppError::ScanningUnavailable => (S::SERVICE_UNAVAILABLE, "scanning_unavailable", Value::Null),
            AppError::ScannerMisconfigured => (S::SERVICE_UNAVAILABLE, "scanner_misconfigured", Value::Null),
            // What the administrator gave (a token, an address) did not work: their input.
            AppError::ChannelRefused(_) => (S::UNPROCESSABLE_ENTITY, "channel_refused", Value::Null),
            AppError::HookRejected(code) => (S::UNAUTHORIZED, *code, Value::Null),
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (S::INTERNAL_SERVER_ERROR, "internal", Value::Null)
            }
        };
        ApiError { status, code, message, extra }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        AppError::from(e).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

fn domain(e: &DomainError) -> ApiError {
    use StatusCode as S;
    let (status, code) = match e {
        DomainError::AdministratorImmune => (S::FORBIDDEN, "administrator_immune"),
        DomainError::AdministratorExists => (S::CONFLICT, "administrator_exists"),
        DomainError::SelfModification => (S::FORBIDDEN, "self_modification"),
        DomainError::NotHeld(_) => (S::FORBIDDEN, "permission_not_held"),
        DomainError::TargetOutranks => (S::FORBIDDEN, "target_outranks"),
        DomainError::UnknownPermission(_) | DomainError::UnknownRole(_) | DomainError::Invalid(_) => {
            (S::UNPROCESSABLE_ENTITY, "invalid_input")
        }
        DomainError::WeakPassword(_) => (S::UNPROCESSABLE_ENTITY, "weak_password"),
        DomainError::TwoFactorRequired => (S::CONFLICT, "two_factor_required"),
    };
    let extra = match e {
        DomainError::WeakPassword(reason) => json!({"reason": reason}),
        DomainError::Invalid(field) => json!({"field": field}),
        _ => Value::Null,
    };
    ApiError { status, code, message: e.to_string(), extra }
}

/// The stable code of an error answer, kept in the response's extensions.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let (Value::Object(target), Value::Object(extra)) = (&mut error, &self.extra) {
            target.extend(extra.clone());
        }
        let retry = self.extra.get("retry_after_seconds").and_then(Value::as_i64);
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        // For the layers around the handler (the refusals the audit counts).
        response.extensions_mut().insert(ErrorCode(self.code));
        if let Some(seconds) = retry
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
