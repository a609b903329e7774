//! Routing rules: kept as one ordered list among the settings (changed with
//! `settings.manage`, audited whole), checked as each conversation starts,
//! and tried out on a sample conversation without starting one.

use crate::error::{AppError, AppResult};
use crate::services::auditor::Auditor;
use crate::services::caller::Caller;
use ostrog_domain::DomainError;
use ostrog_domain::audit::{Action, Outcome};
use ostrog_domain::clock::Clock;
use ostrog_domain::ids::ConversationId;
use ostrog_domain::rule::{self, Actions, Priority, Rule, Start, Verdict};
use ostrog_store::{LabelStore, Route, SettingsStore, TeamStore};
use std::sync::Arc;

const RULES_KEY: &str = "routing.rules";

pub struct RoutingRules {
    settings: Arc<dyn SettingsStore>,
    teams: Arc<dyn TeamStore>,
    labels: Arc<dyn LabelStore>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
}

/// What a dry-run found: each rule's verdict in order, and the rule that
/// decides (the first that matched), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRun {
    pub verdicts: Vec<Verdict>,
    pub matched: Option<usize>,
    pub then: Option<Actions>,
}

impl RoutingRules {
    pub fn new(
        settings: Arc<dyn SettingsStore>,
        teams: Arc<dyn TeamStore>,
        labels: Arc<dyn LabelStore>,
        auditor: Arc<Auditor>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { settings, teams, labels, auditor, clock }
    }

    /// The rules in order; none until someone sets them. Rules stored by a
    /// build that wrote them differently apply as none, said in the log, so
    /// that conversations still reach the general queue.
    pub async fn rules(&self) -> AppResult<Vec<Rule>> {
        let Some(stored) = self.settings.setting(RULES_KEY).await? else { return Ok(Vec::new()) };
        Ok(serde_json::from_value(stored).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the stored routing rules cannot be read; none apply until they are saved again");
            Vec::new()
        }))
    }

    /// Replaces the whole list; every team and label named must exist.
    pub async fn set_rules(&self, caller: &Caller, rules: Vec<Rule>) -> AppResult<Vec<Rule>> {
        let rules = rule::validated(rules)?;
        let teams = self.teams.teams().await?;
        let labels = self.labels.labels().await?;
        for r in &rules {
            if r.then.team.is_some_and(|t| !teams.iter().any(|x| x.id == t)) {
                return Err(DomainError::Invalid("team").into());
            }
            if !r.then.labels.iter().all(|l| labels.iter().any(|x| x.id == *l)) {
                return Err(DomainError::Invalid("labels").into());
            }
        }
        let value = serde_json::to_value(&rules).map_err(|e| AppError::Internal(e.to_string()))?;
        self.settings.put_setting(RULES_KEY, &value).await?;
        self.auditor
            .audit(&caller.ctx(), Action::SettingsChanged, Some(RULES_KEY.into()), Outcome::Success, value)
            .await?;
        Ok(rules)
    }

    pub async fn dry_run(&self, start: &Start) -> AppResult<DryRun> {
        if !rule::CHANNELS.contains(&start.channel.as_str()) {
            return Err(DomainError::Invalid("channel").into());
        }
        if start.text.chars().count() > ostrog_domain::message::MAX_TEXT_CHARS {
            return Err(DomainError::Invalid("text").into());
        }
        let rules = self.rules().await?;
        let verdicts: Vec<Verdict> = rules.iter().map(|r| r.check(start)).collect();
        let matched = verdicts.iter().position(|v| *v == Verdict::Matched);
        Ok(DryRun { verdicts, matched, then: matched.map(|i| rules[i].then.clone()) })
    }

    /// What the rules decide for a conversation starting now.
    pub async fn decide(&self, start: &Start) -> AppResult<Option<Actions>> {
        let rules = self.rules().await?;
        Ok(rule::first_match(&rules, start).map(|i| rules[i].then.clone()))
    }

    /// The routes of these conversations, where a team or priority is set.
    pub async fn routes_of(&self, conversations: &[ConversationId]) -> AppResult<Vec<Route>> {
        Ok(self.teams.routes_of(conversations).await?)
    }

    /// Routes a conversation that was just opened (before it is queued) as
    /// `actions` say. A team or label deleted since the rule was saved is
    /// left out: the conversation goes to the general queue rather than
    /// nowhere.
    pub async fn apply(&self, id: ConversationId, actions: &Actions) -> AppResult<()> {
        let team = match actions.team {
            Some(t) if self.teams.teams().await?.iter().any(|x| x.id == t) => Some(t),
            _ => None,
        };
        if team.is_some() || actions.priority != Priority::Normal {
            self.teams.set_route(&Route { conversation: id, team, priority: actions.priority }).await?;
        }
        if !actions.labels.is_empty() {
            let live = self.labels.labels().await?;
            let labels: Vec<_> = actions.labels.iter().copied().filter(|l| live.iter().any(|x| x.id == *l)).collect();
            self.labels.set_conversation_labels(id, &labels, self.clock.now()).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::Harness;
    use ostrog_domain::role::Role;

    fn rules_of(t: &Harness) -> RoutingRules {
        RoutingRules::new(t.store.clone(), t.store.clone(), t.store.clone(), t.auditor(), t.clock())
    }

    #[tokio::test]
    async fn rules_stored_in_another_shape_apply_as_none_and_saving_replaces_them() {
        let t = Harness::new().await;
        let rules = rules_of(&t);
        t.store.put_setting(RULES_KEY, &serde_json::json!([{"name": "old", "when": {"colour": "red"}}])).await.unwrap();
        assert!(rules.rules().await.unwrap().is_empty());
        assert_eq!(rules.decide(&Start::through("widget")).await.unwrap(), None, "the general queue");

        let admin = t.caller(Role::Administrator).await;
        let anyone = Rule { name: "all".into(), enabled: true, when: Default::default(), then: Default::default() };
        rules.set_rules(&admin, vec![anyone.clone()]).await.unwrap();
        assert_eq!(rules.rules().await.unwrap(), [anyone]);
        assert_eq!(rules.decide(&Start::through("vk")).await.unwrap(), Some(Actions::default()));
    }
}
