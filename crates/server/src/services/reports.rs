//! Statistics and finance, computed from stored messages and events on
//! request, so that a restart changes nothing and every figure can be
//! traced back to what happened.

use crate::error::{AppError, AppResult};
use crate::keys::Ledger;
use crate::services::auditor::Auditor;
use crate::services::caller::Caller;
use ostrog_domain::DomainError;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::finance::{self, Cost, Tariff, Usage};
use ostrog_domain::message::{Author, Body, Event};
use ostrog_domain::permission::Permission;
use ostrog_domain::stats::{self, Period, Report, What};
use ostrog_store::{ChannelMessage, SettingsStore};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const TARIFF_KEY: &str = "finance.tariff";
/// Longest period a report covers.
const MAX_PERIOD_MS: i64 = 366 * 24 * 3_600_000;

/// What part of the statistics the caller may see.
pub struct StatsScope {
    pub totals: bool,
    /// `None`: every operator; `Some(list)`: only these.
    pub operators: Option<Vec<ostrog_domain::ids::EmployeeId>>,
}

pub fn period(from: i64, to: i64) -> AppResult<Period> {
    if from >= to || to - from > MAX_PERIOD_MS {
        return Err(DomainError::Invalid("period").into());
    }
    Ok(Period { from, to })
}

/// A stored message as a statistics event; notes and ratings' keys aside.
fn event_of(m: &ChannelMessage) -> Option<stats::Event> {
    let what = match (&m.message.body, m.message.author) {
        (Body::Text(_) | Body::File(_), Author::Visitor(_)) => What::ClientMessage,
        (Body::Text(_) | Body::File(_), Author::Employee(e)) => What::EmployeeMessage(e),
        (Body::Event(Event::Queued | Event::Reopened), _) => What::Opened,
        (Body::Event(Event::Assigned { operator }), _) => What::Assigned(*operator),
        (Body::Event(Event::Transferred { from, to, .. }), _) => What::Transferred { from: *from, to: *to },
        (Body::Event(Event::TakenOver { from, by }), _) => What::Transferred { from: *from, to: *by },
        (Body::Event(Event::Closed { .. }), _) => What::Closed,
        (Body::Event(Event::Rated { rating, .. }), _) => What::Rated(*rating),
        _ => return None,
    };
    Some(stats::Event { conversation: m.message.conversation_id, channel: m.channel.clone(), at: m.message.at, what })
}

/// Statistics and the finance section, from the stored activity.
pub struct Reports {
    settings: Arc<dyn SettingsStore>,
    ledger: Arc<Ledger>,
    auditor: Arc<Auditor>,
}

impl Reports {
    pub fn new(settings: Arc<dyn SettingsStore>, ledger: Arc<Ledger>, auditor: Arc<Auditor>) -> Self {
        Self { settings, ledger, auditor }
    }

    /// `statistics.all`: everything; `statistics.general`: totals only;
    /// `statistics.own`: the caller's own row (and totals if also general).
    pub fn scope(&self, caller: &Caller) -> StatsScope {
        let a = &caller.actor;
        if a.holds(Permission::StatisticsAll) {
            return StatsScope { totals: true, operators: None };
        }
        let own = a.holds(Permission::StatisticsOwn).then(|| vec![a.id]);
        StatsScope { totals: a.holds(Permission::StatisticsGeneral), operators: Some(own.unwrap_or_default()) }
    }

    pub async fn statistics(
        &self,
        caller: &Caller,
        p: Period,
        channel: Option<&str>,
    ) -> AppResult<(Report, StatsScope)> {
        let activity = self.ledger.activity(p.from, p.to).await?;
        let events: Vec<stats::Event> = activity.iter().filter_map(event_of).collect();
        let mut report = stats::report(&events, p, channel);
        let scope = self.scope(caller);
        if !scope.totals {
            report.total = Default::default();
        }
        if let Some(allowed) = &scope.operators {
            report.per_operator.retain(|id, _| allowed.contains(id));
            for id in allowed {
                report.per_operator.entry(*id).or_default();
            }
        }
        Ok((report, scope))
    }

    pub async fn tariff(&self) -> AppResult<Tariff> {
        Ok(match self.settings.setting(TARIFF_KEY).await? {
            Some(v) => serde_json::from_value(v).map_err(|e| AppError::Internal(format!("stored tariff: {e}")))?,
            None => Tariff::default(),
        })
    }

    pub async fn set_tariff(&self, caller: &Caller, t: Tariff) -> AppResult<Tariff> {
        t.validate()?;
        let value = serde_json::to_value(&t).map_err(|e| AppError::Internal(e.to_string()))?;
        self.settings.put_setting(TARIFF_KEY, &value).await?;
        self.auditor.audit(&caller.ctx(), Action::FinanceTariffChanged, None, Outcome::Success, value).await?;
        Ok(t)
    }

