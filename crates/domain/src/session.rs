//! Sessions: how far a sign-in has got, and when it expires.

use crate::clock::{HOUR, MINUTE, Millis};
use serde::{Deserialize, Serialize};

/// How far a session is signed in. Only `Full` reaches the API at large; the
/// others open just the endpoint that completes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Password accepted; the 2FA code is still needed.
    SecondFactor,
    /// A one-time initial password was used; it must be changed first.
    PasswordChange,
    /// Policy requires 2FA and the employee has none yet: enrol first.
    Enrolment,
    Full,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::SecondFactor => "second_factor",
            Stage::PasswordChange => "password_change",
            Stage::Enrolment => "enrolment",
            Stage::Full => "full",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::SecondFactor, Self::PasswordChange, Self::Enrolment, Self::Full].into_iter().find(|x| x.name() == s)
    }
}

/// What the employee still owes after the steps done so far.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub second_factor_done: bool,
    pub has_totp: bool,
    pub must_change_password: bool,
    pub totp_required: bool,
}

/// The next stage: the second factor proves who it is before anything else;
/// then a forced password change; then enrolment if policy requires 2FA.
pub fn next_stage(p: Progress) -> Stage {
    if p.has_totp && !p.second_factor_done {
        Stage::SecondFactor
    } else if p.must_change_password {
        Stage::PasswordChange
    } else if !p.has_totp && p.totp_required {
        Stage::Enrolment
    } else {
        Stage::Full
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle_timeout: Millis,
    pub absolute_lifetime: Millis,
    /// How recently the employee must have proved who they are for sensitive
    /// operations (permission changes, 2FA reset of others).
    pub reauth_window: Millis,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self { idle_timeout: 30 * MINUTE, absolute_lifetime: 12 * HOUR, reauth_window: 5 * MINUTE }
    }
}

impl SessionPolicy {
    /// Bounds from SECURITY-BASELINE.md: idle at most 1 h, lifetime at most 24 h.
    pub fn bounded(idle_minutes: u32, lifetime_hours: u32) -> Self {
        Self {
            idle_timeout: Millis::from(idle_minutes.clamp(1, 60)) * MINUTE,
            absolute_lifetime: Millis::from(lifetime_hours.clamp(1, 24)) * HOUR,
            ..Self::default()
        }
    }

    pub fn is_live(&self, created_at: Millis, last_seen_at: Millis, now: Millis) -> bool {
        now < created_at + self.absolute_lifetime && now < last_seen_at + self.idle_timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_follow_the_documented_order() {
        let p = |second_factor_done, has_totp, must_change_password, totp_required| Progress {
            second_factor_done,
            has_totp,
            must_change_password,
            totp_required,
        };
        assert_eq!(next_stage(p(false, true, true, true)), Stage::SecondFactor);
        assert_eq!(next_stage(p(true, true, true, true)), Stage::PasswordChange);
        assert_eq!(next_stage(p(false, false, true, true)), Stage::PasswordChange);
        assert_eq!(next_stage(p(false, false, false, true)), Stage::Enrolment);
        assert_eq!(next_stage(p(false, false, false, false)), Stage::Full);
        assert_eq!(next_stage(p(true, true, false, true)), Stage::Full);
    }

    #[test]
    fn sessions_expire_when_idle_or_old() {
        let s = SessionPolicy::default();
        assert!(s.is_live(0, 0, 29 * MINUTE));
        assert!(!s.is_live(0, 0, 30 * MINUTE));
        assert!(s.is_live(0, 11 * HOUR + 50 * MINUTE, 11 * HOUR + 59 * MINUTE));
        assert!(!s.is_live(0, 11 * HOUR + 50 * MINUTE, 12 * HOUR));
        assert_eq!(SessionPolicy::bounded(600, 100).idle_timeout, HOUR);
    }
}
