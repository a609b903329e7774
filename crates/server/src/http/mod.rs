//! The HTTP edge: builds the router from the route groups, adds security
//! headers, body limits and timeouts, and serves the OpenAPI document that
//! the permission guard has annotated. Handlers only translate.

pub mod error;
pub mod extract;
pub mod guard;
pub mod routes;
pub mod web;
pub mod ws;

use crate::error::ErrorCode;
use crate::http::error::ApiError;
use crate::http::guard::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::routing::get;
use std::sync::Arc;
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(info(
    title = "Ostrog API",
    description = "Every operation carries `x-permission`: `public`, `visitor` (a widget visitor's token), `authenticated`, or the list of permissions any one of which admits the caller."
))]
struct ApiDoc;

/// Strict by default: nothing from elsewhere, no inline script, no framing.
/// Violations are reported to the server, which logs them. `blob:` images:
/// the widget loads thumbnails with the visitor's token, which `<img>` cannot send.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'; report-uri /api/v1/csp-reports";

pub struct Limits {
    pub json_body_bytes: usize,
    pub request_timeout: Duration,
    pub hsts: bool,
}

pub fn router(state: AppState, limits: &Limits) -> Router {
    // Every request has the request timeout, except uploads, which have their own.
    let timeout = TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout);
    let (api, mut doc) = routes::all(&state)
        .layer(timeout)
        .merge(routes::files::uploads(&state))
        .merge(routes::hooks::router(&state))
        .split_for_parts();
    // The route groups carry the paths; ApiDoc carries the title and description.
    doc.info = ApiDoc::openapi().info;
    declare_path_parameters(&mut doc);
    declare_errors(&mut doc);
    declare_frames(&mut doc);
    let doc = Arc::new(doc);
    let api = api
        .route("/api/openapi.json", get(move || openapi(doc.clone())))
        .merge(web::router().layer(timeout))
        .fallback(not_found_or_page)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "method not allowed on this route",
            )
        })
        .with_state(state.clone());
    let mut router = api
        .layer(axum::middleware::from_fn_with_state(state, count_refusals))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(DefaultBodyLimit::max(limits.json_body_bytes));
    for (name, value) in security_headers(limits.hsts) {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name, value));
    }
    router
}

/// An unknown API path is a JSON 404; any other page is the app's, whose
/// script shows the screen the path names (or its own "not found"). HEAD
/// answers as GET does (without the body, which hyper leaves out), as the
/// routed paths do: monitors and link checkers ask with HEAD.
async fn not_found_or_page(method: axum::http::Method, uri: axum::http::Uri) -> axum::response::Response {
    use axum::http::Method;
    use axum::response::IntoResponse;
    if (method == Method::GET || method == Method::HEAD) && !uri.path().starts_with("/api/") {
        return web::index().await;
    }
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such route").into_response()
}

/// Every `{name}` in a path is a required path parameter of its operations.
/// Handlers read them through `ApiPath`, which utoipa cannot see, so they
/// are declared here, once: `seq` is an integer, `permission` a
/// permission's name, every other one a UUID. (Found by schemathesis.)
fn declare_path_parameters(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    for (path, item) in doc.paths.paths.iter_mut() {
        let names: Vec<&str> = path.split('{').skip(1).filter_map(|s| s.split_once('}')).map(|(n, _)| n).collect();
        for op in
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
        {
            let parameters = op.parameters.get_or_insert_with(Vec::new);
            for name in &names {
                if parameters.iter().any(|p| p.name == *name && p.parameter_in == ParameterIn::Path) {
                    continue;
                }
                let parameter = ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Path)
                    .required(utoipa::openapi::Required::True)
                    .schema(Some(path_parameter_schema(name)))
                    .build();
                parameters.push(parameter);
            }
        }
    }
}

/// The WebSocket's server frames (`ServerFrame`, docs/protocol.md) are no
/// operation's answer, so they are published as components of their own.
fn declare_frames(doc: &mut utoipa::openapi::OpenApi) {
    use crate::realtime::frames::ServerFrame;
    use utoipa::{PartialSchema, ToSchema};
    let mut schemas = vec![];
    <ServerFrame as ToSchema>::schemas(&mut schemas);
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.insert(ServerFrame::name().into_owned(), ServerFrame::schema());
    components.schemas.extend(schemas);
}

/// Every operation may refuse, and every refusal has the one shape that
/// `ApiError` writes: `{"error": {"code", "message", …}}`. Declared once
/// here as each operation's `default` answer, so that a client (and
/// schemathesis) can check any answer against the document.
fn declare_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let text = || ObjectBuilder::new().schema_type(Type::String);
    let detail = ObjectBuilder::new()
        .property("code", text().description(Some("Stable, for programs: `not_found`, `invalid_input`, …")))
        .property("message", text().description(Some("For people; may change")))
        .required("code")
        .required("message")
        .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(true)));
    let error = ObjectBuilder::new().property("error", detail).required("error").build();
    doc.components.get_or_insert_with(Default::default).schemas.insert("Error".into(), error.into());
    let response = ResponseBuilder::new()
        .description("Refused: the error's code says why")
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build())
        .build();
    for item in doc.paths.paths.values_mut() {
        for op in
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
        {
            op.responses.responses.entry("default".into()).or_insert_with(|| response.clone().into());
        }
    }
}

fn path_parameter_schema(name: &str) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    match name {
        "seq" => {
            ObjectBuilder::new().schema_type(Type::Integer).format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        }
        "permission" => ObjectBuilder::new().schema_type(Type::String),
        _ => ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
    }
    .build()
}

/// The document the guard annotated; `x-permission` comes from the same
/// values the guard enforces. It is public: it names operations, not data.
async fn openapi(doc: Arc<utoipa::openapi::OpenApi>) -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(doc.as_ref().clone())
}

/// A span per request naming the route template, never the raw path or
/// query (they can carry ids and tokens).
fn request_span(req: &axum::extract::Request) -> tracing::Span {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", method = %req.method(), route)
}

fn security_headers(hsts: bool) -> Vec<(HeaderName, HeaderValue)> {
    let mut headers = vec![
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin")),
        (HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("same-origin")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    if hsts {
        headers
            .push((header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains")));
    }
    headers
}

/// Counts the refusals that are attempts around a defence, by kind and
/// address, for the audit log (`auth::refusals`).
async fn count_refusals(
    axum::extract::State(app): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let ip = extract::ClientInfo::from_parts(&parts, &app.trusted_proxies).ip;
    let response = next.run(axum::extract::Request::from_parts(parts, body)).await;
    let code = response.extensions().get::<crate::error::ErrorCode>();
    if let Some(kind) = code.and_then(|c| crate::auth::refusals::bypass_kind(c.as_str())) {
        app.refusals.record(kind, ip);
    }
    response
}
