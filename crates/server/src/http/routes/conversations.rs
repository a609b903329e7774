//! Conversations for employees: list and search, one conversation, its
//! history by sequence number, posting, taking, transfer, closing, presence.

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::guard::{AppState, any_of, guarded};
use crate::http::routes::bodies::{
    ContactLabel, ConversationLabels, ConversationPage, ConversationRoute, MessagePage, Preview,
};
use crate::realtime::objects::{Conversation, Message, View};
use crate::services::caller::Caller;
use axum::Json;
use axum::extract::State;
use ostrog_domain::ids::{ConversationId, EmployeeId};
use ostrog_domain::permission::Permission::{
    ConversationsAll, ConversationsOwn, ConversationsTransfer, PersonalDataReveal,
};
use ostrog_domain::routing::Presence;
use ostrog_store::ConversationFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let work = any_of(&[ConversationsOwn, ConversationsAll]);
    OpenApiRouter::new()
        .routes(guarded(state, work, routes!(list)))
        .routes(guarded(state, work, routes!(get_one)))
        .routes(guarded(state, work, routes!(history)))
        .routes(guarded(state, work, routes!(post_message)))
        .routes(guarded(state, any_of(&[ConversationsAll]), routes!(take)))
        .routes(guarded(state, any_of(&[ConversationsAll]), routes!(take_over)))
        .routes(guarded(state, any_of(&[ConversationsTransfer]), routes!(transfer)))
        .routes(guarded(state, work, routes!(close)))
        .routes(guarded(state, work, routes!(presence)))
        .routes(guarded(state, any_of(&[PersonalDataReveal]), routes!(reveal)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// `new`, `queued`, `assigned` or `closed`.
    state: Option<String>,
    /// Text to search for in messages and notes.
    q: Option<String>,
    /// Page size, 1–200 (default 50).
    limit: Option<u32>,
    /// Keyset paging: `updated_at` and `id` of the last conversation of the previous page.
    before_updated_at: Option<i64>,
    before_id: Option<Uuid>,
    /// Only conversations carrying this label.
    label: Option<Uuid>,
}

/// Conversations the caller may see, newest activity first. With only
/// `conversations.own`, just the caller's own.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", params(ListQuery),
    responses((status = 200, body = ConversationPage)))]
