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
    fn ties_go_to_who_waited_longest() {
        let recent = op(Presence::Online, 1, 5, 2_000);
        let waited = op(Presence::Online, 1, 5, 1_000);
        assert_eq!(pick(&[recent, waited]), Some(waited.id));
    }
}
