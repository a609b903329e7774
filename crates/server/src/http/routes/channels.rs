//! Channels: connect, list, change, rotate secrets, disconnect; the dead
//! letters of each; and the delivery state of a conversation's replies.
//! Secrets go in and never come out: a channel shows which are set and
//! when they last changed.

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::guard::{AppState, any_of, guarded};
use crate::services::caller::Caller;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ostrog_domain::DomainError;
use ostrog_domain::channel::{ChannelKind, ChannelSecrets, ChannelSettings};
use ostrog_domain::ids::{ChannelId, ConversationId, MessageId};
use ostrog_domain::permission::Permission::{ChannelsManage, ConversationsAll, ConversationsOwn};
use ostrog_store::{ChannelRecord, Delivery};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let manage = any_of(&[ChannelsManage]);
    OpenApiRouter::new()
        .routes(guarded(state, manage, routes!(list)))
        .routes(guarded(state, manage.fresh(), routes!(connect)))
        // A changed address would send the token elsewhere: as sensitive as a new secret.
        .routes(guarded(state, manage.fresh(), routes!(change)))
        .routes(guarded(state, manage.fresh(), routes!(rotate)))
        .routes(guarded(state, manage.fresh(), routes!(disconnect)))
        .routes(guarded(state, manage, routes!(dead_letters)))
        .routes(guarded(state, manage, routes!(retry)))
        .routes(guarded(state, any_of(&[ConversationsOwn, ConversationsAll]), routes!(deliveries)))
}

#[derive(Serialize, ToSchema)]
struct ChannelView {
    id: Uuid,
    kind: String,
    name: String,
    #[schema(value_type = Object)]
    settings: ChannelSettings,
    /// Each secret that is set; never its value.
    secrets: Vec<String>,
    secrets_changed_at: i64,
    secrets_changed_by: Option<Uuid>,
    created_at: i64,
    /// Where the messenger (VK, the company's app) sends events; Telegram's is registered by the server.
    hook_url: String,
    /// The webhook channel's signing key (hex), only when connected or rotated: shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_secret: Option<String>,
}

fn view(app: &AppState, c: ChannelRecord, signing_secret: Option<String>) -> ChannelView {
    let kind = c.settings.kind().name();
    let secrets = c.settings.kind().secret_names();
    ChannelView {
        id: c.id.0,
        kind: kind.into(),
        name: c.name,
        hook_url: format!("{}/api/v1/hooks/{kind}/{}", app.public_url, c.id),
        settings: c.settings,
        secrets: secrets.iter().map(|s| s.to_string()).collect(),
        secrets_changed_at: c.secrets_changed_at,
        secrets_changed_by: c.secrets_changed_by.map(|e| e.0),
        created_at: c.created_at,
        signing_secret,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConnectBody {
    /// `telegram`, `vk` or `webhook`.
    kind: String,
    name: String,
    /// By kind: see docs/channels.md.
    #[serde(default)]
    settings: Value,
    /// Write-only. Telegram: `bot_token`; VK: `access_token`, `secret`, `confirmation`; webhook: none.
    #[serde(default)]
    #[schema(value_type = Object)]
    secrets: ChannelSecrets,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    name: String,
    #[serde(default)]
    settings: Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SecretsBody {
    #[serde(default)]
    #[schema(value_type = Object)]
    secrets: ChannelSecrets,
}

/// The settings of `kind`, from the body's `settings` object.
fn settings_of(kind: ChannelKind, mut settings: Value) -> Result<ChannelSettings, DomainError> {
    if settings.is_null() {
        settings = json!({});
    }
    let object = settings.as_object_mut().ok_or(DomainError::Invalid("settings"))?;
    if object.contains_key("kind") {
        return Err(DomainError::Invalid("settings.kind"));
    }
    object.insert("kind".into(), json!(kind.name()));
    serde_json::from_value(settings).map_err(|_| DomainError::Invalid("settings"))
}

#[derive(Serialize, ToSchema)]
struct DeliveryView {
    message_id: Uuid,
    conversation_id: Uuid,
    seq: i64,
    /// `pending`, `sent` or `failed`.
    status: String,
    attempts: u32,
    next_attempt_at: i64,
    /// Why the last attempt failed, as the messenger said.
    error: Option<String>,
    created_at: i64,
    done_at: Option<i64>,
}

fn delivery(d: Delivery) -> DeliveryView {
    DeliveryView {
        message_id: d.message_id.0,
        conversation_id: d.conversation_id.0,
        seq: d.seq,
        status: d.status.name().into(),
        attempts: d.attempts,
        next_attempt_at: d.next_attempt_at,
        error: d.last_error,
        created_at: d.created_at,
        done_at: d.done_at,
    }
}

#[utoipa::path(get, path = "/api/v1/channels", tag = "channels", responses((status = 200, body = [ChannelView])))]
async fn list(State(app): State<AppState>) -> ApiResult<Json<Vec<ChannelView>>> {
    let list = app.channel_admin.list_channels().await?;
    Ok(Json(list.into_iter().map(|c| view(&app, c, None)).collect()))
}

/// Connects a channel (re-authentication required): the messenger checks
/// the token first. A webhook channel's signing key is in the answer, once.
#[utoipa::path(post, path = "/api/v1/channels", tag = "channels", request_body = ConnectBody,
    responses((status = 201, body = ChannelView)))]
async fn connect(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ConnectBody>,
) -> ApiResult<(StatusCode, Json<ChannelView>)> {
    let kind = ChannelKind::parse(&body.kind).ok_or(DomainError::Invalid("kind"))?;
    let settings = settings_of(kind, body.settings)?;
    let (c, shown) = app.channel_admin.connect_channel(&caller, body.name, settings, body.secrets).await?;
    Ok((StatusCode::CREATED, Json(view(&app, c, shown))))
}

#[utoipa::path(put, path = "/api/v1/channels/{id}", tag = "channels", request_body = ChangeBody,
    responses((status = 200, body = ChannelView)))]
