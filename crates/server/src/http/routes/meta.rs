//! Health, readiness, the permission catalog.

use crate::http::error::ApiResult;
use crate::http::guard::{AppState, authenticated, guarded, metrics_token, public};
use crate::services::caller::Activity;
use axum::Json;
use axum::extract::State;
use ostrog_domain::permission::Permission;
use ostrog_domain::role::Role;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(guarded(state, public(), routes!(healthz)))
        .routes(guarded(state, public(), routes!(readyz)))
        .routes(guarded(state, authenticated(), routes!(permissions)))
        .routes(guarded(state, public(), routes!(ui)))
        .routes(guarded(state, public(), routes!(csp_report)))
        .routes(guarded(state, metrics_token(), routes!(metrics)))
}

/// Prometheus metrics in the OpenMetrics text format, for
/// `Authorization: Bearer <metrics.token>`; 404 when no token is configured
/// (`metrics.listen` serves them on a private address instead).
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, body = String, content_type = "application/openmetrics-text"), (status = 401), (status = 404)))]
async fn metrics(State(app): State<AppState>) -> axum::response::Response {
    metrics_page(&app).await
}

/// The metrics page, also served alone on `metrics.listen`.
pub async fn metrics_page(app: &crate::app::App) -> axum::response::Response {
    use axum::response::IntoResponse;
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    let (operators, visitors) = app.realtime.hub.connection_counts();
    let waiting = match app.conversations.queued_conversations().await {
        Ok(n) => Some(n as u64),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not count the queue");
            None
        }
    };
    let gauges = crate::metrics::Gauges {
        operators,
        visitors,
        write_queue: app.realtime.writer.queued(),
        scanner: app.files.scanner().map_or("disabled", |s| s.health().name()),
        engines: app
            .files
            .scanner()
            .map_or(vec![], |s| s.engines().iter().map(|e| (e.name().to_string(), e.health().name())).collect()),
        waiting,
    };
    ([(axum::http::header::CONTENT_TYPE, content_type)], crate::metrics::render(gauges)).into_response()
}

#[derive(Serialize, ToSchema)]
struct Ui {
    /// The pages' language for whoever has not chosen one: `ru` or `en`.
    language: &'static str,
    /// The shortest password the policy accepts (`auth.password_min_length`),
    /// so the set-up, invitation and password pages count towards it.
    password_min_length: usize,
    /// Whether the request carries a live session: the pages ask for the
    /// account only then, instead of provoking a 401 on every sign-in page.
    signed_in: bool,
}

/// What the pages need before anyone signs in.
#[utoipa::path(get, path = "/api/v1/ui", tag = "meta", responses((status = 200, body = Ui)))]
async fn ui(
    State(app): State<AppState>,
    client: crate::http::extract::ClientInfo,
    headers: axum::http::HeaderMap,
) -> ApiResult<Json<Ui>> {
    let password_min_length = app.sign_in.password_policy().min_length;
    let signed_in = match crate::http::guard::credentials(&headers) {
        // A background look: it neither keeps the session alive nor ends it early.
        Some((token, _)) => app.sessions.caller(&token, client.ip, Activity::Background).await.is_ok(),
        None => false,
    };
    Ok(Json(Ui { language: app.settings.default_language().await?.code(), password_min_length, signed_in }))
}

/// Browsers report Content-Security-Policy violations here (`report-uri`).
/// They are logged as warnings, shortened, and counted; the body is read
/// leniently, as browsers differ, and never echoed.
#[utoipa::path(post, path = "/api/v1/csp-reports", tag = "meta",
    request_body(content = Object, content_type = "application/csp-report"),
    responses((status = 204), (status = 429, description = "limits.public_requests_per_minute from this address")))]
