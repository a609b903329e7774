//! The web app: pages, scripts and styles embedded in the binary at build
//! time (read from `web/public` on disk in debug builds). Scripts and styles
//! live under `/assets/<build>/`, where `<build>` is a hash of everything
//! embedded, so browsers may keep them for a year; pages are never cached.
//! Every page carries the strict CSP of `http::CONTENT_SECURITY_POLICY`; the
//! widget's frame page also names the company sites that may frame it, and
//! Ostrog's own test page of that widget (`/widgets/{id}/try`).

use crate::http::guard::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ostrog_domain::ids::WidgetId;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Instant;
use uuid::Uuid;

#[derive(rust_embed::Embed)]
#[folder = "../../web/public/"]
struct Files;

static WEB: LazyLock<WebApp> = LazyLock::new(WebApp::load);

/// The loader, the widget's frame and the assets (pages are the fallback).
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/widget.js", axum::routing::get(widget_loader))
        .route("/widget/{id}", axum::routing::get(widget_frame))
        .route("/widgets/{id}/try", axum::routing::get(widget_try_page))
        .route("/assets/{build}/{*path}", axum::routing::get(asset))
}

/// The embedded app, with its pages filled in with the build's asset path.
struct WebApp {
    build: String,
    index: String,
    widget_frame: String,
    widget_try: String,
}

impl WebApp {
    fn load() -> Self {
        let mut all = Sha256::new();
        let mut names: Vec<_> = Files::iter().collect();
        names.sort();
        for name in &names {
            if let Some(f) = Files::get(name) {
                all.update(name.as_bytes());
                all.update(f.metadata.sha256_hash());
            }
        }
        let build = hex::encode(&all.finalize()[..6]);
        let page = |name: &str| {
            Files::get(name)
                .map(|f| String::from_utf8_lossy(&f.data).replace("{{assets}}", &format!("/assets/{build}")))
                .unwrap_or_default()
        };
        Self {
            index: page("index.html"),
            widget_frame: page("widget.html"),
            widget_try: page("widget-try.html"),
            build,
        }
    }
}

