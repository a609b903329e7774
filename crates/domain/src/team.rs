//! Teams ("Оплата", "Доставка"): groups of employees with a queue of their
//! own. A conversation sent to a team goes to the least-loaded available
//! member; when none has taken it within the team's wait, any operator may
//! (the general queue), so that a visitor never waits on an empty team.

use crate::clock::Millis;
use crate::error::DomainError;

pub const MAX_NAME: usize = 60;
/// Teams an installation may define.
pub const MAX_TEAMS: usize = 100;
/// Members of one team at most.
pub const MAX_MEMBERS: usize = 500;
/// The longest a conversation may wait for its team, in seconds (a day).
pub const MAX_FALLBACK_SECONDS: u32 = 86_400;
/// What a new team waits before the general queue takes over.
pub const DEFAULT_FALLBACK_SECONDS: u32 = 120;

/// A team as someone names it, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub name: String,
    /// Seconds a conversation waits for the team's members before any
    /// operator may get it; 0 keeps it for the team however long it waits.
    pub fallback_after_seconds: u32,
}

impl Draft {
    /// Trims the name and collapses its inner spaces.
    pub fn validated(self) -> Result<Draft, DomainError> {
        let name = self.name.split_whitespace().collect::<Vec<_>>().join(" ");
        if !(1..=MAX_NAME).contains(&name.chars().count()) || name.chars().any(char::is_control) {
            return Err(DomainError::Invalid("name"));
        }
        if self.fallback_after_seconds > MAX_FALLBACK_SECONDS {
            return Err(DomainError::Invalid("fallback_after_seconds"));
        }
        Ok(Draft { name, fallback_after_seconds: self.fallback_after_seconds })
    }
}

/// Whether a conversation queued at `queued_at` for a team that waits
/// `fallback_after_seconds` is still the team's alone at `now`.
pub fn still_the_teams(queued_at: Millis, fallback_after_seconds: u32, now: Millis) -> bool {
    fallback_after_seconds == 0 || now - queued_at < i64::from(fallback_after_seconds) * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_waits_bounded() {
        let d = Draft { name: "  Оплата   и  счета ".into(), fallback_after_seconds: 60 }.validated().unwrap();
        assert_eq!(d.name, "Оплата и счета");
        let no_name = Draft { name: "  ".into(), fallback_after_seconds: 60 };
        assert_eq!(no_name.validated(), Err(DomainError::Invalid("name")));
        let too_long = Draft { name: "x".into(), fallback_after_seconds: MAX_FALLBACK_SECONDS + 1 };
        assert_eq!(too_long.validated(), Err(DomainError::Invalid("fallback_after_seconds")));
    }

    #[test]
    fn the_team_keeps_a_conversation_for_its_wait_only() {
        assert!(still_the_teams(1_000, 60, 60_999));
        assert!(!still_the_teams(1_000, 60, 61_000));
        assert!(still_the_teams(1_000, 0, i64::MAX / 2), "0: the team's for good");
    }
}
