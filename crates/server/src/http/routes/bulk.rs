//! Bulk actions of the conversation list: close, label or assign many
//! conversations at once. Each conversation goes through the same service
//! call (and row-level rule) as the single action, and the answer says for
//! each one whether it was done or why not; one refusal stops nothing else.

use crate::error::AppResult;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiJson;
use crate::http::guard::{AppState, any_of, guarded};
use crate::services::caller::Caller;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ostrog_domain::DomainError;
use ostrog_domain::ids::{ConversationId, EmployeeId, LabelId};
use ostrog_domain::permission::Permission::{ConversationsAll, ConversationsOwn, ConversationsTransfer};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Conversations one bulk action may name.
const MAX_BULK: usize = 100;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let work = any_of(&[ConversationsOwn, ConversationsAll]);
    OpenApiRouter::new()
        .routes(guarded(state, work, routes!(close)))
        .routes(guarded(state, work, routes!(label)))
        .routes(guarded(state, any_of(&[ConversationsTransfer]), routes!(assign)))
}

#[derive(Serialize, ToSchema)]
struct Outcome {
    #[schema(value_type = uuid::Uuid)]
    conversation_id: ConversationId,
    /// Absent when done; else the error code the single action would have answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    error: Option<crate::error::ErrorCode>,
}

#[derive(Serialize, ToSchema)]
struct BulkResult {
    /// One per conversation named, in the order named.
    results: Vec<Outcome>,
}

fn checked(ids: &[ConversationId]) -> ApiResult<Vec<ConversationId>> {
    let mut unique = Vec::with_capacity(ids.len());
    for id in ids {
        if !unique.contains(id) {
            unique.push(*id);
        }
    }
    if unique.is_empty() || unique.len() > MAX_BULK {
        return Err(DomainError::Invalid("conversation_ids").into());
    }
    Ok(unique)
}

/// Runs `act` on each conversation; a refusal is that one's outcome, but
/// storage being unavailable fails the whole request.
async fn each<F, Fut>(ids: &[ConversationId], act: F) -> ApiResult<Json<BulkResult>>
where
    F: Fn(ConversationId) -> Fut,
    Fut: std::future::Future<Output = AppResult<()>>,
{
    let mut results = Vec::with_capacity(ids.len());
    for id in checked(ids)? {
        let error = match act(id).await {
            Ok(()) => None,
            Err(e) => {
                let e = ApiError::from(e);
                if e.status == StatusCode::SERVICE_UNAVAILABLE {
                    return Err(e);
                }
                Some(e.code)
            }
        };
        results.push(Outcome { conversation_id: id, error });
    }
    Ok(Json(BulkResult { results }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Conversations {
    /// 1–100 conversations.
    #[schema(value_type = Vec<uuid::Uuid>)]
    conversation_ids: Vec<ConversationId>,
}

/// Closes each conversation the caller may act on.
#[utoipa::path(post, path = "/api/v1/conversations/bulk/close", tag = "conversations", request_body = Conversations,
    responses((status = 200, body = BulkResult)))]
async fn close(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<Conversations>,
) -> ApiResult<Json<BulkResult>> {
    each(&b.conversation_ids, |id| {
        let (app, caller) = (&app, &caller);
        async move { app.conversations.close(&caller.actor, id).await.map(|_| ()) }
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LabelChange {
    #[schema(value_type = Vec<uuid::Uuid>)]
    conversation_ids: Vec<ConversationId>,
    /// Labels to put on each conversation.
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>)]
    add: Vec<LabelId>,
    /// Labels to take off each conversation.
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>)]
    remove: Vec<LabelId>,
}

/// Adds and removes labels on each conversation the caller may see.
#[utoipa::path(post, path = "/api/v1/conversations/bulk/labels", tag = "conversations", request_body = LabelChange,
    responses((status = 200, body = BulkResult)))]
async fn label(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<LabelChange>,
) -> ApiResult<Json<BulkResult>> {
    let (add, remove) = (&b.add, &b.remove);
    each(&b.conversation_ids, |id| {
        let (app, caller) = (&app, &caller);
        async move { app.labels.change_on(caller, id, add, remove).await.map(|_| ()) }
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Assignment {
    #[schema(value_type = Vec<uuid::Uuid>)]
    conversation_ids: Vec<ConversationId>,
    /// The employee who gets them (active, taking chats).
    #[schema(value_type = uuid::Uuid)]
    to: EmployeeId,
}

/// Hands each conversation to `to`: transferred when someone has it,
/// assigned when it waits in the queue.
#[utoipa::path(post, path = "/api/v1/conversations/bulk/assign", tag = "conversations", request_body = Assignment,
    responses((status = 200, body = BulkResult)))]
async fn assign(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<Assignment>,
) -> ApiResult<Json<BulkResult>> {
    let to = b.to;
    each(&b.conversation_ids, |id| {
        let (app, caller) = (&app, &caller);
        async move { app.conversations.assign(&caller.actor, id, to).await.map(|_| ()) }
    })
    .await
}
