//! Permissions in one place. Every route is registered through `guarded`,
//! which takes the route's `Guard`, writes it into the OpenAPI operation as
//! `x-permission`, and wraps the route in the middleware that enforces it.
//! A handler never checks roles; it receives an authorised `Caller`.

use crate::app::App;
use crate::auth::tokens;
use crate::error::AppError;
use crate::http::error::ApiError;
use crate::http::extract::ClientInfo;
use crate::services::caller::{Activity, Caller};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::permission::Permission;
use ostrog_domain::session::Stage;
use serde_json::{Value, json};
use std::sync::Arc;
use utoipa_axum::router::UtoipaMethodRouter;

pub type AppState = Arc<App>;

pub const SESSION_COOKIE: &str = "ostrog_session";
pub const SECURE_SESSION_COOKIE: &str = "__Host-ostrog_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (sign-in, health, the OpenAPI document).
    Public,
    /// Any signed-in employee.
    Authenticated,
    /// A visitor, by the visitor token the widget keeps (checked by the
    /// handler against the widget); employees' sessions do not count.
    Visitor,
    /// A signed-in employee holding at least one of these.
    AnyOf(&'static [Permission]),
    /// The monitoring system, by `Authorization: Bearer <metrics.token>`.
    MetricsToken,
    /// A messenger calling a channel's hook, proven by the channel's own
    /// secret (checked by the handler, which knows the channel).
    ChannelSecret,
}

#[derive(Debug, Clone, Copy)]
pub struct Guard {
    pub access: Access,
    /// Sign-in stages besides `Full` that may call the route.
    pub also_during: &'static [Stage],
    /// Requires a password + 2FA proof within the re-authentication window.
    pub fresh: bool,
}

pub const fn public() -> Guard {
    Guard { access: Access::Public, also_during: &[], fresh: false }
}
pub const fn visitor() -> Guard {
    Guard { access: Access::Visitor, also_during: &[], fresh: false }
}
pub const fn authenticated() -> Guard {
    Guard { access: Access::Authenticated, also_during: &[], fresh: false }
}
pub const fn channel_secret() -> Guard {
    Guard { access: Access::ChannelSecret, also_during: &[], fresh: false }
}
pub const fn metrics_token() -> Guard {
    Guard { access: Access::MetricsToken, also_during: &[], fresh: false }
}
pub const fn any_of(permissions: &'static [Permission]) -> Guard {
    Guard { access: Access::AnyOf(permissions), also_during: &[], fresh: false }
}

impl Guard {
    pub const fn during(self, stages: &'static [Stage]) -> Guard {
        Guard { also_during: stages, ..self }
    }
    pub const fn fresh(self) -> Guard {
        Guard { fresh: true, ..self }
    }

    /// The `x-permission` value: `"public"`, `"visitor"`, `"authenticated"` or a list.
    pub fn x_permission(&self) -> Value {
        match self.access {
            Access::Public => json!("public"),
            Access::Authenticated => json!("authenticated"),
            Access::Visitor => json!("visitor"),
            Access::MetricsToken => json!("metrics-token"),
            Access::ChannelSecret => json!("channel-secret"),
            Access::AnyOf(list) => json!(list.iter().map(|p| p.name()).collect::<Vec<_>>()),
        }
    }
}

/// Registers `routes` under `guard`: documents and enforces it.
pub fn guarded(state: &AppState, guard: Guard, routes: UtoipaMethodRouter<AppState>) -> UtoipaMethodRouter<AppState> {
    let (schemas, mut paths, method_router) = routes;
    for item in paths.paths.values_mut() {
        for op in
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
        {
            let extensions = op.extensions.get_or_insert_with(Default::default);
            extensions.insert("x-permission".into(), guard.x_permission());
            if guard.fresh {
                extensions.insert("x-reauthentication".into(), json!(true));
            }
        }
    }
    let method_router = method_router.route_layer(from_fn_with_state((state.clone(), guard), enforce));
    (schemas, paths, method_router)
}

async fn enforce(State((app, guard)): State<(AppState, Guard)>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    match authorise(&app, guard, &parts).await {
        Ok(Some(caller)) => {
            parts.extensions.insert(caller);
        }
        Ok(None) => {}
        Err(e) => return ApiError::from(e).into_response(),
    }
    next.run(Request::from_parts(parts, body)).await
}

async fn authorise(app: &App, guard: Guard, parts: &Parts) -> Result<Option<Caller>, AppError> {
    if matches!(guard.access, Access::Public | Access::Visitor | Access::ChannelSecret) {
        return Ok(None);
    }
    if guard.access == Access::MetricsToken {
        // Not configured: the route does not exist on this address.
        let expected = app.metrics_token_hash.as_deref().ok_or(AppError::NotFound)?;
        let (token, _) = credentials(&parts.headers).ok_or(AppError::Unauthenticated)?;
        return if tokens::matches(&token, expected) { Ok(None) } else { Err(AppError::Unauthenticated) };
    }
    let (token, via_cookie) = credentials(&parts.headers).ok_or(AppError::Unauthenticated)?;
    let client = ClientInfo::from_parts(parts, &app.trusted_proxies);
    // The page's own background checks say so; they do not keep the session alive.
    let background = parts.headers.get("x-ostrog-activity").is_some_and(|v| v.as_bytes() == b"background");
    let activity = if background { Activity::Background } else { Activity::Person };
    let caller = app.sessions.caller(&token, client.ip, activity).await?;
    if via_cookie && !is_safe(&parts.method) {
        check_csrf(app, &parts.headers, &caller.session.csrf_hash)?;
    }
    let stage = caller.session.stage;
    if stage != Stage::Full && !guard.also_during.contains(&stage) {
        return Err(AppError::SignInIncomplete(stage));
    }
    if let Access::AnyOf(list) = guard.access
        && !list.iter().any(|p| caller.actor.holds(*p))
    {
        // Who tried to reach what they may not is for the security officer to see.
        let route = parts.extensions.get::<axum::extract::MatchedPath>().map_or("", |m| m.as_str());
        let details = json!({"method": parts.method.as_str(), "route": route});
        app.auditor.audit(&caller.ctx(), Action::AccessDenied, None, Outcome::Denied, details).await?;
        return Err(AppError::Forbidden);
    }
    if guard.fresh && !app.sessions.is_fresh(&caller) {
        return Err(AppError::ReauthenticationRequired);
    }
    Ok(Some(caller))
}

/// The session token from `Authorization: Bearer`, else from the cookie;
/// the flag says whether it came from the cookie (and so needs CSRF checks).
pub(crate) fn credentials(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(bearer) =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some((bearer.trim().to_string(), false));
    }
    cookie(headers, SECURE_SESSION_COOKIE).or_else(|| cookie(headers, SESSION_COOKIE)).map(|t| (t, true))
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Cookie-authenticated changes must come from our own origin (checked on
/// `Origin`, and on `Sec-Fetch-Site` when the browser sends it) and carry the
/// session's CSRF token in a header, which another site cannot read.
fn check_csrf(app: &App, headers: &HeaderMap, csrf_hash: &str) -> Result<(), AppError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if text("sec-fetch-site").is_some_and(|site| site != "same-origin" && site != "none") {
        return Err(AppError::CsrfRejected);
    }
    if text("origin") != Some(app.public_url.as_str()) {
        return Err(AppError::CsrfRejected);
    }
    match text(CSRF_HEADER) {
        Some(token) if tokens::matches(token, csrf_hash) => Ok(()),
        _ => Err(AppError::CsrfRejected),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| AppError::Unauthenticated.into())
    }
}
