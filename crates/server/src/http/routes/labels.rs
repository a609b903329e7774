//! Labels: the catalogue (changed with `settings.manage`), a conversation's
//! labels (whoever may see it), and conversations per label.

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::guard::{AppState, any_of, guarded};
use crate::http::routes::reports::{PeriodQuery, csv, wants_csv};
use crate::services::caller::Caller;
use crate::services::reports::period;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ostrog_domain::ids::{ConversationId, LabelId};
use ostrog_domain::label::{Colour, Draft};
use ostrog_domain::permission::Permission::{
    ConversationsAll, ConversationsOwn, SettingsManage, SettingsView, StatisticsAll, StatisticsGeneral,
};
use ostrog_store::LabelRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let manage = any_of(&[SettingsManage]);
    OpenApiRouter::new()
        .routes(guarded(state, any_of(&[ConversationsOwn, ConversationsAll, SettingsView]), routes!(list)))
        .routes(guarded(state, manage, routes!(create)))
        .routes(guarded(state, manage, routes!(update)))
        .routes(guarded(state, manage, routes!(delete)))
        .routes(guarded(state, any_of(&[ConversationsOwn, ConversationsAll]), routes!(set_on_conversation)))
        .routes(guarded(state, any_of(&[StatisticsAll, StatisticsGeneral]), routes!(statistics)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LabelBody {
    /// 1–40 characters, unique without regard to case.
    name: String,
    /// grey, red, orange, yellow, green, teal, blue or purple.
    #[schema(value_type = String)]
    colour: Colour,
}

#[derive(Serialize, ToSchema)]
pub struct LabelView {
    id: Uuid,
    name: String,
    #[schema(value_type = String)]
    colour: Colour,
}

fn view(l: LabelRecord) -> LabelView {
    LabelView { id: l.id.0, name: l.name, colour: l.colour }
}

/// Every label, by name.
#[utoipa::path(get, path = "/api/v1/labels", tag = "labels", responses((status = 200, body = [LabelView])))]
async fn list(State(app): State<AppState>) -> ApiResult<Json<Vec<LabelView>>> {
    Ok(Json(app.labels.list().await?.into_iter().map(view).collect()))
}

/// A new label; audited.
#[utoipa::path(post, path = "/api/v1/labels", tag = "labels", request_body = LabelBody,
    responses((status = 201, body = LabelView)))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<LabelBody>,
) -> ApiResult<(StatusCode, Json<LabelView>)> {
    let label = app.labels.create(&caller, Draft { name: b.name, colour: b.colour }).await?;
    Ok((StatusCode::CREATED, Json(view(label))))
}

/// Renames or recolours a label; audited.
#[utoipa::path(put, path = "/api/v1/labels/{id}", tag = "labels", request_body = LabelBody,
    responses((status = 200, body = LabelView)))]
async fn update(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<LabelBody>,
) -> ApiResult<Json<LabelView>> {
    Ok(Json(view(app.labels.update(&caller, LabelId(id), Draft { name: b.name, colour: b.colour }).await?)))
}

/// Deletes a label and takes it off every conversation; audited.
#[utoipa::path(delete, path = "/api/v1/labels/{id}", tag = "labels", responses((status = 204)))]
async fn delete(State(app): State<AppState>, caller: Caller, ApiPath(id): ApiPath<Uuid>) -> ApiResult<StatusCode> {
    app.labels.delete(&caller, LabelId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConversationLabelsBody {
    /// The conversation's labels, replacing those it had; at most 10.
    #[schema(value_type = Vec<Uuid>)]
    label_ids: Vec<LabelId>,
}

/// Replaces the labels of a conversation the caller may see.
#[utoipa::path(put, path = "/api/v1/conversations/{id}/labels", tag = "labels", request_body = ConversationLabelsBody,
    responses((status = 200, body = ConversationLabelsBody)))]
async fn set_on_conversation(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ConversationLabelsBody>,
) -> ApiResult<Json<ConversationLabelsBody>> {
    let label_ids = app.labels.set_on(&caller, ConversationId(id), &b.label_ids).await?;
    Ok(Json(ConversationLabelsBody { label_ids }))
}

#[derive(Serialize, ToSchema)]
struct LabelCount {
    id: Uuid,
    name: String,
    #[schema(value_type = String)]
    colour: Colour,
    /// Conversations that started in the period and carry the label.
    conversations: i64,
}

#[derive(Serialize, ToSchema)]
struct LabelReport {
    from: i64,
    to: i64,
    /// Every label, most conversations first.
    labels: Vec<LabelCount>,
}

/// Conversations per label in a period.
#[utoipa::path(get, path = "/api/v1/statistics/labels", tag = "statistics", params(PeriodQuery),
    responses((status = 200, body = LabelReport)))]
async fn statistics(State(app): State<AppState>, ApiQuery(q): ApiQuery<PeriodQuery>) -> ApiResult<Response> {
    let csv_wanted = wants_csv(q.format.as_deref())?;
    let p = period(q.from, q.to)?;
    let labels: Vec<LabelCount> = app
        .labels
        .counts(p)
        .await?
        .into_iter()
        .map(|(l, n)| LabelCount { id: l.id.0, name: l.name, colour: l.colour, conversations: n })
        .collect();
    if csv_wanted {
        let mut out = String::from("label,conversations\n");
        for l in &labels {
            out.push_str(&format!("{},{}\n", ostrog_domain::csv::text(&l.name), l.conversations));
        }
        return Ok(csv("labels", out));
    }
    Ok(Json(LabelReport { from: p.from, to: p.to, labels }).into_response())
}
