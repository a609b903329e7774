//! Reading and exporting the audit log. There is no route that edits or
//! deletes an entry.

use crate::http::error::ApiResult;
use crate::http::extract::ApiQuery;
use crate::http::guard::{AppState, any_of, guarded};
use crate::services::caller::Caller;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use ostrog_domain::permission::Permission::AuditView;
use ostrog_store::{AuditFilter, Trail};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(guarded(state, any_of(&[AuditView]), routes!(list)))
        .routes(guarded(state, any_of(&[AuditView]), routes!(export)))
        .routes(guarded(state, any_of(&[AuditView]), routes!(chain)))
}

#[derive(Serialize, ToSchema)]
struct ChainStatus {
    /// Every entry's hash matches its content and its predecessor.
    intact: bool,
    /// Entries checked (up to the first broken one).
    entries: i64,
    /// The first entry that does not match, when the chain is broken.
    broken_at: Option<i64>,
}

/// Walks the whole hash chain, as `ostrog audit verify` does.
#[utoipa::path(get, path = "/api/v1/audit/chain", tag = "audit", params(TrailQuery),
    responses((status = 200, body = ChainStatus)))]
async fn chain(State(app): State<AppState>, ApiQuery(q): ApiQuery<TrailQuery>) -> ApiResult<Json<ChainStatus>> {
    Ok(Json(match app.audit_log.verify(q.trail.into()).await? {
        Ok(entries) => ChainStatus { intact: true, entries, broken_at: None },
        Err(broken) => ChainStatus { intact: false, entries: broken.seq - 1, broken_at: Some(broken.seq) },
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct TrailQuery {
    /// `security` (the default) or `personal_data`: who read whose
    /// personal data (transcripts, exports, reveals, erasures).
    #[serde(default)]
    #[param(inline)]
    trail: TrailName,
}

#[derive(Deserialize, ToSchema, Default, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum TrailName {
    #[default]
    Security,
    PersonalData,
}

impl From<TrailName> for Trail {
    fn from(t: TrailName) -> Trail {
        match t {
            TrailName::Security => Trail::Security,
            TrailName::PersonalData => Trail::PersonalDataAccess,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    #[serde(default)]
    #[param(inline)]
    trail: TrailName,
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    /// Milliseconds since the epoch.
    since: Option<i64>,
    until: Option<i64>,
    /// Entries after this sequence number, oldest first (for paging).
    #[serde(default)]
    after: i64,
    /// Instead: entries before this sequence number, newest first
    /// (`9223372036854775807` for the latest page).
    before: Option<i64>,
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
struct AuditEntryView {
    seq: i64,
    at: i64,
    actor: Option<String>,
    ip: Option<String>,
    action: String,
    target: Option<String>,
    /// The actor's name today (looked up as the log is read; not part of the hashed entry).
    actor_name: Option<String>,
    /// The target's name today, where it has one (an employee, a widget, a channel).
    target_name: Option<String>,
    outcome: &'static str,
    /// Any JSON: an object for most actions, a list for some.
    details: serde_json::Value,
    prev_hash: String,
    hash: String,
}

/// Audit entries, filtered and paged by sequence number: oldest first, or
/// newest first with `before`.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery), responses((status = 200, body = [AuditEntryView])))]
async fn list(State(app): State<AppState>, ApiQuery(q): ApiQuery<AuditQuery>) -> ApiResult<Json<Vec<AuditEntryView>>> {
    let newest_first = q.before.is_some();
    let filter = AuditFilter {
        trail: q.trail.into(),
        actor: q.actor,
        action: q.action,
        target: q.target,
        since: q.since,
        until: q.until,
        newest_first,
    };
    let (page, labels) =
        app.audit_log.page_with_labels(&filter, q.before.unwrap_or(q.after), q.limit.unwrap_or(100)).await?;
    let name = |id: &Option<String>| id.as_ref().and_then(|id| labels.get(id).cloned());
    Ok(Json(
        page.into_iter()
            .map(|e| AuditEntryView {
                actor_name: name(&e.event.actor),
                target_name: name(&e.event.target),
                seq: e.seq,
                at: e.event.at,
                actor: e.event.actor,
                ip: e.event.ip,
                action: e.event.action,
                target: e.event.target,
                outcome: e.event.outcome.name(),
                details: e.event.details,
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
            .collect(),
    ))
}

/// The whole log as JSON lines, for a SIEM. The export itself is audited.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", params(TrailQuery),
    responses((status = 200, content_type = "application/x-ndjson")))]
async fn export(
    State(app): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<TrailQuery>,
) -> ApiResult<impl IntoResponse> {
    let mut out = Vec::new();
    app.audit_log.export(&caller.ctx(), q.trail.into(), &mut out).await?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], out))
}
