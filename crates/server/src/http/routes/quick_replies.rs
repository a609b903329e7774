//! Quick replies: listing them, changing the shared ones (`replies.manage`)
//! and one's own, inserting one into a conversation, and their usage.

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::guard::{AppState, any_of, guarded};
use crate::http::routes::reports::{PeriodQuery, csv, wants_csv};
use crate::services::caller::Caller;
use crate::services::quick_replies::Kind;
use crate::services::reports::period;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ostrog_domain::ids::{ConversationId, QuickReplyId};
use ostrog_domain::language::Language;
use ostrog_domain::permission::Permission::{
    ConversationsAll, ConversationsOwn, RepliesManage, StatisticsAll, StatisticsGeneral, StatisticsOwn,
};
use ostrog_domain::quick_reply::{Bodies, Draft};
use ostrog_store::{QuickReplyRecord, QuickReplyUsage};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let handles = any_of(&[ConversationsOwn, ConversationsAll]);
    let manage = any_of(&[RepliesManage]);
    OpenApiRouter::new()
        .routes(guarded(state, any_of(&[ConversationsOwn, ConversationsAll, RepliesManage]), routes!(list)))
        .routes(guarded(state, manage, routes!(create_shared)))
        .routes(guarded(state, manage, routes!(update_shared)))
        .routes(guarded(state, manage, routes!(delete_shared)))
        .routes(guarded(state, handles, routes!(create_personal)))
        .routes(guarded(state, handles, routes!(update_personal)))
        .routes(guarded(state, handles, routes!(delete_personal)))
        .routes(guarded(state, handles, routes!(insert)))
        .routes(guarded(state, any_of(&[StatisticsAll, StatisticsGeneral, StatisticsOwn]), routes!(usage)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReplyBody {
    /// What follows `/` in the composer: 1–32 letters, digits, `_` or `-`.
    code: String,
    /// 1–100 characters.
    title: String,
    /// The text per language (`ru`, `en`), at least one, up to 4,000
    /// characters each. Placeholders: `{contact_name}`, `{operator_name}`,
    /// `{company_name}`, each with an optional fallback (`{contact_name|there}`).
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    bodies: Bodies,
}

impl ReplyBody {
    fn draft(self) -> Draft {
        Draft { code: self.code, title: self.title, bodies: self.bodies }
    }
}

#[derive(Serialize, ToSchema)]
struct QuickReplyView {
    id: Uuid,
    /// `shared` or `personal` (the caller's own).
    scope: &'static str,
    code: String,
    title: String,
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    bodies: Bodies,
    /// How often it was inserted: the shared ones by everyone.
    uses: i64,
    created_at: i64,
    updated_at: i64,
}

fn view(r: QuickReplyRecord, uses: i64) -> QuickReplyView {
    let scope = r.scope.name();
    QuickReplyView {
        id: r.id.0,
        scope,
        code: r.code,
        title: r.title,
        bodies: r.bodies,
        uses,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// The shared replies and the caller's own, by code.
#[utoipa::path(get, path = "/api/v1/quick-replies", tag = "quick replies",
    responses((status = 200, body = [QuickReplyView])))]
async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<QuickReplyView>>> {
    let replies = app.quick_replies.list(&caller).await?;
    Ok(Json(replies.into_iter().map(|(r, uses)| view(r, uses)).collect()))
}

async fn create(
    app: &AppState,
    caller: &Caller,
    kind: Kind,
    b: ReplyBody,
) -> ApiResult<(StatusCode, Json<QuickReplyView>)> {
    let reply = app.quick_replies.create(caller, kind, b.draft()).await?;
    Ok((StatusCode::CREATED, Json(view(reply, 0))))
}

async fn update(
    app: &AppState,
    caller: &Caller,
    kind: Kind,
    id: Uuid,
    b: ReplyBody,
) -> ApiResult<Json<QuickReplyView>> {
    let reply = app.quick_replies.update(caller, kind, QuickReplyId(id), b.draft()).await?;
    Ok(Json(view(reply, 0)))
}

/// A reply every employee finds in the composer; audited.
#[utoipa::path(post, path = "/api/v1/quick-replies/shared", tag = "quick replies", request_body = ReplyBody,
    responses((status = 201, body = QuickReplyView)))]
async fn create_shared(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<ReplyBody>,
) -> ApiResult<(StatusCode, Json<QuickReplyView>)> {
    create(&app, &caller, Kind::Shared, b).await
}

#[utoipa::path(put, path = "/api/v1/quick-replies/shared/{id}", tag = "quick replies", request_body = ReplyBody,
    responses((status = 200, body = QuickReplyView)))]
