//! The contact's past beside the transcript: the earlier conversations
//! (rounds of the one conversation a visitor has) with dates and outcomes,
//! and the files exchanged. Whoever may see the conversation may read them.

use crate::http::error::ApiResult;
use crate::http::extract::ApiPath;
use crate::http::guard::{AppState, any_of, guarded};
use crate::services::caller::Caller;
use axum::Json;
use axum::extract::State;
use ostrog_domain::ids::{ConversationId, EmployeeId, FileId};
use ostrog_domain::permission::Permission::{ConversationsAll, ConversationsOwn};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(guarded(state, any_of(&[ConversationsOwn, ConversationsAll]), routes!(contact_conversations)))
        .routes(guarded(state, any_of(&[ConversationsOwn, ConversationsAll]), routes!(contact_files)))
}

/// The contact's conversations, newest first. A visitor has one
/// conversation that reopens when they write again; each stretch from its
/// opening to its closing is listed here as a conversation of its own.
#[derive(Serialize, ToSchema)]
pub struct ContactConversations {
    #[schema(value_type = uuid::Uuid)]
    pub conversation_id: ConversationId,
    pub items: Vec<PastConversation>,
}

/// One conversation of the contact: its messages are those with
/// `after_seq < seq <= to_seq` (read them with
/// `GET /api/v1/conversations/{id}/messages?after=…&before=…`).
#[derive(Serialize, ToSchema)]
pub struct PastConversation {
    pub after_seq: i64,
    /// The closing's sequence number; unset while it is open.
    pub to_seq: Option<i64>,
    /// When it opened, in milliseconds since the epoch.
    pub started_at: i64,
    pub closed_at: Option<i64>,
    /// Who closed it; unset when no employee did.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub closed_by: Option<EmployeeId>,
    pub closed_by_name: Option<String>,
    /// The last operator it was assigned or transferred to.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub operator_id: Option<EmployeeId>,
    pub operator_name: Option<String>,
    /// The visitor's rating (1–5) of its closing.
    pub rating: Option<u8>,
    /// Whether this is the conversation as it is now (the newest).
    pub current: bool,
}

/// The contact's conversations, newest first, with dates and outcomes.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/contact/conversations", tag = "contacts",
    responses((status = 200, body = ContactConversations)))]
async fn contact_conversations(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ContactConversations>> {
    let id = ConversationId(id);
    let (rounds, names) = app.contact_history.rounds(&caller.actor, id).await?;
    let name = |e: Option<EmployeeId>| e.and_then(|e| names.get(&e).cloned());
    let items = rounds
        .into_iter()
        .enumerate()
        .map(|(i, r)| PastConversation {
            after_seq: r.after_seq,
            to_seq: r.to_seq,
            started_at: r.started_at,
            closed_at: r.closed_at,
            closed_by: r.closed_by,
            closed_by_name: name(r.closed_by),
            operator_id: r.operator,
            operator_name: name(r.operator),
            rating: r.rating,
            current: i == 0,
        })
        .collect();
    Ok(Json(ContactConversations { conversation_id: id, items }))
}

/// The state of a file's virus scan. Nothing unscanned is stored or
/// served, so every listed file was scanned and found clean.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScanState {
    Clean,
}

/// A file exchanged with the contact; its bytes come from
/// `GET /api/v1/files/{file_id}`, with that endpoint's checks.
#[derive(Serialize, ToSchema)]
pub struct ExchangedFile {
    #[schema(value_type = uuid::Uuid)]
    pub file_id: FileId,
    pub name: String,
    /// In bytes.
    pub size: u64,
    pub content_type: String,
    /// Whether `GET /api/v1/files/{file_id}/thumbnail` has a picture.
    pub thumbnail: bool,
    /// When it was sent, in milliseconds since the epoch.
    pub at: i64,
    /// The message that carried it.
    pub seq: i64,
    /// `visitor`, `employee` or `system`: who sent it.
    pub from: &'static str,
    pub scan: ScanState,
}

/// The files exchanged with the contact, newest first.
#[derive(Serialize, ToSchema)]
pub struct ContactFiles {
    #[schema(value_type = uuid::Uuid)]
    pub conversation_id: ConversationId,
    pub items: Vec<ExchangedFile>,
}

/// The files exchanged with the contact of a conversation the caller may see.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/contact/files", tag = "contacts",
    responses((status = 200, body = ContactFiles)))]
async fn contact_files(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ContactFiles>> {
    let id = ConversationId(id);
    let files = app.contact_history.files(&caller.actor, id).await?;
    let items = files
        .into_iter()
        .map(|f| ExchangedFile {
            file_id: f.file.file_id,
            name: f.file.name,
            size: f.file.size,
            content_type: f.file.content_type,
            thumbnail: f.file.thumbnail,
            at: f.at,
            seq: f.seq,
            from: f.author.kind(),
            scan: ScanState::Clean,
        })
        .collect();
    Ok(Json(ContactFiles { conversation_id: id, items }))
}
