//! Data subjects' rights: erasure with its act of destruction.

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::guard::{AppState, any_of, guarded};
use crate::services::caller::Caller;
use axum::Json;
use axum::extract::State;
use ostrog_domain::audit::AuditEntry;
use ostrog_domain::erasure::Basis;
use ostrog_domain::ids::VisitorId;
use ostrog_domain::permission::Permission::{AuditView, PersonalDataErase};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // Irreversible: a fresh password + 2FA proof, like other grave acts.
        .routes(guarded(state, any_of(&[PersonalDataErase]).fresh(), routes!(erase)))
        .routes(guarded(state, any_of(&[AuditView, PersonalDataErase]), routes!(acts)))
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
    Ok(Json(app.erase_subject(&caller, VisitorId(id), b.basis, &b.note).await?.into()))
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
    let acts = app.destruction_acts(q.before.unwrap_or(i64::MAX), q.limit.unwrap_or(50)).await?;
    Ok(Json(acts.into_iter().map(Act::from).collect()))
}
