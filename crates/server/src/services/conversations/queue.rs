//! Routing the queue to the online operators: high priority first, then the
//! longest waiting; a team's conversation goes to the team's members until
//! the team's wait is over, then to anyone. Within whoever may take it, the
//! least loaded operator within their limit (`routing::pick`).

use super::{Conversations, MAX_PAGE};
use crate::error::AppResult;
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{EmployeeId, TeamId};
use ostrog_domain::message::Event;
use ostrog_domain::routing::{OperatorLoad, Presence, pick};
use ostrog_domain::rule::Priority;
use ostrog_domain::team::still_the_teams;
use ostrog_store::Queued;
use std::collections::HashMap;

/// Each team's wait and members.
type Teams = HashMap<TeamId, (u32, Vec<EmployeeId>)>;

impl Conversations {
    /// Assigns queued conversations to online operators until the queue or
    /// everyone's room runs out. The store's compare-and-set makes a
    /// conversation go to one operator only.
    pub async fn route_queue(&self) -> AppResult<()> {
        let online = self.presence.online_operators().await?;
        if online.is_empty() {
            return Ok(());
        }
        let mut loads: Vec<OperatorLoad> = self
            .routing
            .loads(&online)
            .await?
            .into_iter()
            .map(|l| OperatorLoad {
                id: l.operator,
                presence: Presence::Online,
                active: l.active,
                limit: l.limit,
                last_assigned_at: l.last_assigned_at,
            })
            .collect();
        let teams: Teams =
            self.teams.teams().await?.into_iter().map(|t| (t.id, (t.fallback_after_seconds, t.members))).collect();
        for priority in [Priority::High, Priority::Normal] {
            self.route_queued(priority, &mut loads, &teams).await?;
        }
        Ok(())
    }

    /// Pages through the queued conversations of one priority.
    async fn route_queued(&self, priority: Priority, loads: &mut [OperatorLoad], teams: &Teams) -> AppResult<()> {
        let mut after = None;
        while has_room(loads) {
            let page = self.teams.queued(priority, after, MAX_PAGE).await?;
            let Some(last) = page.last() else { return Ok(()) };
            after = Some((last.queued_at, last.conversation.id));
            let complete = page.len() < MAX_PAGE as usize;
            let now = self.now();
            let mut picks = Vec::new();
            for q in page {
                if !has_room(loads) {
                    break;
                }
                let Some(op) = pick(&eligible(&q, loads, teams, now)) else { continue };
                if let Some(l) = loads.iter_mut().find(|l| l.id == op) {
                    l.active += 1;
                    l.last_assigned_at = now;
                }
                picks.push((q.conversation, State::Assigned(op), Event::Assigned { operator: op }, None));
            }
            // Conversations someone took meanwhile are simply skipped.
            self.apply(picks).await?;
            if complete {
                return Ok(());
            }
        }
        Ok(())
    }
}

fn has_room(loads: &[OperatorLoad]) -> bool {
    loads.iter().any(|l| l.active < l.limit)
}

/// The operators who may get `q` now: its team's members while the team's
/// wait lasts (a deleted team has none: anyone), else everyone online.
fn eligible(q: &Queued, loads: &[OperatorLoad], teams: &Teams, now: i64) -> Vec<OperatorLoad> {
    let team = q.team.and_then(|t| teams.get(&t));
    match team {
        Some((wait, members)) if still_the_teams(q.queued_at, *wait, now) => {
            loads.iter().filter(|l| members.contains(&l.id)).copied().collect()
        }
        _ => loads.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ostrog_domain::conversation::State;
    use ostrog_domain::ids::{ConversationId, VisitorId};
    use ostrog_store::ConversationRecord;

    fn queued(team: Option<TeamId>, queued_at: i64) -> Queued {
        let conversation = ConversationRecord {
            id: ConversationId::random(),
            visitor_id: VisitorId::random(),
            channel: "widget".into(),
            state: State::Queued,
            operator: None,
            last_seq: 1,
            created_at: queued_at,
            updated_at: queued_at,
        };
        Queued { conversation, team, queued_at }
    }

    fn load(id: EmployeeId) -> OperatorLoad {
        OperatorLoad { id, presence: Presence::Online, active: 0, limit: 5, last_assigned_at: 0 }
    }

    #[test]
    fn a_teams_conversation_waits_for_its_members_then_goes_to_anyone() {
        let (member, other) = (EmployeeId::random(), EmployeeId::random());
        let (team, gone) = (TeamId::random(), TeamId::random());
        let teams: Teams = [(team, (60, vec![member]))].into_iter().collect();
        let loads = [load(member), load(other)];
        let ids = |v: Vec<OperatorLoad>| v.into_iter().map(|l| l.id).collect::<Vec<_>>();
        assert_eq!(ids(eligible(&queued(Some(team), 0), &loads, &teams, 59_999)), vec![member]);
        assert_eq!(ids(eligible(&queued(Some(team), 0), &loads, &teams, 60_000)), vec![member, other]);
        assert_eq!(ids(eligible(&queued(None, 0), &loads, &teams, 0)), vec![member, other]);
        assert_eq!(ids(eligible(&queued(Some(gone), 0), &loads, &teams, 0)), vec![member, other], "a deleted team");
        assert!(eligible(&queued(Some(team), 0), &[load(other)], &teams, 0).is_empty(), "no member online: it waits");
    }
}
