//! The cabinet's security checks page: the last `ostrog doctor` report and
//! a run on request.

use crate::doctor::runs::{EVERY, SavedReport};
use crate::http::error::ApiResult;
use crate::http::guard::{AppState, any_of, guarded};
use axum::Json;
use axum::extract::State;
use ostrog_domain::permission::Permission::SettingsView;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    // Running the checks changes no setting: whoever may see them may
    // refresh them (one run at a time, `doctor::runs`).
    OpenApiRouter::new().routes(guarded(state, any_of(&[SettingsView]), routes!(last_report, run_now)))
}

#[derive(Serialize, ToSchema)]
struct LastReport {
    /// None until the first run, a minute after the leader starts.
    report: Option<SavedReport>,
    /// Hours between the scheduled runs.
    every_hours: u64,
}

/// The last report of the security checks, worst findings first.
#[utoipa::path(get, path = "/api/v1/security-checks", tag = "settings", responses((status = 200, body = LastReport)))]
async fn last_report(State(app): State<AppState>) -> ApiResult<Json<LastReport>> {
    let report = app.doctor.last().await?;
    Ok(Json(LastReport { report, every_hours: EVERY.as_secs() / 3600 }))
}

/// Runs the security checks now, after any run in progress, and returns
/// the report; findings that appeared or went are audited as `doctor.finding`.
#[utoipa::path(post, path = "/api/v1/security-checks", tag = "settings", responses((status = 200, body = SavedReport)))]
async fn run_now(State(app): State<AppState>) -> ApiResult<Json<SavedReport>> {
    Ok(Json(app.doctor.run().await?))
}