async fn list(
    State(app): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<ConversationPage>> {
    let state = match q.state.as_deref() {
        None => None,
        Some(s) => Some(
            ["new", "queued", "assigned", "closed"]
                .into_iter()
                .find(|x| *x == s)
                .ok_or(ostrog_domain::DomainError::Invalid("state"))
                .map_err(crate::error::AppError::from)?,
        ),
    };
    let text: String = q.q.unwrap_or_default().chars().take(200).collect();
    let terms = app.ledger.search_terms(&text);
    let before = q.before_updated_at.zip(q.before_id.map(ConversationId));
    let label = q.label.map(ostrog_domain::ids::LabelId);
    let filter = ConversationFilter { state, terms, before, label, limit: q.limit.unwrap_or(50), ..Default::default() };
    let items = app.conversations.list_conversations(&caller.actor, filter).await?;
    let mut visitors: Vec<_> = items.iter().map(|c| c.visitor_id).collect();
    visitors.sort();
    visitors.dedup();
    let contacts = app.contacts.labels(&visitors).await?;
    let contacts = visitors
        .into_iter()
        .filter_map(|v| {
            contacts.get(&v).map(|l| ContactLabel { name: l.name.clone(), number: l.number, visitor_id: v })
        })
        .collect();
    let previews = previews(&app, &items).await?;
    let ids: Vec<ConversationId> = items.iter().map(|c| c.id).collect();
    let mut labels = app.labels.of(&ids).await?;
    let labels = ids
        .iter()
        .filter_map(|c| labels.remove(c).map(|label_ids| ConversationLabels { conversation_id: *c, label_ids }))
        .collect();
    let routes = app
        .rules
        .routes_of(&ids)
        .await?
        .into_iter()
        .map(|r| ConversationRoute { conversation_id: r.conversation, team_id: r.team, priority: r.priority })
        .collect();
    let items = items.iter().map(Conversation::of).collect();
    Ok(Json(ConversationPage { contacts, items, labels, routes, previews }))
}

/// Messages of the end of a conversation looked at for its preview: the
/// last ones are often events (assigned, closed).
const PREVIEW_WINDOW: i64 = 5;

/// The last text of each conversation among its latest messages, masked
/// as the transcript is: the ends of the whole page are read in one query.
async fn previews(app: &AppState, items: &[ostrog_store::ConversationRecord]) -> ApiResult<Vec<Preview>> {
    let masked = app.realtime.hub.masked();
    let ends: Vec<_> = items.iter().map(|c| (c.id, (c.last_seq - PREVIEW_WINDOW).max(0))).collect();
    let mut latest = app.ledger.messages_after_each(&ends).await?;
    latest.retain(|m| matches!(m.body, ostrog_domain::message::Body::Text(_)));
    latest.sort_by_key(|m| std::cmp::Reverse(m.seq));
    let previews = items
        .iter()
        .filter_map(|c| {
            let last = latest.iter().find(|m| m.conversation_id == c.id)?;
            let text = Message::of(last, View::Employee(&masked)).text.unwrap_or_default();
            let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(120).collect();
            Some(Preview { conversation_id: c.id, text: line })
        })
        .collect();
    Ok(previews)
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", responses((status = 200, body = Conversation)))]
async fn get_one(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Conversation>> {
    let c = app.conversations.visible(&caller.actor, ConversationId(id)).await?;
    Ok(Json(Conversation::of(&c)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    /// Messages after this sequence number (default 0).
    after: Option<i64>,
    /// Messages before this sequence number; alone, the page just before it.
    before: Option<i64>,
    /// 1–200 (default 100).
    limit: Option<u32>,
}

/// History paged by sequence number; internal notes included.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "conversations", params(HistoryQuery),
    responses((status = 200, body = MessagePage)))]
async fn history(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<MessagePage>> {
    let id = ConversationId(id);
    let items = app.conversations.history(&caller, id, q.after.unwrap_or(0), q.before, q.limit.unwrap_or(100)).await?;
    let masked = app.realtime.hub.masked();
    let items = items.iter().map(|m| Message::of(m, View::Employee(&masked))).collect();
    Ok(Json(MessagePage { conversation_id: id, items }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PostBody {
    /// The sender's own id for the message: resending it stores nothing twice.
    client_id: Uuid,
    text: String,
    /// An internal note, visible only to employees.
    #[serde(default)]
    note: bool,
}

/// Posts a reply or an internal note; answers once it is durable.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "conversations", request_body = PostBody,
    responses((status = 200, body = Message)))]
async fn post_message(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<PostBody>,
) -> ApiResult<Json<Message>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let reply = crate::realtime::writer::Reply::Wait(tx);
    app.conversations.employee_send(&caller.actor, ConversationId(id), b.client_id, b.text, b.note, reply).await?;
    let stored = rx.await.map_err(|_| crate::error::AppError::Internal("the writer dropped a message".into()))?;
    let masked = app.realtime.hub.masked();
    let stored = stored.map_err(crate::error::AppError::from)?;
    Ok(Json(Message::of(stored.message(), View::Employee(&masked))))
}

/// Takes a conversation from the queue.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/take", tag = "conversations", responses((status = 200, body = Conversation)))]
async fn take(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Conversation>> {
    let c = app.conversations.take(&caller, ConversationId(id)).await?;
    Ok(Json(Conversation::of(&c)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TakeOverBody {
    /// The operator it is taken from, as the caller's screen showed: refused
    /// (`from`) when it is no longer with them.
    from: Uuid,
}

/// Takes a conversation over from its operator (audited; they are told).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/take_over", tag = "conversations", request_body = TakeOverBody,
    responses((status = 200, body = Conversation)))]
async fn take_over(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<TakeOverBody>,
) -> ApiResult<Json<Conversation>> {
    let c = app.conversations.take_over(&caller, ConversationId(id), EmployeeId(b.from)).await?;
    Ok(Json(Conversation::of(&c)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    to: Uuid,
    /// For the next operator (up to 1,000 characters).
    #[serde(default)]
    note: String,
}

/// Hands a conversation the caller may see to another operator.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/transfer", tag = "conversations", request_body = TransferBody,
    responses((status = 200, body = Conversation)))]
async fn transfer(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<TransferBody>,
) -> ApiResult<Json<Conversation>> {
    let c = app.conversations.transfer(&caller.actor, ConversationId(id), EmployeeId(b.to), b.note).await?;
    Ok(Json(Conversation::of(&c)))
}

/// Closes a conversation; the visitor is asked for a rating.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/close", tag = "conversations", responses((status = 200, body = Conversation)))]
async fn close(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Conversation>> {
    let c = app.conversations.close(&caller.actor, ConversationId(id)).await?;
    Ok(Json(Conversation::of(&c)))
}

#[derive(Serialize, ToSchema)]
struct PresenceView {
    employee_id: Uuid,
    name: String,
    /// `online` or `away` (employees not listed are offline).
    #[schema(value_type = String)]
    status: Presence,
}

/// Who is connected and their status, for choosing whom to transfer to.
#[utoipa::path(get, path = "/api/v1/presence", tag = "conversations", responses((status = 200, body = [PresenceView])))]
async fn presence(State(app): State<AppState>) -> ApiResult<Json<Vec<PresenceView>>> {
    let list = app.conversations.colleagues_present().await?;
    Ok(Json(list.into_iter().map(|(id, name, status)| PresenceView { employee_id: id.0, name, status }).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RevealBody {
    /// Which masked value of the message (`personal_data[].index`).
    index: usize,
    /// Why it is needed (1–500 characters); kept in the audit log.
    reason: String,
}

#[derive(Serialize, ToSchema)]
struct Revealed {
    category: &'static str,
    value: String,
}

/// Reveals one masked value of a message, with a reason; audited as
/// `personal_data.revealed` (without the value).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages/{seq}/reveal", tag = "conversations",
    request_body = RevealBody, responses((status = 200, body = Revealed), (status = 404), (status = 422)))]
async fn reveal(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath((id, seq)): ApiPath<(Uuid, i64)>,
    ApiJson(b): ApiJson<RevealBody>,
) -> ApiResult<Json<Revealed>> {
    let (category, value) = app.personal_data.reveal(&caller, ConversationId(id), seq, b.index, &b.reason).await?;
    Ok(Json(Revealed { category: category.name(), value }))
}
