//! Satisfaction (CSAT) by team and by label over any period, with CSV.

use crate::http::error::ApiResult;
use crate::http::extract::ApiQuery;
use crate::http::guard::{AppState, any_of, guarded};
use crate::http::routes::reports::{PeriodQuery, csv, wants_csv};
use crate::services::reports::period;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use ostrog_domain::csv::text;
use ostrog_domain::label::Colour;
use ostrog_domain::permission::Permission::{StatisticsAll, StatisticsGeneral};
use ostrog_domain::satisfaction::Summary;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(guarded(state, any_of(&[StatisticsAll, StatisticsGeneral]), routes!(report)))
}

#[derive(Serialize, ToSchema)]
struct Score {
    ratings: u64,
    /// The mean rating (1–5); none without ratings.
    average: Option<f64>,
    /// Percent of ratings of 4 or 5.
    satisfied_percent: Option<f64>,
}

impl From<Summary> for Score {
    fn from(s: Summary) -> Self {
        Score { ratings: s.ratings, average: s.average, satisfied_percent: s.satisfied_percent }
    }
}

#[derive(Serialize, ToSchema)]
struct TeamScore {
    /// None: conversations routed to no team (or to a deleted one).
    team_id: Option<Uuid>,
    name: Option<String>,
    #[serde(flatten)]
    score: Score,
}

#[derive(Serialize, ToSchema)]
struct LabelScore {
    label_id: Uuid,
    name: String,
    #[schema(value_type = String)]
    colour: Colour,
    #[serde(flatten)]
    score: Score,
}

#[derive(Serialize, ToSchema)]
struct SatisfactionReport {
    from: i64,
    to: i64,
    /// Most ratings first.
    by_team: Vec<TeamScore>,
    /// Labels with ratings in the period, most first.
    by_label: Vec<LabelScore>,
}

/// Visitors' ratings given in a period, by team and by label.
#[utoipa::path(get, path = "/api/v1/statistics/satisfaction", tag = "statistics", params(PeriodQuery),
    responses((status = 200, body = SatisfactionReport)))]
async fn report(State(app): State<AppState>, ApiQuery(q): ApiQuery<PeriodQuery>) -> ApiResult<Response> {
    let csv_wanted = wants_csv(q.format.as_deref())?;
    let p = period(q.from, q.to)?;
    let r = app.satisfaction.report(p).await?;
    let by_team: Vec<TeamScore> = r
        .by_team
        .into_iter()
        .map(|(t, s)| TeamScore { team_id: t.as_ref().map(|t| t.0.0), name: t.map(|t| t.1), score: s.into() })
        .collect();
    let by_label: Vec<LabelScore> = r
        .by_label
        .into_iter()
        .map(|(l, s)| LabelScore { label_id: l.id.0, name: l.name, colour: l.colour, score: s.into() })
        .collect();
    if csv_wanted {
        let mut out = String::from("group,name,ratings,average,satisfied_percent\n");
        let number = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
        let rows = by_team.iter().map(|t| ("team", t.name.as_deref().unwrap_or(""), &t.score));
        for (group, name, s) in rows.chain(by_label.iter().map(|l| ("label", l.name.as_str(), &l.score))) {
            let (avg, sat) = (number(s.average), number(s.satisfied_percent));
            out.push_str(&format!("{group},{},{},{avg},{sat}\n", text(name), s.ratings));
        }
        return Ok(csv("satisfaction", out));
    }
    Ok(Json(SatisfactionReport { from: p.from, to: p.to, by_team, by_label }).into_response())
}
