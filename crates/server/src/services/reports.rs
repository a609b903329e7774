//! Statistics and finance, computed from stored messages and events on
//! request, so that a restart changes nothing and every figure can be
//! traced back to what happened.

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::services::caller::Caller;
use ostrog_domain::DomainError;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::finance::{self, Cost, Tariff, Usage};
use ostrog_domain::message::{Author, Body, Event};
use ostrog_domain::permission::Permission;
use ostrog_domain::stats::{self, Period, Report, What};
use ostrog_store::ChannelMessage;
use std::collections::{BTreeMap, BTreeSet};

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
        (Body::Event(Event::Closed { .. }), _) => What::Closed,
        (Body::Event(Event::Rated { rating }), _) => What::Rated(*rating),
        _ => return None,
    };
    Some(stats::Event { conversation: m.message.conversation_id, channel: m.channel.clone(), at: m.message.at, what })
}

impl App {
    /// `statistics.all`: everything; `statistics.general`: totals only;
    /// `statistics.own`: the caller's own row (and totals if also general).
    pub fn statistics_scope(&self, caller: &Caller) -> StatsScope {
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
        let scope = self.statistics_scope(caller);
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
        Ok(match self.store.setting(TARIFF_KEY).await? {
            Some(v) => serde_json::from_value(v).map_err(|e| AppError::Internal(format!("stored tariff: {e}")))?,
            None => Tariff::default(),
        })
    }

    pub async fn set_tariff(&self, caller: &Caller, t: Tariff) -> AppResult<Tariff> {
        t.validate()?;
        let value = serde_json::to_value(&t).map_err(|e| AppError::Internal(e.to_string()))?;
        self.store.put_setting(TARIFF_KEY, &value).await?;
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
