//! The two WebSocket endpoints (docs/protocol.md) and the widget's public
//! description.

use crate::error::ErrorCode;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiPath;
use crate::http::guard::{AppState, any_of, guarded, public};
use crate::http::ws;
use crate::services::caller::Caller;
use axum::Json;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use ostrog_domain::ids::WidgetId;
use ostrog_domain::permission::Permission::{ConversationsAll, ConversationsOwn};
use ostrog_domain::widget::WorkingHours;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(guarded(state, public(), routes!(widget_info)))
        .routes(guarded(state, public(), routes!(visitor_socket)))
        .routes(guarded(state, any_of(&[ConversationsOwn, ConversationsAll]), routes!(operator_socket)))
}

fn upgrade(u: Result<WebSocketUpgrade, WebSocketUpgradeRejection>) -> ApiResult<WebSocketUpgrade> {
    u.map(ws::limits)
        .map_err(|r| ApiError::new(StatusCode::UPGRADE_REQUIRED, ErrorCode::WebsocketRequired, r.to_string()))
}

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

#[derive(Serialize, ToSchema)]
struct WidgetInfo {
    id: Uuid,
    name: String,
    greeting: String,
    #[schema(value_type = Object)]
    working_hours: WorkingHours,
    /// Whether operators are expected to answer now.
    open_now: bool,
    /// `ru` or `en`.
    language: &'static str,
}

/// What the widget shows before the visitor writes.
#[utoipa::path(get, path = "/api/v1/widget/{id}", tag = "widget", responses((status = 200, body = WidgetInfo)))]
async fn widget_info(State(app): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<WidgetInfo>> {
    let w = app.visitors.live_widget(WidgetId(id)).await?;
    let open_now = w.settings.working_hours.is_open(app.now());
    let s = w.settings;
    let language = s.language.code();
    Ok(Json(WidgetInfo { id, name: s.name, greeting: s.greeting, working_hours: s.working_hours, open_now, language }))
}

/// The visitor's WebSocket. `Origin` must be one of the widget's allowed origins.
#[utoipa::path(get, path = "/api/v1/widget/{id}/ws", tag = "widget",
    responses((status = 101, description = "Protocol v1, visitor side (docs/protocol.md)"),
              (status = 403, description = "origin_not_allowed"),
              (status = 429, description = "too_many_connections: limits.visitor_sockets_per_ip open from this address; too_many_attempts: limits.public_requests_per_minute new ones")))]
async fn visitor_socket(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    client: crate::http::extract::ClientInfo,
    u: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let widget = app.visitors.live_widget(WidgetId(id)).await?;
    // The widget's own frame (served by us, framed only by allowed sites), or
    // a company page talking to the API directly.
    if !origin(&headers).is_some_and(|o| o == app.public_url || widget.settings.origin_allowed(o)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::OriginNotAllowed,
            "this website may not use the widget",
        ));
    }
    let upgrade = upgrade(u)?;
    app.admit(&app.public_limits.visitor_connections, client.ip)?;
    let slot = match client.ip {
        Some(ip) => Some(app.visitor_sockets.admit(ip).ok_or_else(|| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyConnections,
                "too many open connections from this address",
            )
        })?),
        None => None,
    };
    let user_agent = headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
    Ok(upgrade.on_upgrade(move |socket| async move {
        ws::visitor::serve(socket, app, widget, client.ip, user_agent).await;
        drop(slot);
    }))
}

/// The operator's WebSocket. With the session cookie, `Origin` must be Ostrog's own.
#[utoipa::path(get, path = "/api/v1/ws", tag = "conversations",
    responses((status = 101, description = "Protocol v1, operator side (docs/protocol.md)")))]
async fn operator_socket(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    u: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    // A browser sends cookies with a cross-site WebSocket too; only the
    // Origin tells our own pages from someone else's.
    let bearer = headers.contains_key(header::AUTHORIZATION);
    if !bearer && origin(&headers) != Some(app.public_url.as_str()) {
        return Err(crate::error::AppError::CsrfRejected.into());
    }
    let upgrade = upgrade(u)?;
    Ok(upgrade.on_upgrade(move |socket| ws::operator::serve(socket, app, caller)))
}
