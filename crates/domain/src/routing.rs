//! Routing: which online operator gets the next queued conversation. Least
//! current load within each operator's own limit; on a tie, whoever has
//! waited longest since their last assignment. Pure: the caller supplies
//! the operators' state and makes the assignment atomically in storage.

use crate::clock::Millis;
use crate::ids::EmployeeId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Online,
    Away,
    Offline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorLoad {
    pub id: EmployeeId,
    pub presence: Presence,
    /// Conversations assigned now.
    pub active: u32,
    /// The operator's configurable concurrent-chat limit.
    pub limit: u32,
    pub last_assigned_at: Millis,
}

/// How routing treats operators who are not there: after how long with
/// every tab hidden an operator counts as away, and after how long an
/// assignment nobody opened or answered goes back to the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSettings {
    /// Seconds with every workplace tab hidden before the operator is away.
    pub away_after_hidden_seconds: u32,
    /// Seconds an assignment may stay unopened and unanswered before it is
    /// returned to the queue (its operator is set away).
    pub requeue_after_seconds: u32,
}

impl Default for RoutingSettings {
    fn default() -> Self {
        Self { away_after_hidden_seconds: 120, requeue_after_seconds: 60 }
    }
}

impl RoutingSettings {
    /// Shortest and longest times accepted, in seconds: shorter would take
    /// chats from people reading them; longer lets visitors wait for nobody.
    pub const SECONDS: std::ops::RangeInclusive<u32> = 5..=3_600;

    pub fn validate(&self) -> Result<(), crate::error::DomainError> {
        if !Self::SECONDS.contains(&self.away_after_hidden_seconds) {
            return Err(crate::error::DomainError::Invalid("away_after_hidden_seconds"));
        }
        if !Self::SECONDS.contains(&self.requeue_after_seconds) {
            return Err(crate::error::DomainError::Invalid("requeue_after_seconds"));
        }
        Ok(())
    }
}

pub fn pick(operators: &[OperatorLoad]) -> Option<EmployeeId> {
    operators
        .iter()
        .filter(|o| o.presence == Presence::Online && o.active < o.limit)
        .min_by_key(|o| (o.active, o.last_assigned_at, o.id))
        .map(|o| o.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(presence: Presence, active: u32, limit: u32, last: Millis) -> OperatorLoad {
        OperatorLoad { id: EmployeeId::random(), presence, active, limit, last_assigned_at: last }
    }

    #[test]
    fn least_loaded_online_operator_within_limit() {
        let busy = op(Presence::Online, 3, 5, 0);
        let light = op(Presence::Online, 1, 5, 0);
        let away = op(Presence::Away, 0, 5, 0);
        let full = op(Presence::Online, 0, 0, 0);
        assert_eq!(pick(&[busy, light, away, full]), Some(light.id));
        assert_eq!(pick(&[away, full]), None);
    }

    #[test]
    fn routing_settings_are_bounded() {
        assert!(RoutingSettings::default().validate().is_ok());
        let too_short = RoutingSettings { requeue_after_seconds: 1, ..Default::default() };
        assert!(too_short.validate().is_err());
        let too_long = RoutingSettings { away_after_hidden_seconds: 3_601, ..Default::default() };
        assert!(too_long.validate().is_err());
    }

    #[test]
    fn ties_go_to_who_waited_longest() {
        let recent = op(Presence::Online, 1, 5, 2_000);
        let waited = op(Presence::Online, 1, 5, 1_000);
        assert_eq!(pick(&[recent, waited]), Some(waited.id));
    }
}