async fn csp_report(
    State(app): State<AppState>,
    client: crate::http::extract::ClientInfo,
    body: axum::body::Bytes,
) -> crate::http::error::ApiResult<axum::http::StatusCode> {
    app.admit(&app.public_limits.csp_reports, client.ip)?;
    let report: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let report = report.get("csp-report").unwrap_or(&report);
    // Anyone may post here: keep 200 printable characters, so a report can neither flood nor forge log lines.
    let field = |name: &str| {
        report[name].as_str().unwrap_or("").chars().filter(|c| !c.is_control()).take(200).collect::<String>()
    };
    app.csp_violations.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::warn!(directive = %field("violated-directive"), blocked = %field("blocked-uri"), "a page broke the content security policy");
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct Status {
    status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = Status)))]
async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

#[derive(Serialize, ToSchema)]
struct Readiness {
    status: &'static str,
    /// The engines as the policy combines them: `ok`, `unavailable`
    /// (uploads are refused, chat goes on), `misconfigured` (an engine
    /// passed a self-test file as clean: uploads are refused; the log names
    /// the setting) or `disabled` (uploads are refused: scanning was
    /// switched off).
    scanner: &'static str,
    /// Each engine (`clamd`, or an ICAP service's name) and its state.
    engines: Vec<EngineReadiness>,
    /// The bus between the nodes of a cluster: `none` (one node), or
    /// `postgres` / `nats` followed by `up` or `down`.
    bus: String,
    /// Whether this node runs the cluster's singleton jobs now.
    leader: bool,
}

#[derive(Serialize, ToSchema)]
struct EngineReadiness {
    name: String,
    /// `ok`, `unavailable` or `misconfigured`.
    state: &'static str,
}

/// The database answers (else 503); the bus between nodes works (else 503
/// with `status: "bus_down"`: messages are stored, but this node cannot
/// hear the others, so a load balancer should send clients elsewhere);
/// and how the virus scanner is.
#[utoipa::path(get, path = "/readyz", tag = "meta",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
async fn readyz(State(app): State<AppState>) -> ApiResult<(axum::http::StatusCode, Json<Readiness>)> {
    use crate::cluster::BusState;
    app.maintenance.ping().await?;
    // A misconfigured engine answers but would let files through: the
    // self-test's finding wins over a live answer.
    let (scanner, engines) = match app.files.scanner() {
        None => ("disabled", vec![]),
        Some(s) => s.probe().await,
    };
    let engines = engines.into_iter().map(|(name, state)| EngineReadiness { name, state }).collect();
    let (bus, up) = match app.cluster.bus_state() {
        BusState::None => ("none".to_string(), true),
        BusState::Up(kind) => (format!("{} up", kind.name()), true),
        BusState::Down(kind) => (format!("{} down", kind.name()), false),
    };
    let (code, status) = if up {
        (axum::http::StatusCode::OK, "ready")
    } else {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "bus_down")
    };
    Ok((code, Json(Readiness { status, scanner, engines, bus, leader: app.cluster.is_leader() })))
}

#[derive(Serialize, ToSchema)]
struct CatalogEntry {
    name: &'static str,
    description: &'static str,
}

#[derive(Serialize, ToSchema)]
struct RoleDefaults {
    role: &'static str,
    permissions: Vec<&'static str>,
}

#[derive(Serialize, ToSchema)]
struct Catalog {
    permissions: Vec<CatalogEntry>,
    roles: Vec<RoleDefaults>,
}

/// The permission catalog and each role's default set.
#[utoipa::path(get, path = "/api/v1/permissions", tag = "meta", responses((status = 200, body = Catalog)))]
async fn permissions() -> Json<Catalog> {
    Json(Catalog {
        permissions: Permission::ALL
            .iter()
            .map(|p| CatalogEntry { name: p.name(), description: p.description() })
            .collect(),
        roles: Role::ALL
            .iter()
            .map(|r| RoleDefaults { role: r.name(), permissions: r.defaults().iter().map(|p| p.name()).collect() })
            .collect(),
    })
}
