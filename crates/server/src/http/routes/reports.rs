//! Statistics (scoped by role) and the finance section, as JSON or CSV.

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::guard::{AppState, any_of, guarded};
use crate::http::routes::bodies::{self, Statistics, UsageReport};
use crate::services::caller::Caller;
use crate::services::reports::period;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ostrog_domain::finance::{self, Tariff};
use ostrog_domain::permission::Permission::{
    FinanceManage, FinanceView, StatisticsAll, StatisticsGeneral, StatisticsOwn,
};
use ostrog_domain::stats;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let finance_view = any_of(&[FinanceView]);
    OpenApiRouter::new()
        .routes(guarded(state, any_of(&[StatisticsAll, StatisticsGeneral, StatisticsOwn]), routes!(statistics)))
        .routes(guarded(state, finance_view, routes!(get_tariff)))
        .routes(guarded(state, any_of(&[FinanceManage]), routes!(put_tariff)))
        .routes(guarded(state, finance_view, routes!(usage)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    /// Start of the period, ms since the Unix epoch (inclusive).
    from: i64,
    /// End of the period (exclusive); at most 366 days after `from`.
    to: i64,
    /// Only this channel (`widget`, …).
    channel: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// A period of a report that has no other filter.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeriodQuery {
    /// Start of the period, ms since the Unix epoch (inclusive).
    pub(crate) from: i64,
    /// End of the period (exclusive); at most 366 days after `from`.
    pub(crate) to: i64,
    /// `json` (default) or `csv`.
    pub(crate) format: Option<String>,
}

pub(crate) fn csv(name: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}.csv\"");
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}

pub(crate) fn wants_csv(format: Option<&str>) -> ApiResult<bool> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(crate::error::AppError::from(ostrog_domain::DomainError::Invalid("format")).into()),
    }
}

/// Conversation statistics: `statistics.all` sees totals and every
/// operator, `statistics.general` only totals, `statistics.own` only the caller's row.
#[utoipa::path(get, path = "/api/v1/statistics", tag = "statistics", params(ReportQuery),
    responses((status = 200, body = Statistics)))]
async fn statistics(
    State(app): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let csv_wanted = wants_csv(q.format.as_deref())?;
    let p = period(q.from, q.to)?;
    let (report, scope) = app.reports.statistics(&caller, p, q.channel.as_deref()).await?;
    if csv_wanted {
        let rows: Vec<_> = report.per_operator.keys().copied().collect();
        return Ok(csv("statistics", stats::to_csv(&report, scope.totals, &rows)));
    }
    let total = scope.totals.then_some(&report.total);
    let (per_operator, total) = (json!(report.per_operator), json!(total));
    Ok(Json(Statistics { from: p.from, per_operator, to: p.to, total }).into_response())
}

#[utoipa::path(get, path = "/api/v1/finance/tariff", tag = "finance", responses((status = 200, body = bodies::Tariff)))]
async fn get_tariff(State(app): State<AppState>) -> ApiResult<Json<Tariff>> {
    Ok(Json(app.reports.tariff().await?))
}

/// Sets the tariff: currency, price per active seat, price per message by channel (minor units).
#[utoipa::path(put, path = "/api/v1/finance/tariff", tag = "finance", request_body = Object,
    responses((status = 200, body = bodies::Tariff)))]
async fn put_tariff(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(t): ApiJson<Tariff>,
) -> ApiResult<Json<Tariff>> {
    Ok(Json(app.reports.set_tariff(&caller, t).await?))
}

/// Usage for a period and what it costs under the tariff.
#[utoipa::path(get, path = "/api/v1/finance/usage", tag = "finance", params(ReportQuery),
    responses((status = 200, body = UsageReport)))]
async fn usage(State(app): State<AppState>, ApiQuery(q): ApiQuery<ReportQuery>) -> ApiResult<Response> {
    let csv_wanted = wants_csv(q.format.as_deref())?;
    let p = period(q.from, q.to)?;
    let (usage, cost, tariff) = app.reports.usage(p).await?;
    if csv_wanted {
        return Ok(csv("usage", finance::to_csv(&usage, &cost, &tariff.currency)));
    }
    let (usage, cost, currency) = (json!(usage), json!(cost), tariff.currency);
    Ok(Json(UsageReport { cost, currency, from: p.from, to: p.to, usage }).into_response())
}