async fn change(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ChangeBody>,
) -> ApiResult<Json<ChannelView>> {
    let current = app.channel_admin.channel(ChannelId(id)).await?.ok_or(crate::error::AppError::NotFound)?;
    let settings = settings_of(current.settings.kind(), body.settings)?;
    Ok(Json(view(&app, app.channel_admin.change_channel(&caller, ChannelId(id), body.name, settings).await?, None)))
}

/// Replaces the secrets (re-authentication required); the old ones stop working at once.
#[utoipa::path(put, path = "/api/v1/channels/{id}/secrets", tag = "channels", request_body = SecretsBody,
    responses((status = 200, body = ChannelView)))]
async fn rotate(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<SecretsBody>,
) -> ApiResult<Json<ChannelView>> {
    let shown = app.channel_admin.rotate_channel_secrets(&caller, ChannelId(id), body.secrets).await?;
    let c = app.channel_admin.channel(ChannelId(id)).await?.ok_or(crate::error::AppError::NotFound)?;
    Ok(Json(view(&app, c, shown)))
}

/// Disconnects (re-authentication required); conversations and history stay.
#[utoipa::path(delete, path = "/api/v1/channels/{id}", tag = "channels", responses((status = 204)))]
async fn disconnect(State(app): State<AppState>, caller: Caller, ApiPath(id): ApiPath<Uuid>) -> ApiResult<StatusCode> {
    app.channel_admin.disconnect_channel(&caller, ChannelId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replies given up on, latest first, with the reason.
#[utoipa::path(get, path = "/api/v1/channels/{id}/dead-letters", tag = "channels",
    responses((status = 200, body = [DeliveryView])))]
async fn dead_letters(State(app): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<Vec<DeliveryView>>> {
    Ok(Json(app.channel_admin.dead_letters(ChannelId(id)).await?.into_iter().map(delivery).collect()))
}

/// Puts a given-up reply back in the outbox.
#[utoipa::path(post, path = "/api/v1/channels/{id}/dead-letters/{message_id}/retry", tag = "channels",
    responses((status = 204)))]
async fn retry(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath((id, message)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    app.channel_admin.retry_dead_letter(&caller, ChannelId(id), MessageId(message)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery state of each reply in a conversation with a messenger's contact.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/deliveries", tag = "channels",
    responses((status = 200, body = [DeliveryView])))]
async fn deliveries(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<DeliveryView>>> {
    Ok(Json(app.channel_admin.deliveries(&caller, ConversationId(id)).await?.into_iter().map(delivery).collect()))
}
