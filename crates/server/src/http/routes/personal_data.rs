//! Data subjects' rights: requests with deadlines, exports, erasure with
//! its act of destruction, retention.

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::guard::{AppState, any_of, guarded};
use crate::services::caller::Caller;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use ostrog_domain::audit::AuditEntry;
use ostrog_domain::erasure::Basis;
use ostrog_domain::ids::VisitorId;
use ostrog_domain::permission::Permission::{AuditView, PersonalDataErase, PersonalDataExport, SettingsView};
use ostrog_domain::privacy::{RequestKind, RequestStatus};
use ostrog_store::SubjectRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // Irreversible: a fresh password + 2FA proof, like other grave acts.
        .routes(guarded(state, any_of(&[PersonalDataErase]).fresh(), routes!(erase)))
        .routes(guarded(state, any_of(&[AuditView]), routes!(acts)))
        .routes(guarded(state, any_of(&[PersonalDataExport, PersonalDataErase]), routes!(open_request, requests)))
        .routes(guarded(state, any_of(&[PersonalDataExport, PersonalDataErase]), routes!(close_request)))
        .routes(guarded(state, any_of(&[PersonalDataExport, PersonalDataErase]), routes!(subjects)))
        .routes(guarded(state, any_of(&[PersonalDataExport]), routes!(export)))
        .routes(guarded(state, any_of(&[PersonalDataErase, SettingsView]), routes!(retention_preview)))
        .routes(guarded(state, any_of(&[PersonalDataErase]).fresh(), routes!(retention_run)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    /// `subject_request`, `consent_withdrawn`, `retention_expired` or `unlawful_processing`.
    #[schema(value_type = String)]
    basis: Basis,
    /// A reference such as the request's number; no personal data.
    #[serde(default)]
    note: String,
}

/// An act of destruction, as the audit log holds it.
#[derive(Serialize, ToSchema)]
struct Act {
    /// The audit entry's sequence number: the act's number.
    number: i64,
    at: i64,
    /// The employee who erased.
    actor: Option<String>,
    subject: Option<String>,
    #[schema(value_type = Object)]
    details: serde_json::Value,
    /// The entry's place in the hash chain.
    hash: String,
}

impl From<AuditEntry> for Act {
    fn from(e: AuditEntry) -> Self {
        Act {
            number: e.seq,
            at: e.event.at,
            actor: e.event.actor,
            subject: e.event.target,
            details: e.event.details,
            hash: e.hash,
        }
    }
}

/// Erases a visitor: destroys their data key, then their conversation,
/// messages, files and identifiers; records an act of destruction.
#[utoipa::path(post, path = "/api/v1/visitors/{id}/erase", tag = "personal-data", request_body = EraseBody,
    responses((status = 200, body = Act), (status = 404, description = "no such visitor, or already erased")))]
async fn erase(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<EraseBody>,
) -> ApiResult<Json<Act>> {
    Ok(Json(app.erasure.erase(&caller.ctx(), VisitorId(id), b.basis, &b.note).await?.into()))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ActsQuery {
    /// Acts numbered below this, newest first (default: the latest).
    before: Option<i64>,
    limit: Option<u32>,
}

/// Acts of destruction, newest first.
#[utoipa::path(get, path = "/api/v1/personal-data/acts", tag = "personal-data", params(ActsQuery),
    responses((status = 200, body = [Act])))]
async fn acts(State(app): State<AppState>, ApiQuery(q): ApiQuery<ActsQuery>) -> ApiResult<Json<Vec<Act>>> {
    let acts = app.erasure.acts(q.before.unwrap_or(i64::MAX), q.limit.unwrap_or(50)).await?;
    Ok(Json(acts.into_iter().map(Act::from).collect()))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct SubjectsQuery {
    /// Words from the visitor's conversations; empty: the most recently active.
    #[serde(default)]
    q: String,
    /// 1–50 (default 20).
    limit: Option<u32>,
}

/// A visitor to pick, with what there is to recognise them by.
#[derive(Serialize, ToSchema)]
struct SubjectView {
    visitor_id: Uuid,
    /// A readable name for the visitor, where one is known (a contact's
    /// name); `null` until then, and the page describes them by channel and time.
    label: Option<String>,
    /// Where their latest conversation came from: `widget`, `telegram`, `vk`…
    channel: String,
    /// Their latest conversation, and when it was last active.
    conversation_id: Uuid,
    last_active_at: i64,
}

/// Visitors found by words from their conversations, to choose as the
/// subject of a request, an export or an erasure instead of typing an id.
#[utoipa::path(get, path = "/api/v1/personal-data/subjects", tag = "personal-data", params(SubjectsQuery),
    responses((status = 200, body = [SubjectView])))]