fn page(html: &str, csp: Option<String>) -> Response {
    let mut response =
        (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(v) = csp.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

/// The employees' app: one page whose script shows the screen the path names.
pub async fn index() -> Response {
    page(&WEB.index, None)
}

/// The widget's frame, which the loader script opens on the company's page.
/// Only the widget's allowed origins may frame it.
///
/// Ostrog's own origin may frame it only from this widget's test page: the
/// browser names the framing page in `Referer` (the test page asks for that
/// with `Referrer-Policy: same-origin`), and a page of another site cannot
/// make the browser name a page of Ostrog's there.
async fn widget_frame(State(app): State<AppState>, Path(id): Path<Uuid>, headers: HeaderMap) -> Response {
    let Ok(widget) = app.visitors.live_widget(WidgetId(id)).await else {
        return (StatusCode::NOT_FOUND, "no such widget").into_response();
    };
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut ancestors = widget.settings.allowed_origins.clone();
    if referer == try_page_url(&app.public_url, id) {
        ancestors.push("'self'".into());
    } else if let Some(origin) = origin_of(referer)
        && origin != app.public_url
        && !widget.settings.origin_allowed(origin)
        && first_in_a_while(WidgetId(id), origin)
    {
        // The browser will refuse to show the frame there; the company sees
        // nothing (the loader keeps it hidden), so say here what to change.
        // An origin names a site, never a person.
        tracing::warn!(
            widget = %id,
            refused_origin = %origin,
            "a page of {origin} embeds widget {id}, but {origin} is not among the widget's allowed origins: \
             add it in Cabinet > Widgets > Sites allowed to show it (allowed_origins), or the widget stays hidden there"
        );
    }
    let ancestors = if ancestors.is_empty() { "'none'".to_string() } else { ancestors.join(" ") };
    let csp = super::CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", &format!("frame-ancestors {ancestors}"));
    page(&WEB.widget_frame, Some(csp))
}

/// The address of a widget's test page, as the browser names it in `Referer`.
fn try_page_url(public_url: &str, id: Uuid) -> String {
    format!("{}/widgets/{id}/try", public_url.trim_end_matches('/'))
}

/// `scheme://host[:port]` of a URL, if it has one.
fn origin_of(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    let end = url[after_scheme..].find(['/', '?', '#']).map_or(url.len(), |i| after_scheme + i);
    (end > after_scheme).then(|| &url[..end])
}

/// Whether a refused origin of a widget is to be logged now: once in ten
/// minutes, so that every page view of a busy site does not add a line, and
/// never an origin longer than any real one (the `Referer` is the caller's).
fn first_in_a_while(widget: WidgetId, origin: &str) -> bool {
    const QUIET: std::time::Duration = std::time::Duration::from_secs(600);
    static SAID: LazyLock<Mutex<HashMap<(WidgetId, String), Instant>>> = LazyLock::new(Default::default);
    if origin.len() > 255 {
        return false;
    }
    let now = Instant::now();
    let mut said = SAID.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if said.len() >= 1_000 {
        said.retain(|_, at| now.duration_since(*at) < QUIET);
    }
    let key = (widget, origin.to_string());
    match said.get(&key) {
        Some(at) if now.duration_since(*at) < QUIET => false,
        // Full of origins said in the last ten minutes: a flood, already in the log.
        None if said.len() >= 1_000 => false,
        _ => {
            said.insert(key, now);
            true
        }
    }
}

/// A page of Ostrog's own with the widget on it, so that an administrator
/// can chat with a widget before (or without) any company page: the one
/// page of Ostrog's origin the widget's frame accepts as its parent. It
/// shows what anyone may see of a widget (its public id), nothing more.
async fn widget_try_page(State(app): State<AppState>, Path(id): Path<Uuid>) -> Response {
    if app.visitors.live_widget(WidgetId(id)).await.is_err() {
        return (StatusCode::NOT_FOUND, "no such widget").into_response();
    }
    // The id is a parsed UUID: nothing else reaches the page.
    let mut response = page(&WEB.widget_try.replace("{{widget}}", &id.to_string()), None);
    let headers = response.headers_mut();
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(HeaderName::from_static("x-robots-tag"), HeaderValue::from_static("noindex"));
    response
}

/// The script a company puts on its pages; it only opens the frame, so the
/// company's page never sees the visitor's token. Cached briefly: its URL
/// is fixed in the companies' pages.
async fn widget_loader() -> Response {
    let Some(f) = Files::get("widget.js") else { return StatusCode::NOT_FOUND.into_response() };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    // Loaded by other sites' pages.
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    (headers, f.data.into_owned()).into_response()
}

/// A script, style or picture of the app.
async fn asset(Path((build, path)): Path<(String, String)>) -> Response {
    let Some(f) = Files::get(&format!("assets/{path}")) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&path)));
    // An old page asking for an old build gets today's file, uncached.
    let cache = if build == WEB.build { "public, max-age=31536000, immutable" } else { "no-cache" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    (headers, f.data.into_owned()).into_response()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("mp3") => "audio/mpeg",
        Some("ogg") => "audio/ogg",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::{WidgetId, first_in_a_while, origin_of};

    #[test]
    fn the_origin_of_a_referer_is_its_scheme_host_and_port() {
        assert_eq!(origin_of("https://shop.example/cart?x=1"), Some("https://shop.example"));
        assert_eq!(origin_of("http://127.0.0.1:8080"), Some("http://127.0.0.1:8080"));
        assert_eq!(origin_of("http://127.0.0.1:8080/"), Some("http://127.0.0.1:8080"));
        assert_eq!(origin_of(""), None);
        assert_eq!(origin_of("https:///x"), None);
    }

    #[test]
    fn a_refused_origin_is_said_once_in_a_while_per_widget() {
        let (a, b) = (WidgetId::random(), WidgetId::random());
        assert!(first_in_a_while(a, "https://elsewhere.example"));
        assert!(!first_in_a_while(a, "https://elsewhere.example"), "said again at once");
        assert!(first_in_a_while(a, "https://other.example"));
        assert!(first_in_a_while(b, "https://elsewhere.example"));
        assert!(!first_in_a_while(b, &format!("https://{}.example", "x".repeat(300))));
    }
}