    /// Seats are employees who wrote to a client in the period; messages
    /// (texts and files) and conversations are counted per channel.
    pub async fn usage(&self, p: Period) -> AppResult<(Usage, Cost, Tariff)> {
        let activity = self.ledger.activity(p.from, p.to).await?;
        let mut seats = BTreeSet::new();
        let mut conversations: BTreeMap<String, BTreeSet<_>> = BTreeMap::new();
        let mut usage = Usage::default();
        for m in activity.iter().filter(|m| p.contains(m.message.at)) {
            if !matches!(m.message.body, Body::Text(_) | Body::File(_)) {
                continue;
            }
            if let Author::Employee(e) = m.message.author {
                seats.insert(e);
            }
            *usage.messages.entry(m.channel.clone()).or_default() += 1;
            conversations.entry(m.channel.clone()).or_default().insert(m.message.conversation_id);
        }
        usage.active_seats = seats.len() as u64;
        usage.conversations = conversations.into_iter().map(|(c, set)| (c, set.len() as u64)).collect();
        let tariff = self.tariff().await?;
        let cost = finance::cost(&tariff, &usage);
        Ok((usage, cost, tariff))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::{Harness, START};
    use ostrog_domain::conversation::State;
    use ostrog_domain::ids::{EmployeeId, MessageId};
    use ostrog_domain::role::Role;
    use ostrog_store::{AuditFilter, NewMessage};

    fn reports(t: &Harness) -> Reports {
        Reports::new(t.store.clone(), t.ledger(), t.auditor())
    }

    /// A conversation queued, assigned to `operator`, a question and the answer.
    async fn answered_by(t: &Harness, operator: EmployeeId) {
        let visitor = t.subject(START).await;
        let c = t.subject_conversation(visitor, State::Queued, None, START).await;
        let bodies = [
            (Author::System, Body::Event(Event::Queued)),
            (Author::System, Body::Event(Event::Assigned { operator })),
            (Author::Visitor(visitor), Body::Text("hello?".into())),
            (Author::Employee(operator), Body::Text("hello!".into())),
        ];
        let batch = bodies
            .into_iter()
            .enumerate()
            .map(|(i, (author, body))| NewMessage {
                id: MessageId::random(),
                conversation_id: c.id,
                client_key: None,
                author,
                body,
                at: START + i as i64 * 1_000,
            })
            .collect();
        t.ledger().append_messages(batch).await.unwrap();
    }

    #[tokio::test]
    async fn each_role_sees_only_its_part_of_the_statistics() {
        let t = Harness::new().await;
        let reports = reports(&t);
        let (admin, ann, senior) =
            (t.caller(Role::Administrator).await, t.caller(Role::Operator).await, t.caller(Role::SeniorOperator).await);
        let bob = t.caller(Role::Operator).await;
        answered_by(&t, ann.employee.id).await;
        answered_by(&t, bob.employee.id).await;
        let p = period(START, START + 60_000).unwrap();

        let (all, scope) = reports.statistics(&admin, p, None).await.unwrap();
        assert!(scope.totals && scope.operators.is_none());
        assert_eq!(all.total.received, 2);
        assert!(all.per_operator.contains_key(&ann.employee.id) && all.per_operator.contains_key(&bob.employee.id));

        // An operator: their own row, no totals, nobody else's.
        let (own, scope) = reports.statistics(&ann, p, None).await.unwrap();
        assert!(!scope.totals);
        assert_eq!(own.total, Default::default());
        assert_eq!(own.per_operator.keys().collect::<Vec<_>>(), [&ann.employee.id]);
        assert_eq!(own.per_operator[&ann.employee.id], all.per_operator[&ann.employee.id]);

        // General statistics: the totals, and an (empty) row of one's own.
        let (general, scope) = reports.statistics(&senior, p, None).await.unwrap();
        assert!(scope.totals);
        assert_eq!(general.total, all.total);
        assert_eq!(general.per_operator.keys().collect::<Vec<_>>(), [&senior.employee.id]);
    }

    #[tokio::test]
    async fn usage_is_priced_by_the_tariff_and_a_tariff_change_is_audited() {
        let t = Harness::new().await;
        let reports = reports(&t);
        let (admin, ann) = (t.caller(Role::Administrator).await, t.caller(Role::Operator).await);
        answered_by(&t, ann.employee.id).await;
        let bad = Tariff { currency: "rub".into(), ..Tariff::default() };
        assert!(reports.set_tariff(&admin, bad).await.is_err());
        assert!(t.store.audit_entries(&AuditFilter::default(), 0, 10).await.unwrap().is_empty());

        let tariff = Tariff {
            currency: "EUR".into(),
            seat_price: 1_000,
            message_prices: [("widget".to_string(), 5)].into_iter().collect(),
        };
        reports.set_tariff(&admin, tariff.clone()).await.unwrap();
        assert_eq!(reports.tariff().await.unwrap(), tariff);
        let (usage, cost, _) = reports.usage(period(START, START + 60_000).unwrap()).await.unwrap();
        assert_eq!((usage.active_seats, usage.messages["widget"]), (1, 2), "a seat is who wrote to a client");
        assert_eq!(cost.total, 1_000 + 2 * 5);
        let (outside, _, _) = reports.usage(period(START + 60_000, START + 120_000).unwrap()).await.unwrap();
        assert_eq!(outside.active_seats, 0);
        let log = t.store.audit_entries(&AuditFilter::default(), 0, 10).await.unwrap();
        assert_eq!(log.iter().map(|e| e.event.action.as_str()).collect::<Vec<_>>(), ["finance.tariff_changed"]);
    }

    #[test]
    fn a_period_is_forward_and_at_most_366_days() {
        assert!(period(START, START).is_err());
        assert!(period(START, START - 1).is_err());
        assert!(period(START, START + MAX_PERIOD_MS).is_ok());
        assert!(period(START, START + MAX_PERIOD_MS + 1).is_err());
    }
}