async fn subjects(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<SubjectsQuery>,
) -> ApiResult<Json<Vec<SubjectView>>> {
    let found = app.personal_data.find_subjects(&q.q, q.limit.unwrap_or(20)).await?;
    Ok(Json(
        found
            .into_iter()
            .map(|c| SubjectView {
                visitor_id: c.visitor_id.0,
                // Contact names plug in here (issue 20, contacts).
                label: None,
                channel: c.channel,
                conversation_id: c.id.0,
                last_active_at: c.updated_at,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
struct RequestView {
    id: Uuid,
    visitor_id: Uuid,
    /// `access` or `erasure`.
    kind: &'static str,
    basis: String,
    /// `open`, `done` or `rejected`.
    status: &'static str,
    received_at: i64,
    /// The legal deadline: 10 working days for access, 30 days for erasure.
    due_at: i64,
    closed_at: Option<i64>,
    closed_by: Option<Uuid>,
    note: String,
}

impl From<SubjectRequest> for RequestView {
    fn from(r: SubjectRequest) -> Self {
        RequestView {
            id: r.id,
            visitor_id: r.visitor_id.0,
            kind: r.kind.name(),
            basis: r.basis,
            status: r.status.name(),
            received_at: r.received_at,
            due_at: r.due_at,
            closed_at: r.closed_at,
            closed_by: r.closed_by.map(|e| e.0),
            note: r.note,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewRequest {
    visitor_id: Uuid,
    /// `access` or `erasure`.
    #[schema(value_type = String)]
    kind: RequestKind,
    /// A reference such as the letter's number; no personal data.
    #[serde(default)]
    note: String,
}

/// Registers a data subject's request with its legal deadline.
#[utoipa::path(post, path = "/api/v1/personal-data/requests", tag = "personal-data", request_body = NewRequest,
    responses((status = 201, body = RequestView)))]
async fn open_request(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<NewRequest>,
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    let r = app.subjects.open_request(&caller, VisitorId(b.visitor_id), b.kind, &b.note).await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct RequestsQuery {
    /// Only the open ones (nearest deadline first).
    #[serde(default)]
    open: bool,
    limit: Option<u32>,
}

/// Requests: open ones by deadline first, then the latest closed ones.
#[utoipa::path(get, path = "/api/v1/personal-data/requests", tag = "personal-data", params(RequestsQuery),
    responses((status = 200, body = [RequestView])))]
async fn requests(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<RequestsQuery>,
) -> ApiResult<Json<Vec<RequestView>>> {
    let list = app.subjects.requests(q.open, q.limit.unwrap_or(100)).await?;
    Ok(Json(list.into_iter().map(RequestView::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    /// `done` or `rejected`.
    #[schema(value_type = String)]
    status: RequestStatus,
}

/// Closes a request (answered, or rejected).
#[utoipa::path(post, path = "/api/v1/personal-data/requests/{id}/close", tag = "personal-data", request_body = CloseBody,
    responses((status = 204), (status = 409, description = "request_closed")))]
async fn close_request(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<CloseBody>,
) -> ApiResult<StatusCode> {
    app.subjects.close_request(&caller, id, b.status).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything held about the visitor, as a tar archive (`subject.json` and
/// `files/`); answers their open access requests.
#[utoipa::path(get, path = "/api/v1/visitors/{id}/export", tag = "personal-data",
    responses((status = 200, content_type = "application/x-tar")))]
async fn export(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    let bytes = app.subjects.export(&caller, VisitorId(id), &*app).await?;
    let disposition = format!("attachment; filename=\"subject-{id}.tar\"");
    Ok(([(header::CONTENT_TYPE, "application/x-tar".to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes))
}

#[derive(Serialize, ToSchema)]
struct PlannedView {
    visitor_id: Uuid,
    /// `conversation_closed`, `silent_visitor` or `consent_withdrawn`.
    reason: &'static str,
}

impl From<crate::services::retention::Planned> for PlannedView {
    fn from(p: crate::services::retention::Planned) -> Self {
        PlannedView { visitor_id: p.visitor.0, reason: p.reason }
    }
}

/// What the next retention run would destroy (a dry run).
#[utoipa::path(get, path = "/api/v1/personal-data/retention/preview", tag = "personal-data",
    responses((status = 200, body = [PlannedView])))]
async fn retention_preview(State(app): State<AppState>) -> ApiResult<Json<Vec<PlannedView>>> {
    let plan = app.retention.plan().await?;
    Ok(Json(plan.into_iter().map(PlannedView::from).collect()))
}

/// Runs retention now instead of at the next hour.
#[utoipa::path(post, path = "/api/v1/personal-data/retention/run", tag = "personal-data",
    responses((status = 200, body = [PlannedView])))]
async fn retention_run(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<PlannedView>>> {
    let done = app.retention.run(&caller.ctx()).await?;
    Ok(Json(done.into_iter().map(PlannedView::from).collect()))
}
