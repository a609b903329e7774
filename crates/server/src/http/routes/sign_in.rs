//! First-run set-up, invitations, sign-in with its second step, step-up
//! re-authentication and sign-out.

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ClientInfo};
use crate::http::guard::{AppState, SECURE_SESSION_COOKIE, SESSION_COOKIE, authenticated, guarded, public};
use crate::http::routes::employees::EmployeeView;
use crate::services::caller::Caller;
use crate::services::sign_in::{Issued, Proof};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ostrog_domain::session::Stage;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const ALL_STAGES: &[Stage] = &[Stage::SecondFactor, Stage::PasswordChange, Stage::Enrolment];

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(guarded(state, public(), routes!(setup)))
        .routes(guarded(state, public(), routes!(accept_invitation)))
        .routes(guarded(state, public(), routes!(sign_in)))
        .routes(guarded(state, authenticated().during(&[Stage::SecondFactor]), routes!(second_factor)))
        .routes(guarded(state, authenticated(), routes!(reauthenticate)))
        .routes(guarded(state, authenticated().during(ALL_STAGES), routes!(sign_out)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetupBody {
    /// The token from the set-up link.
    token: String,
    email: String,
    name: String,
    password: String,
}

/// Creates the Administrator with the one-time set-up link printed by `ostrog serve`.
#[utoipa::path(post, path = "/api/v1/setup", tag = "sign-in", request_body = SetupBody,
    responses((status = 201, body = EmployeeView), (status = 410, description = "invalid or used link")))]
async fn setup(
    State(app): State<AppState>,
    client: ClientInfo,
    ApiJson(b): ApiJson<SetupBody>,
) -> ApiResult<(StatusCode, Json<EmployeeView>)> {
    let e = app.setup.complete_setup(&b.token, &b.email, &b.name, &b.password, &client.ctx()).await?;
    Ok((StatusCode::CREATED, Json(e.into())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InvitationBody {
    token: String,
    password: String,
}

/// An invited employee sets their password.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "sign-in", request_body = InvitationBody,
    responses((status = 204), (status = 410, description = "invalid or used link")))]
async fn accept_invitation(
    State(app): State<AppState>,
    client: ClientInfo,
    ApiJson(b): ApiJson<InvitationBody>,
) -> ApiResult<StatusCode> {
    app.setup.accept_invitation(&b.token, &b.password, &client.ctx()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignInBody {
    email: String,
    password: String,
    /// Return the session token in the body, for API clients that send it as
    /// a Bearer header. Browsers leave this out and use the cookie.
    #[serde(default)]
    api_client: bool,
}

#[derive(Serialize, ToSchema)]
struct SignInReply {
    /// What is still needed: `second_factor`, `password_change`, `enrolment` or `full`.
    stage: &'static str,
    /// Send back in the `X-CSRF-Token` header with every cookie-authenticated change.
    csrf_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

/// Signs in with e-mail and password; the session may still need the second factor.
#[utoipa::path(post, path = "/api/v1/auth/sign-in", tag = "sign-in", request_body = SignInBody,
    responses((status = 200, body = SignInReply), (status = 401, description = "invalid_credentials"), (status = 429)))]
async fn sign_in(
    State(app): State<AppState>,
    client: ClientInfo,
    ApiJson(b): ApiJson<SignInBody>,
) -> ApiResult<Response> {
    let issued = app.sign_in.sign_in(&b.email, &b.password, &client.ctx()).await?;
    Ok(session_response(&app, issued, b.api_client))
}

fn session_response(app: &crate::app::App, issued: Issued, api_client: bool) -> Response {
    let cookie = issued.token.clone();
    let reply = SignInReply {
        stage: issued.stage.name(),
        csrf_token: issued.csrf_token,
        token: api_client.then_some(issued.token),
    };
    with_session_cookie(app, Json(reply).into_response(), &cookie)
}

/// The answer, setting the cookie of the session whose token is `token`.
pub(crate) fn with_session_cookie(app: &crate::app::App, mut response: Response, token: &str) -> Response {
    let cookie = session_cookie(app.secure_cookies, token, app.sessions.policy().absolute_lifetime / 1000);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn session_cookie(secure: bool, token: &str, max_age_seconds: i64) -> String {
    if secure {
        format!("{SECURE_SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age={max_age_seconds}")
    } else {
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}")
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SecondFactorBody {
    /// The 6-digit code from the authenticator app.
    code: Option<String>,
    /// One of the recovery codes, instead of `code`.
    recovery_code: Option<String>,
}

impl SecondFactorBody {
    fn proof(&self) -> Proof<'_> {
        match (&self.code, &self.recovery_code) {
            (_, Some(r)) => Proof::RecoveryCode(r),
            (Some(c), None) => Proof::Code(c),
            (None, None) => Proof::Code(""),
        }
    }
}

/// How far the session has got after a sign-in step.
#[derive(Serialize, ToSchema)]
pub(crate) struct StageReply {
    pub stage: &'static str,
}

/// The second sign-in step: a TOTP code or a recovery code. The session is
/// replaced: the answer sets the new cookie and holds the new CSRF token
/// (and, to a caller that sent `Authorization: Bearer`, the new token).
#[utoipa::path(post, path = "/api/v1/auth/second-factor", tag = "sign-in", request_body = SecondFactorBody,
    responses((status = 200, body = SignInReply), (status = 401), (status = 429)))]
async fn second_factor(
    State(app): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    ApiJson(b): ApiJson<SecondFactorBody>,
) -> ApiResult<Response> {
    let issued = app.sign_in.second_factor(&caller, b.proof()).await?;
    Ok(session_response(&app, issued, headers.contains_key(header::AUTHORIZATION)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReauthBody {
    password: String,
    code: Option<String>,
    recovery_code: Option<String>,
}

/// Proves the password and second factor again before a sensitive
/// operation. The session is replaced, as after the second factor: the
/// answer sets the new cookie and holds the new CSRF token (and, to a caller
/// that sent `Authorization: Bearer`, the new token); open connections move
/// to it.
#[utoipa::path(post, path = "/api/v1/auth/reauthenticate", tag = "sign-in", request_body = ReauthBody,
    responses((status = 200, body = SignInReply), (status = 401)))]
async fn reauthenticate(
    State(app): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    ApiJson(b): ApiJson<ReauthBody>,
) -> ApiResult<Response> {
    let factor = SecondFactorBody { code: b.code, recovery_code: b.recovery_code };
    let issued = app.sign_in.reauthenticate(&caller, &b.password, factor.proof()).await?;
    Ok(session_response(&app, issued, headers.contains_key(header::AUTHORIZATION)))
}

/// Ends the current session.
#[utoipa::path(post, path = "/api/v1/auth/sign-out", tag = "sign-in", responses((status = 204)))]
async fn sign_out(State(app): State<AppState>, caller: Caller) -> ApiResult<Response> {
    app.sign_in.sign_out(&caller).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&session_cookie(app.secure_cookies, "", 0)) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}
