//! The signed-in employee's own account.

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::guard::{AppState, authenticated, guarded};
use crate::http::routes::employees::{EmployeeView, PermissionView};
use crate::http::routes::sign_in::StageReply;
use crate::services::caller::Caller;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ostrog_domain::ids::SessionId;
use ostrog_domain::session::Stage;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

const INCOMPLETE: &[Stage] = &[Stage::SecondFactor, Stage::PasswordChange, Stage::Enrolment];

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(guarded(state, authenticated().during(INCOMPLETE), routes!(me)))
        .routes(guarded(state, authenticated(), routes!(rename)))
        .routes(guarded(state, authenticated().during(&[Stage::PasswordChange]), routes!(change_password)))
        .routes(guarded(state, authenticated().during(&[Stage::Enrolment]), routes!(begin_enrolment)))
        .routes(guarded(state, authenticated().during(&[Stage::Enrolment]), routes!(confirm_enrolment)))
        .routes(guarded(state, authenticated().fresh(), routes!(disable_two_factor)))
        .routes(guarded(state, authenticated().fresh(), routes!(replace_recovery_codes)))
        .routes(guarded(state, authenticated(), routes!(sessions)))
        // Ending sessions is sensitive (ASVS 7.5.2): a recent proof first.
        .routes(guarded(state, authenticated().fresh(), routes!(revoke_session)))
        .routes(guarded(state, authenticated().fresh(), routes!(end_other_sessions)))
}

#[derive(Serialize, ToSchema)]
struct Me {
    employee: EmployeeView,
    stage: &'static str,
    permissions: Vec<PermissionView>,
}

/// Who is signed in, how far, and with which permissions (and why).
#[utoipa::path(get, path = "/api/v1/account", tag = "account", responses((status = 200, body = Me)))]
async fn me(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Me>> {
    let permissions = app.employees.permissions(caller.employee.id).await?.into_iter().map(Into::into).collect();
    Ok(Json(Me { stage: caller.session.stage.name(), employee: caller.employee.into(), permissions }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RenameBody {
    name: String,
}

/// Changes one's own display name.
#[utoipa::path(patch, path = "/api/v1/account", tag = "account", request_body = RenameBody,
    responses((status = 204), (status = 422)))]
async fn rename(State(app): State<AppState>, caller: Caller, ApiJson(b): ApiJson<RenameBody>) -> ApiResult<StatusCode> {
    app.account.rename_self(&caller, &b.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// Changes one's own password; every other session ends.
#[utoipa::path(post, path = "/api/v1/account/password", tag = "account", request_body = PasswordBody,
    responses((status = 200, body = StageReply), (status = 401), (status = 422)))]
async fn change_password(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<PasswordBody>,
) -> ApiResult<Json<StageReply>> {
    let stage = app.account.change_password(&caller, &b.current_password, &b.new_password).await?;
    Ok(Json(StageReply { stage: stage.name() }))
}

#[derive(Serialize, ToSchema)]
struct EnrolmentReply {
    otpauth_uri: String,
    /// For typing into an app that cannot scan.
    secret: String,
    /// The `otpauth://` URI as a QR code, an SVG document.
    qr_svg: String,
}

/// Starts 2FA enrolment: a new secret as an `otpauth://` URI and a QR code.
#[utoipa::path(post, path = "/api/v1/account/two-factor/enrolment", tag = "account",
    responses((status = 200, body = EnrolmentReply), (status = 409)))]
async fn begin_enrolment(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<EnrolmentReply>> {
    let e = app.account.begin_enrolment(&caller).await?;
    Ok(Json(EnrolmentReply { otpauth_uri: e.otpauth_uri, secret: e.secret_base32, qr_svg: e.qr_svg }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConfirmBody {
    code: String,
}

#[derive(Serialize, ToSchema)]
struct RecoveryCodes {
    /// Shown this once; each works once.
    recovery_codes: Vec<String>,
    stage: &'static str,
}

#[derive(Serialize, ToSchema)]
struct Enrolled {
    /// Shown this once; each works once.
    recovery_codes: Vec<String>,
    stage: &'static str,
    /// The replaced session's CSRF token (the cookie is set anew).
    csrf_token: String,
    /// The replaced session's token, to a caller that sent `Authorization: Bearer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

/// Confirms enrolment with a first code; answers the 10 recovery codes. The
/// session is replaced (a step of authentication): the answer sets the new
/// cookie and holds the new CSRF token (and token, to a bearer caller).
#[utoipa::path(post, path = "/api/v1/account/two-factor/confirm", tag = "account", request_body = ConfirmBody,
    responses((status = 200, body = Enrolled), (status = 401), (status = 409)))]
async fn confirm_enrolment(
    State(app): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    ApiJson(b): ApiJson<ConfirmBody>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let (codes, issued) = app.account.confirm_enrolment(&caller, &b.code).await?;
    let bearer = headers.contains_key(axum::http::header::AUTHORIZATION);
    let cookie = issued.token.clone();
    let body = Enrolled {
        recovery_codes: codes,
        stage: issued.stage.name(),
        csrf_token: issued.csrf_token,
        token: bearer.then_some(issued.token),
    };
    Ok(crate::http::routes::sign_in::with_session_cookie(&app, Json(body).into_response(), &cookie))
}

/// Replaces one's recovery codes; the old ones stop working.
#[utoipa::path(post, path = "/api/v1/account/two-factor/recovery-codes", tag = "account",
    responses((status = 200, body = RecoveryCodes), (status = 409)))]
async fn replace_recovery_codes(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<RecoveryCodes>> {
    let codes = app.account.regenerate_recovery_codes(&caller).await?;
    Ok(Json(RecoveryCodes { recovery_codes: codes, stage: caller.session.stage.name() }))
}

/// Switches off one's own 2FA, where the policy for one's role allows it.
#[utoipa::path(delete, path = "/api/v1/account/two-factor", tag = "account", responses((status = 204), (status = 403)))]
async fn disable_two_factor(State(app): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    app.account.disable_own_two_factor(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct SessionView {
    id: Uuid,
    current: bool,
    stage: &'static str,
    created_at: i64,
    last_seen_at: i64,
    ip: Option<String>,
    user_agent: Option<String>,
}

/// One's own sessions: device, address, last seen.
#[utoipa::path(get, path = "/api/v1/account/sessions", tag = "account", responses((status = 200, body = [SessionView])))]
async fn sessions(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<SessionView>>> {
    let list = app.account.own_sessions(&caller).await?;
    Ok(Json(
        list.into_iter()
            .map(|s| SessionView {
                id: s.id.0,
                current: s.id == caller.session_id(),
                stage: s.stage.name(),
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                ip: s.ip,
                user_agent: s.user_agent,
            })
            .collect(),
    ))
}

/// Ends one of one's own sessions (a recent proof of identity first; the
/// current one ends by signing out).
#[utoipa::path(delete, path = "/api/v1/account/sessions/{id}", tag = "account",
    params(("id" = Uuid, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn revoke_session(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    app.account.revoke_own_session(&caller, SessionId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many sessions an operation ended.
#[derive(Serialize, ToSchema)]
pub(crate) struct Ended {
    pub ended: u64,
}

/// Ends every one of one's own sessions but the current one (a recent
/// proof of identity first).
#[utoipa::path(delete, path = "/api/v1/account/sessions", tag = "account",
    responses((status = 200, body = Ended), (status = 403)))]
async fn end_other_sessions(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Ended>> {
    Ok(Json(Ended { ended: app.account.end_other_own_sessions(&caller).await? }))
}
