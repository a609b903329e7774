//! Brute-force defence as a pure state machine: how many failures in a row,
//! and what they cost. The same rules serve the password step (per account
//! identifier) and the 2FA step (per employee) with different settings.

use crate::clock::{MINUTE, Millis, SECOND};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// From this many failures in a row, each further attempt must wait
    /// 1 s, 2 s, 4 s, … (capped at a minute). `None`: no delay.
    pub delay_from: Option<u32>,
    /// Every this many failures in a row lock the step for `lock_for`.
    pub lock_after: u32,
    pub lock_for: Millis,
    /// This many failures in a row disable the account for good.
    pub disable_after: Option<u32>,
}

impl LockoutPolicy {
    /// SECURITY-BASELINE.md: delay from the 5th failure, lock 15 min at 10, disable at 100.
    pub const PASSWORD: LockoutPolicy =
        LockoutPolicy { delay_from: Some(5), lock_after: 10, lock_for: 15 * MINUTE, disable_after: Some(100) };
    /// SECURITY-BASELINE.md: 5 wrong codes lock the 2FA step for 15 min.
    pub const SECOND_FACTOR: LockoutPolicy =
        LockoutPolicy { delay_from: None, lock_after: 5, lock_for: 15 * MINUTE, disable_after: None };
}

/// Failures in a row so far; stored per subject.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    /// Earliest time the next attempt is heard (delay or lock).
    pub next_attempt_at: Millis,
}

/// Whether an attempt may be checked at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// Refused without looking at the credential; try again at the given time.
    Closed {
        until: Millis,
    },
}

impl LockoutPolicy {
    pub fn gate(&self, f: &Failures, now: Millis) -> Gate {
        if now < f.next_attempt_at { Gate::Closed { until: f.next_attempt_at } } else { Gate::Open }
    }

    /// The record after one more failure at `now`, and whether it crossed the
    /// lock or the disable threshold (for the audit log).
    pub fn fail(&self, f: &Failures, now: Millis) -> (Failures, Consequence) {
        let count = f.count.saturating_add(1);
        let consequence = if self.disable_after.is_some_and(|d| count == d) {
            Consequence::Disabled
        } else if count.is_multiple_of(self.lock_after.max(1)) {
            Consequence::Locked
        } else {
            Consequence::None
        };
        let wait = match consequence {
            Consequence::Locked | Consequence::Disabled => self.lock_for,
            Consequence::None => self.delay(count),
        };
        (Failures { count, next_attempt_at: now + wait }, consequence)
    }

    fn delay(&self, count: u32) -> Millis {
        match self.delay_from {
            Some(from) if count >= from => {
                let exponent = (count - from).min(6);
                (SECOND << exponent).min(MINUTE)
            }
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consequence {
    None,
    Locked,
    Disabled,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_from_the_fifth_failure_and_ten_lock_for_fifteen_minutes() {
        let p = LockoutPolicy::PASSWORD;
        let mut f = Failures::default();
        let mut now = 1_000_000;
        let mut waits = vec![];
        for _ in 0..10 {
            assert_eq!(p.gate(&f, now), Gate::Open);
            let (next, _) = p.fail(&f, now);
            waits.push(next.next_attempt_at - now);
            f = next;
            now = f.next_attempt_at;
        }
        assert_eq!(waits, [0, 0, 0, 0, 1_000, 2_000, 4_000, 8_000, 16_000, 15 * MINUTE]);
        // The 11th attempt just before the lock ends is refused unheard.
        assert_eq!(p.gate(&f, now - 1), Gate::Closed { until: now });
    }

    #[test]
    fn the_hundredth_failure_disables() {
        let p = LockoutPolicy::PASSWORD;
        let f = Failures { count: 99, next_attempt_at: 0 };
        assert_eq!(p.fail(&f, 0).1, Consequence::Disabled);
        let f = Failures { count: 19, next_attempt_at: 0 };
        assert_eq!(p.fail(&f, 0).1, Consequence::Locked);
    }

    #[test]
    fn five_wrong_codes_lock_the_second_step() {
        let p = LockoutPolicy::SECOND_FACTOR;
        let mut f = Failures::default();
        for i in 1..=5 {
            let (next, c) = p.fail(&f, 0);
            assert_eq!(c == Consequence::Locked, i == 5);
            assert_eq!(next.next_attempt_at, if i == 5 { 15 * MINUTE } else { 0 });
            f = next;
        }
    }
}
