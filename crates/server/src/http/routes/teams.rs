//! Teams and routing rules (changed with `settings.manage`), and the
//! rules' dry-run on a sample conversation.

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::guard::{AppState, any_of, guarded};
use crate::services::caller::Caller;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ostrog_domain::ids::{EmployeeId, TeamId};
use ostrog_domain::permission::Permission::{ConversationsAll, ConversationsOwn, SettingsManage, SettingsView};
use ostrog_domain::rule::{Rule, Start, Verdict};
use ostrog_domain::team::{DEFAULT_FALLBACK_SECONDS, Draft};
use ostrog_store::TeamRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let manage = any_of(&[SettingsManage]);
    let view = any_of(&[SettingsView, SettingsManage]);
    OpenApiRouter::new()
        .routes(guarded(state, any_of(&[ConversationsOwn, ConversationsAll, SettingsView]), routes!(list)))
        .routes(guarded(state, manage, routes!(create)))
        .routes(guarded(state, manage, routes!(update)))
        .routes(guarded(state, manage, routes!(delete)))
        .routes(guarded(state, view, routes!(rules)))
        .routes(guarded(state, manage, routes!(set_rules)))
        .routes(guarded(state, view, routes!(dry_run)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TeamBody {
    /// 1–60 characters, unique without regard to case.
    name: String,
    /// Seconds a conversation waits for the team's members before any
    /// operator may get it (0–86400; 0: it stays the team's). 120 when left out.
    #[serde(default = "default_fallback")]
    fallback_after_seconds: u32,
    #[serde(default)]
    #[schema(value_type = Vec<Uuid>)]
    members: Vec<EmployeeId>,
}

fn default_fallback() -> u32 {
    DEFAULT_FALLBACK_SECONDS
}

#[derive(Serialize, ToSchema)]
struct TeamView {
    id: Uuid,
    name: String,
    fallback_after_seconds: u32,
    #[schema(value_type = Vec<Uuid>)]
    members: Vec<EmployeeId>,
}

fn view(t: TeamRecord) -> TeamView {
    TeamView { id: t.id.0, name: t.name, fallback_after_seconds: t.fallback_after_seconds, members: t.members }
}

impl TeamBody {
    fn split(self) -> (Draft, Vec<EmployeeId>) {
        (Draft { name: self.name, fallback_after_seconds: self.fallback_after_seconds }, self.members)
    }
}

/// Every team with its members, by name.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", responses((status = 200, body = [TeamView])))]
async fn list(State(app): State<AppState>) -> ApiResult<Json<Vec<TeamView>>> {
    Ok(Json(app.teams.list().await?.into_iter().map(view).collect()))
}

/// A new team; audited with its members.
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = TeamBody,
    responses((status = 201, body = TeamView)))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<TeamBody>,
) -> ApiResult<(StatusCode, Json<TeamView>)> {
    let (draft, members) = b.split();
    let team = app.teams.create(&caller, draft, members).await?;
    Ok((StatusCode::CREATED, Json(view(team))))
}

/// Renames a team, changes its wait, replaces its members; audited.
#[utoipa::path(put, path = "/api/v1/teams/{id}", tag = "teams", request_body = TeamBody,
    responses((status = 200, body = TeamView)))]
async fn update(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<TeamBody>,
) -> ApiResult<Json<TeamView>> {
    let (draft, members) = b.split();
    Ok(Json(view(app.teams.update(&caller, TeamId(id), draft, members).await?)))
}

/// Deletes a team: its queued conversations go to the general queue, and
/// rules that named it send to the general queue; audited.
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams", responses((status = 204)))]
async fn delete(State(app): State<AppState>, caller: Caller, ApiPath(id): ApiPath<Uuid>) -> ApiResult<StatusCode> {
    app.teams.delete(&caller, TeamId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The routing rules in order (docs/workplace.md, "Teams and routing rules").
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RulesBody {
    /// Each rule: `name`, `enabled`, `when` (`channels`, `sources`
    /// (`{"widget": id}` or `{"channel": id}`), `page_contains`,
    /// `languages`, `words`, `signed`) and `then` (`team`, `labels`,
    /// `priority`: `normal` or `high`). The first enabled rule whose
    /// conditions all hold decides; at most 100.
    #[schema(value_type = Vec<Object>)]
    rules: Vec<Rule>,
}

/// The routing rules, in the order they are checked.
#[utoipa::path(get, path = "/api/v1/routing/rules", tag = "teams", responses((status = 200, body = RulesBody)))]
async fn rules(State(app): State<AppState>) -> ApiResult<Json<RulesBody>> {
    Ok(Json(RulesBody { rules: app.rules.rules().await? }))
}

/// Replaces the routing rules; audited whole.
#[utoipa::path(put, path = "/api/v1/routing/rules", tag = "teams", request_body = RulesBody,
    responses((status = 200, body = RulesBody)))]
async fn set_rules(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<RulesBody>,
) -> ApiResult<Json<RulesBody>> {
    Ok(Json(RulesBody { rules: app.rules.set_rules(&caller, b.rules).await? }))
}

/// A sample conversation as it would start.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SampleBody {
    /// `channel` (widget, telegram, vk, webhook), and optionally `source`,
    /// `page`, `language`, `text` (the first message) and `signed`.
    #[schema(value_type = Object)]
    sample: Start,
}

#[derive(Serialize, ToSchema)]
struct DryRunView {
    /// Each rule's outcome, in order: `{"outcome": "matched"}`,
    /// `{"outcome": "disabled"}` or `{"outcome": "failed", "condition": field}`.
    #[schema(value_type = Vec<Object>)]
    verdicts: Vec<Verdict>,
    /// The position of the rule that decides, if any.
    matched: Option<usize>,
    /// What it does; nothing (the general queue) when no rule matched.
    #[schema(value_type = Option<Object>)]
    then: Option<ostrog_domain::rule::Actions>,
}

/// Which rule a sample conversation would match, and why each rule before
/// it did not. Nothing is started or stored.
#[utoipa::path(post, path = "/api/v1/routing/rules/dry-run", tag = "teams", request_body = SampleBody,
    responses((status = 200, body = DryRunView)))]
async fn dry_run(State(app): State<AppState>, ApiJson(b): ApiJson<SampleBody>) -> ApiResult<Json<DryRunView>> {
    let run = app.rules.dry_run(&b.sample).await?;
    Ok(Json(DryRunView { verdicts: run.verdicts, matched: run.matched, then: run.then }))
}
