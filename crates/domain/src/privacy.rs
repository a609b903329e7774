//! Data subjects' rights under 152-FZ: consent to processing (versioned
//! texts), requests with their legal deadlines (Art. 14, 20, 21) and
//! retention periods after which personal data is destroyed.

use crate::clock::Millis;
use crate::error::DomainError;
use serde::{Deserialize, Serialize};

pub const DAY: Millis = 24 * 60 * 60 * 1000;
/// Art. 20 p. 1: an answer to a subject's access request within 10 working days.
pub const ACCESS_WORKING_DAYS: u32 = 10;
/// Art. 20 p. 3: data a subject shows to be unlawful or unneeded is destroyed
/// within 7 working days of their request.
pub const ERASURE_WORKING_DAYS: u32 = 7;
/// Art. 21 p. 3–5: destruction within 30 days at most.
pub const MAX_DESTRUCTION_DAYS: u32 = 30;
/// Longest consent text, in characters.
const MAX_CONSENT_CHARS: usize = 20_000;

/// What the company asks visitors to accept before they write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentSettings {
    /// Visitors may write only after accepting the current text.
    pub required: bool,
    /// The current text; empty when the company asks for no consent.
    pub text: String,
    /// Raised by every change of the text; acceptances name it.
    pub version: u32,
    /// Days after a withdrawal within which the subject's data is destroyed.
    pub withdrawal_days: u32,
}

impl Default for ConsentSettings {
    fn default() -> Self {
        Self { required: false, text: String::new(), version: 0, withdrawal_days: MAX_DESTRUCTION_DAYS }
    }
}

impl ConsentSettings {
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.text.chars().count() > MAX_CONSENT_CHARS {
            return Err(DomainError::Invalid("text"));
        }
        if self.required && self.text.trim().is_empty() {
            return Err(DomainError::Invalid("text"));
        }
        if !(1..=MAX_DESTRUCTION_DAYS).contains(&self.withdrawal_days) {
            return Err(DomainError::Invalid("withdrawal_days"));
        }
        Ok(())
    }
}

/// How long personal data is kept once its purpose is achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days after a conversation closed before its visitor's data is destroyed.
    pub closed_conversation_days: u32,
    /// Days a visitor who never wrote is kept.
    pub silent_visitor_days: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self { closed_conversation_days: 365, silent_visitor_days: 30 }
    }
}

impl RetentionSettings {
    pub fn validate(&self) -> Result<(), DomainError> {
        let sane = 1..=36_500;
        if !sane.contains(&self.closed_conversation_days) || !sane.contains(&self.silent_visitor_days) {
            return Err(DomainError::Invalid("days"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// What is held about me (Art. 14): answered by an export.
    Access,
    /// Destroy what is held about me (Art. 20 p. 3, 21): answered by erasure.
    Erasure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Open,
    Done,
    Rejected,
}

impl RequestKind {
    pub fn name(self) -> &'static str {
        match self {
            RequestKind::Access => "access",
            RequestKind::Erasure => "erasure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [RequestKind::Access, RequestKind::Erasure].into_iter().find(|k| k.name() == s)
    }

    /// The legal deadline of a request received at `at` (UTC days; public
    /// holidays are not known here and count as working days).
    pub fn due(self, at: Millis) -> Millis {
        match self {
            RequestKind::Access => add_working_days(at, ACCESS_WORKING_DAYS),
            RequestKind::Erasure => add_working_days(at, ERASURE_WORKING_DAYS),
        }
    }
}

impl RequestStatus {
    pub fn name(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Done => "done",
            RequestStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [RequestStatus::Open, RequestStatus::Done, RequestStatus::Rejected].into_iter().find(|k| k.name() == s)
    }
}

/// `at` moved forward by `days` working days (Monday to Friday).
pub fn add_working_days(at: Millis, days: u32) -> Millis {
    let mut t = at;
    let mut left = days;
    while left > 0 {
        t += DAY;
        // 1970-01-01 was a Thursday: day 0 → weekday 3 (Monday = 0).
        let weekday = (t.div_euclid(DAY) + 3).rem_euclid(7);
        if weekday < 5 {
            left -= 1;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-27 12:00 UTC, a Friday.
    const FRIDAY: Millis = 1_795_780_800_000;

    #[test]
    fn requests_are_due_in_working_days() {
        // Friday + 10 working days = the Friday two weeks later (14 calendar days).
        assert_eq!(RequestKind::Access.due(FRIDAY), FRIDAY + 14 * DAY);
        // From a Saturday, the count starts on Monday: due the Friday after next.
        assert_eq!(RequestKind::Access.due(FRIDAY + DAY), FRIDAY + 14 * DAY);
        // Friday + 7 working days = the Tuesday of the week after next.
        assert_eq!(RequestKind::Erasure.due(FRIDAY), FRIDAY + 11 * DAY);
        assert_eq!(add_working_days(FRIDAY, 1), FRIDAY + 3 * DAY, "Friday → Monday");
    }

    #[test]
    fn settings_are_checked() {
        let mut c =
            ConsentSettings { required: true, text: "Согласие".into(), version: 1, withdrawal_days: 30 };
        assert!(c.validate().is_ok());
        c.withdrawal_days = 31;
        assert!(c.validate().is_err(), "152-FZ allows 30 days at most");
        c.withdrawal_days = 10;
        c.text = " ".into();
        assert!(c.validate().is_err(), "required consent needs a text");
        assert!(RetentionSettings { closed_conversation_days: 0, silent_visitor_days: 30 }.validate().is_err());
        assert!(RetentionSettings::default().validate().is_ok());
    }
}