async fn update_shared(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ReplyBody>,
) -> ApiResult<Json<QuickReplyView>> {
    update(&app, &caller, Kind::Shared, id, b).await
}

#[utoipa::path(delete, path = "/api/v1/quick-replies/shared/{id}", tag = "quick replies", responses((status = 204)))]
async fn delete_shared(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    app.quick_replies.delete(&caller, Kind::Shared, QuickReplyId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A reply of the caller's own.
#[utoipa::path(post, path = "/api/v1/quick-replies/personal", tag = "quick replies", request_body = ReplyBody,
    responses((status = 201, body = QuickReplyView)))]
async fn create_personal(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<ReplyBody>,
) -> ApiResult<(StatusCode, Json<QuickReplyView>)> {
    create(&app, &caller, Kind::Personal, b).await
}

#[utoipa::path(put, path = "/api/v1/quick-replies/personal/{id}", tag = "quick replies", request_body = ReplyBody,
    responses((status = 200, body = QuickReplyView)))]
async fn update_personal(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ReplyBody>,
) -> ApiResult<Json<QuickReplyView>> {
    update(&app, &caller, Kind::Personal, id, b).await
}

#[utoipa::path(delete, path = "/api/v1/quick-replies/personal/{id}", tag = "quick replies", responses((status = 204)))]
async fn delete_personal(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    app.quick_replies.delete(&caller, Kind::Personal, QuickReplyId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InsertBody {
    /// `ru` or `en`; by default the conversation's (its widget's, else the installation's).
    #[schema(value_type = Option<String>)]
    language: Option<Language>,
}

#[derive(Serialize, ToSchema)]
struct InsertedView {
    /// The text to put in the composer, for the operator to edit and send.
    text: String,
    #[schema(value_type = String)]
    language: Language,
    /// Placeholders left as written, having neither a value nor a fallback.
    unfilled: Vec<&'static str>,
}

/// A reply's text filled for a conversation the caller may see: the
/// contact's name, the caller's and the company's. Sends nothing; counts a use.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/quick-replies/{reply_id}", tag = "quick replies",
    request_body = InsertBody, responses((status = 200, body = InsertedView)))]
async fn insert(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath((id, reply_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(b): ApiJson<InsertBody>,
) -> ApiResult<Json<InsertedView>> {
    let inserted = app.quick_replies.insert(&caller, ConversationId(id), QuickReplyId(reply_id), b.language).await?;
    let unfilled = inserted.filled.unfilled.iter().map(|p| p.name()).collect();
    Ok(Json(InsertedView { text: inserted.filled.text, language: inserted.language, unfilled }))
}

#[derive(Serialize, ToSchema)]
struct UsageRow {
    id: Uuid,
    scope: &'static str,
    code: String,
    title: String,
    /// Deleted since; its uses still count.
    deleted: bool,
    uses: i64,
}

#[derive(Serialize, ToSchema)]
struct UsageReport {
    from: i64,
    to: i64,
    /// Most used first.
    replies: Vec<UsageRow>,
}

fn usage_row(u: QuickReplyUsage) -> UsageRow {
    UsageRow { id: u.id.0, scope: u.scope.name(), code: u.code, title: u.title, deleted: u.deleted, uses: u.uses }
}

fn usage_csv(rows: &[UsageRow]) -> String {
    use ostrog_domain::csv::text;
    let mut out = String::from("code,title,scope,deleted,uses\n");
    for r in rows {
        out.push_str(&format!("{},{},{},{},{}\n", text(&r.code), text(&r.title), r.scope, r.deleted, r.uses));
    }
    out
}

/// How often each quick reply was inserted in a period: the shared ones
/// and the caller's own; by everyone with `statistics.all` or
/// `statistics.general`, else only by the caller.
#[utoipa::path(get, path = "/api/v1/statistics/quick-replies", tag = "statistics", params(PeriodQuery),
    responses((status = 200, body = UsageReport)))]
async fn usage(State(app): State<AppState>, caller: Caller, ApiQuery(q): ApiQuery<PeriodQuery>) -> ApiResult<Response> {
    let csv_wanted = wants_csv(q.format.as_deref())?;
    let p = period(q.from, q.to)?;
    let replies: Vec<UsageRow> = app.quick_replies.usage(&caller, p).await?.into_iter().map(usage_row).collect();
    if csv_wanted {
        return Ok(csv("quick-replies", usage_csv(&replies)));
    }
    Ok(Json(UsageReport { from: p.from, to: p.to, replies }).into_response())
}
