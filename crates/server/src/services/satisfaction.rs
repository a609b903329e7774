//! Satisfaction reports: the visitors' ratings of a period grouped by the
//! team their conversation was routed to and by its labels, from the stored
//! events (per operator, they are in the main statistics).

use crate::error::AppResult;
use crate::keys::Ledger;
use ostrog_domain::ids::{ConversationId, LabelId, TeamId};
use ostrog_domain::message::{Body, Event};
use ostrog_domain::satisfaction::{Score, Summary};
use ostrog_domain::stats::Period;
use ostrog_store::{LabelRecord, LabelStore, TeamStore};
use std::collections::HashMap;
use std::sync::Arc;

pub struct Satisfaction {
    ledger: Arc<Ledger>,
    teams: Arc<dyn TeamStore>,
    labels: Arc<dyn LabelStore>,
}

/// Scores by team (`None`: conversations of no team, or of a deleted one,
/// with the team's name) and by label, most ratings first.
pub struct Report {
    pub by_team: Vec<(Option<(TeamId, String)>, Summary)>,
    pub by_label: Vec<(LabelRecord, Summary)>,
}

impl Satisfaction {
    pub fn new(ledger: Arc<Ledger>, teams: Arc<dyn TeamStore>, labels: Arc<dyn LabelStore>) -> Self {
        Self { ledger, teams, labels }
    }

    /// Every rating given in the period counts once, for its conversation.
    pub async fn report(&self, p: Period) -> AppResult<Report> {
        let ratings: Vec<(ConversationId, u8)> = self
            .ledger
            .activity(p.from, p.to)
            .await?
            .into_iter()
            .filter(|m| (p.from..p.to).contains(&m.message.at))
            .filter_map(|m| match m.message.body {
                Body::Event(Event::Rated { rating, .. }) => Some((m.message.conversation_id, rating)),
                _ => None,
            })
            .collect();
        let mut ids: Vec<ConversationId> = ratings.iter().map(|(c, _)| *c).collect();
        ids.sort();
        ids.dedup();
        let team_of: HashMap<ConversationId, TeamId> =
            self.teams.routes_of(&ids).await?.into_iter().filter_map(|r| Some((r.conversation, r.team?))).collect();
        let mut labels_of: HashMap<ConversationId, Vec<LabelId>> = HashMap::new();
        for (c, l) in self.labels.labels_of(&ids).await? {
            labels_of.entry(c).or_default().push(l);
        }
        let teams: HashMap<TeamId, String> = self.teams.teams().await?.into_iter().map(|t| (t.id, t.name)).collect();
        let mut by_team: HashMap<Option<TeamId>, Score> = HashMap::new();
        let mut by_label: HashMap<LabelId, Score> = HashMap::new();
        for (c, rating) in &ratings {
            let team = team_of.get(c).copied().filter(|t| teams.contains_key(t));
            by_team.entry(team).or_default().add(*rating);
            for l in labels_of.get(c).into_iter().flatten() {
                by_label.entry(*l).or_default().add(*rating);
            }
        }
        let mut by_team: Vec<_> = by_team
            .into_iter()
            .map(|(t, s)| (t.and_then(|t| teams.get(&t).map(|name| (t, name.clone()))), s.summary()))
            .collect();
        by_team.sort_by(|a, b| b.1.ratings.cmp(&a.1.ratings).then_with(|| a.0.cmp(&b.0)));
        let mut by_label: Vec<_> = self
            .labels
            .labels()
            .await?
            .into_iter()
            .filter_map(|l| by_label.get(&l.id).map(|s| (l, s.summary())))
            .collect();
        by_label.sort_by(|a, b| b.1.ratings.cmp(&a.1.ratings).then_with(|| a.0.name.cmp(&b.0.name)));
        Ok(Report { by_team, by_label })
    }
}
