//! Where messengers call in: one hook per channel. Each call proves itself
//! with the channel's own secret (Telegram's header, VK's `secret`, the
//! webhook channel's signature), is refused with no effect otherwise, and
//! is answered only after what it carried is stored, so that a messenger
//! whose call failed sends it again — and a repeat stores nothing twice.

use crate::channels::vk::Callback;
use crate::channels::{Connector, webhook};
use crate::error::AppError;
use crate::error::ErrorCode;
use crate::http::error::ApiResult;
use crate::http::extract::ApiPath;
use crate::http::guard::{AppState, channel_secret, guarded};
use crate::http::routes::bodies::{Empty, WebhookReceived};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use ostrog_domain::DomainError;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::channel::ChannelKind;
use ostrog_domain::ids::ChannelId;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// With the uploads' timeout: a call that carries files is answered only
/// after they are fetched and scanned.
pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let timeout = std::time::Duration::from_secs(state.files.limits().upload_timeout_seconds);
    OpenApiRouter::new()
        .routes(guarded(state, channel_secret(), routes!(telegram)))
        .routes(guarded(state, channel_secret(), routes!(vk)))
        .routes(guarded(state, channel_secret(), routes!(webhook_channel)))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, timeout))
}

/// Audits a refused call (at most once a minute per channel) and refuses
/// it; an address past `limits.public_requests_per_minute` refused calls
/// is answered 429 from then on, before anything is read.
async fn refuse(app: &AppState, channel: ChannelId, code: ErrorCode, ip: Option<std::net::IpAddr>) -> AppError {
    if let Err(e) = app.admit(&app.public_limits.refused_hooks, ip) {
        return e;
    }
    if app.channels.audit_refusal(channel, app.now()) {
        let ctx = crate::services::auditor::Ctx { actor: None, ip, user_agent: None };
        let details = json!({"reason": code});
        if let Err(e) = app
            .auditor
            .audit(&ctx, Action::ChannelWebhookRefused, Some(channel.to_string()), Outcome::Denied, details)
            .await
        {
            return e;
        }
    }
    AppError::HookRejected(code)
}

/// The connected channel a hook call is for. An address that sent too
/// many forged calls waits out its minute first.
async fn called(
    app: &AppState,
    ip: Option<std::net::IpAddr>,
    id: Uuid,
    kind: ChannelKind,
) -> Result<(ostrog_store::ChannelRecord, Connector), AppError> {
    app.not_held_back(&app.public_limits.refused_hooks, ip)?;
    app.channel_admin.live_channel(ChannelId(id), kind).await
}

fn json_body(body: &[u8]) -> Result<Value, AppError> {
    serde_json::from_slice(body).map_err(|_| DomainError::Invalid("body").into())
}

/// A Telegram update (https://core.telegram.org/bots/api#update), with the
/// `X-Telegram-Bot-Api-Secret-Token` registered for this channel.
#[utoipa::path(post, path = "/api/v1/hooks/telegram/{id}", tag = "hooks", request_body = Object,
    responses((status = 200, description = "Stored (or a repeat, or an update the channel does not take)", body = Empty)))]
async fn telegram(
    State(app): State<AppState>,
    client: crate::http::extract::ClientInfo,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Empty>> {
    let (channel, connector) = called(&app, client.ip, id, ChannelKind::Telegram).await?;
    let Connector::Telegram(bot) = &connector else { return Err(AppError::NotFound.into()) };
    let secret = headers.get("x-telegram-bot-api-secret-token").and_then(|v| v.to_str().ok());
    if !bot.verify_secret(secret) {
        return Err(refuse(&app, channel.id, ErrorCode::BadSecret, client.ip).await.into());
    }
    if let Some(inbound) = bot.parse_update(&json_body(&body)?) {
        app.channel_admin.receive_from_channel(&channel, &connector, inbound).await?;
    }
    Ok(Json(Empty {}))
}

/// A VK Callback API event (https://dev.vk.com/ru/api/callback/getting-started):
/// the confirmation handshake, or `message_new`; answered `ok` once stored.
#[utoipa::path(post, path = "/api/v1/hooks/vk/{id}", tag = "hooks", request_body = Object,
    responses((status = 200, description = "`ok`, or the confirmation string", content_type = "text/plain")))]
async fn vk(
    State(app): State<AppState>,
    client: crate::http::extract::ClientInfo,
    ApiPath(id): ApiPath<Uuid>,
    body: Bytes,
) -> ApiResult<Response> {
    let (channel, connector) = called(&app, client.ip, id, ChannelKind::Vk).await?;
    let Connector::Vk(community) = &connector else { return Err(AppError::NotFound.into()) };
    let event = json_body(&body)?;
    match community.read_event(&event) {
        None => Err(refuse(&app, channel.id, ErrorCode::BadSecret, client.ip).await.into()),
        Some(Callback::Confirmation) => Ok(community.confirmation.clone().into_response()),
        Some(Callback::Message(inbound)) => {
            app.channel_admin.receive_from_channel(&channel, &connector, inbound).await?;
            Ok("ok".into_response())
        }
        Some(Callback::Ignored) => Ok("ok".into_response()),
    }
}

/// A message from the company's own app: `{"event_id", "contact": {"id"}, "text"}`,
/// signed with `X-Ostrog-Timestamp` and `X-Ostrog-Signature` (docs/channels.md).
#[utoipa::path(post, path = "/api/v1/hooks/webhook/{id}", tag = "hooks", request_body = Object,
    responses((status = 200, description = "Stored (or a repeat): the message and conversation ids", body = WebhookReceived)))]
async fn webhook_channel(
    State(app): State<AppState>,
    client: crate::http::extract::ClientInfo,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<WebhookReceived>> {
    let (channel, connector) = called(&app, client.ip, id, ChannelKind::Webhook).await?;
    let Connector::Webhook(endpoint) = &connector else { return Err(AppError::NotFound.into()) };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let verified =
        endpoint.verify(header(webhook::TIMESTAMP_HEADER), header(webhook::SIGNATURE_HEADER), &body, app.now());
    if let Err(refusal) = verified {
        let code = match refusal {
            webhook::Refusal::BadSignature => ErrorCode::BadSignature,
            webhook::Refusal::StaleTimestamp => ErrorCode::StaleTimestamp,
        };
        return Err(refuse(&app, channel.id, code, client.ip).await.into());
    }
    let inbound = webhook::parse(channel.id, &body).map_err(DomainError::Invalid)?;
    ostrog_domain::message::validate_text(inbound.text.as_deref().unwrap_or_default())?;
    let received = app.channel_admin.receive_from_channel(&channel, &connector, inbound).await?;
    Ok(Json(WebhookReceived { conversation_id: received.conversation, message_id: received.messages.first().copied() }))
}
