//! The one place errors become HTTP answers: a status and a body of one
//! shape, `{"error": {"code", "message", …}}`, with a stable
//! machine-readable code and nothing internal in it.

use crate::error::{AppError, ErrorCode};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ostrog_domain::DomainError;
use ostrog_store::StoreError;
use serde_json::{Value, json};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub extra: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), extra: Value::Null }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        use StatusCode as S;
        let message = e.to_string();
        let (status, code, extra) = match &e {
            AppError::Domain(d) => return domain(d),
            AppError::Store(StoreError::NotFound) | AppError::NotFound => {
                (S::NOT_FOUND, ErrorCode::NotFound, Value::Null)
            }
            AppError::Store(StoreError::Conflict(_)) => (S::CONFLICT, ErrorCode::Conflict, Value::Null),
            AppError::Store(other) => {
                tracing::error!(error = %other, "storage failure");
                return ApiError::new(
                    S::SERVICE_UNAVAILABLE,
                    ErrorCode::StorageUnavailable,
                    "storage is unavailable; try again",
                );
            }
            AppError::Unauthenticated => (S::UNAUTHORIZED, ErrorCode::Unauthenticated, Value::Null),
            AppError::InvalidCredentials => (S::UNAUTHORIZED, ErrorCode::InvalidCredentials, Value::Null),
            AppError::InvalidSecondFactor => (S::UNAUTHORIZED, ErrorCode::InvalidSecondFactor, Value::Null),
            AppError::TooManyAttempts { retry_after_seconds } => {
                (S::TOO_MANY_REQUESTS, ErrorCode::TooManyAttempts, json!({"retry_after_seconds": retry_after_seconds}))
            }
            AppError::Forbidden => (S::FORBIDDEN, ErrorCode::Forbidden, Value::Null),
            AppError::SignInIncomplete(stage) => {
                (S::FORBIDDEN, ErrorCode::SignInIncomplete, json!({"stage": stage.name()}))
            }
            AppError::ReauthenticationRequired => (S::FORBIDDEN, ErrorCode::ReauthenticationRequired, Value::Null),
            AppError::CsrfRejected => (S::FORBIDDEN, ErrorCode::CsrfRejected, Value::Null),
            AppError::InvalidLink => (S::GONE, ErrorCode::InvalidLink, Value::Null),
            // A taken e-mail is about the form's field of that name.
            AppError::Conflict(ErrorCode::EmailTaken) => {
                (S::CONFLICT, ErrorCode::EmailTaken, json!({"field": "email"}))
            }
            AppError::Conflict(ErrorCode::ReplyCodeTaken) => {
                (S::CONFLICT, ErrorCode::ReplyCodeTaken, json!({"field": "code"}))
            }
            AppError::Conflict(ErrorCode::LabelTaken) => (S::CONFLICT, ErrorCode::LabelTaken, json!({"field": "name"})),
            AppError::Conflict(ErrorCode::TeamTaken) => (S::CONFLICT, ErrorCode::TeamTaken, json!({"field": "name"})),
            AppError::Conflict(code) => (S::CONFLICT, *code, Value::Null),
            AppError::FileTooLarge(limit) => {
                (S::PAYLOAD_TOO_LARGE, ErrorCode::FileTooLarge, json!({"limit_bytes": limit}))
            }
            AppError::FileTypeNotAllowed(t) => {
                (S::UNSUPPORTED_MEDIA_TYPE, ErrorCode::FileTypeNotAllowed, json!({"detected": t}))
            }
            AppError::FileInfected(name) => {
                (S::UNPROCESSABLE_ENTITY, ErrorCode::FileInfected, json!({"signature": name}))
            }
            AppError::ArchiveTooLarge(limit) => {
                (S::UNPROCESSABLE_ENTITY, ErrorCode::ArchiveTooLarge, json!({"limit_unpacked_bytes": limit}))
            }
            AppError::FileRefused(code) => (S::UNPROCESSABLE_ENTITY, *code, Value::Null),
            AppError::ScanningUnavailable => (S::SERVICE_UNAVAILABLE, ErrorCode::ScanningUnavailable, Value::Null),
            AppError::ScannerMisconfigured => (S::SERVICE_UNAVAILABLE, ErrorCode::ScannerMisconfigured, Value::Null),
            // What the administrator gave (a token, an address) did not work: their input.
            AppError::ChannelRefused(_) => (S::UNPROCESSABLE_ENTITY, ErrorCode::ChannelRefused, Value::Null),
            AppError::HookRejected(code) => (S::UNAUTHORIZED, *code, Value::Null),
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (S::INTERNAL_SERVER_ERROR, ErrorCode::Internal, Value::Null)
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
        DomainError::AdministratorImmune => (S::FORBIDDEN, ErrorCode::AdministratorImmune),
        DomainError::AdministratorExists => (S::CONFLICT, ErrorCode::AdministratorExists),
        DomainError::SelfModification => (S::FORBIDDEN, ErrorCode::SelfModification),
        DomainError::NotHeld(_) => (S::FORBIDDEN, ErrorCode::PermissionNotHeld),
        DomainError::TargetOutranks => (S::FORBIDDEN, ErrorCode::TargetOutranks),
        DomainError::UnknownPermission(_) | DomainError::UnknownRole(_) | DomainError::Invalid(_) => {
            (S::UNPROCESSABLE_ENTITY, ErrorCode::InvalidInput)
        }
        DomainError::WeakPassword(_) | DomainError::PasswordTooShort(_) => {
            (S::UNPROCESSABLE_ENTITY, ErrorCode::WeakPassword)
        }
        DomainError::TwoFactorRequired => (S::CONFLICT, ErrorCode::TwoFactorRequired),
    };
    let extra = match e {
        DomainError::WeakPassword(reason) => json!({"reason": reason}),
        DomainError::PasswordTooShort(min) => json!({"reason": "too_short", "min_length": min}),
        DomainError::Invalid(field) => json!({"field": field}),
        _ => Value::Null,
    };
    ApiError { status, code, message: e.to_string(), extra }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let (Value::Object(target), Value::Object(extra)) = (&mut error, &self.extra) {
            target.extend(extra.clone());
        }
        let retry = self.extra.get("retry_after_seconds").and_then(Value::as_i64);
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        // The stable code, for the layers around the handler (the refusals the audit counts).
        response.extensions_mut().insert(self.code);
        if let Some(seconds) = retry
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
