//! Widgets: list, create, change, rotate the identity secret, delete.

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::guard::{AppState, any_of, guarded};
use crate::services::caller::Caller;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ostrog_domain::ids::WidgetId;
use ostrog_domain::permission::Permission::{SettingsManage, SettingsView};
use ostrog_domain::widget::WidgetSettings;
use ostrog_store::WidgetRecord;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let (view, manage) = (any_of(&[SettingsView]), any_of(&[SettingsManage]));
    OpenApiRouter::new()
        .routes(guarded(state, view, routes!(list)))
        .routes(guarded(state, manage, routes!(create)))
        .routes(guarded(state, manage, routes!(update)))
        .routes(guarded(state, manage, routes!(delete)))
        .routes(guarded(state, manage.fresh(), routes!(rotate_secret)))
}

#[derive(Serialize, ToSchema)]
struct WidgetView {
    id: Uuid,
    #[schema(value_type = Object)]
    settings: WidgetSettings,
    created_at: i64,
    /// Only when the widget is created: the identity-signing secret (hex), shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

fn view(w: WidgetRecord, secret: Option<String>) -> WidgetView {
    WidgetView { id: w.id.0, settings: w.settings, created_at: w.created_at, secret }
}

#[utoipa::path(get, path = "/api/v1/widgets", tag = "widgets", responses((status = 200, body = [WidgetView])))]
async fn list(State(app): State<AppState>) -> ApiResult<Json<Vec<WidgetView>>> {
    Ok(Json(app.widgets.list().await?.into_iter().map(|w| view(w, None)).collect()))
}

/// Creates a widget; the answer holds its identity secret, shown this once.
#[utoipa::path(post, path = "/api/v1/widgets", tag = "widgets", request_body = Object,
    responses((status = 201, body = WidgetView)))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(settings): ApiJson<WidgetSettings>,
) -> ApiResult<(StatusCode, Json<WidgetView>)> {
    let (w, secret) = app.widgets.create(&caller, settings).await?;
    Ok((StatusCode::CREATED, Json(view(w, Some(secret)))))
}

#[utoipa::path(put, path = "/api/v1/widgets/{id}", tag = "widgets", request_body = Object,
    responses((status = 200, body = WidgetView)))]
async fn update(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(settings): ApiJson<WidgetSettings>,
) -> ApiResult<Json<WidgetView>> {
    Ok(Json(view(app.widgets.update(&caller, WidgetId(id), settings).await?, None)))
}

#[utoipa::path(delete, path = "/api/v1/widgets/{id}", tag = "widgets", responses((status = 204)))]
async fn delete(State(app): State<AppState>, caller: Caller, ApiPath(id): ApiPath<Uuid>) -> ApiResult<StatusCode> {
    app.widgets.delete(&caller, WidgetId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct SecretView {
    /// The new identity-signing secret (hex); the old one no longer works.
    secret: String,
}

/// Replaces the identity secret (re-authentication required).
#[utoipa::path(post, path = "/api/v1/widgets/{id}/secret", tag = "widgets", responses((status = 200, body = SecretView)))]
async fn rotate_secret(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SecretView>> {
    Ok(Json(SecretView { secret: app.widgets.rotate_secret(&caller, WidgetId(id)).await? }))
}
