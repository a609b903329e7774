//! Website widgets: what a visitor sees, when operators answer, and which
//! websites may embed the widget (the `Origin` check of the visitor socket).

use crate::clock::Millis;
use crate::error::DomainError;
use crate::language::Language;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// The company's offset from UTC, in minutes (Moscow: 180).
    #[serde(default)]
    pub utc_offset_minutes: i32,
    /// Opening and closing minute of the day, Monday first; `None` is a
    /// closed day. An empty list means always open.
    #[serde(default)]
    pub days: Vec<Option<(u16, u16)>>,
}

impl WorkingHours {
    pub fn validate(&self) -> Result<(), DomainError> {
        let bad_day = |d: &Option<(u16, u16)>| d.is_some_and(|(open, close)| open >= close || close > 24 * 60);
        if self.utc_offset_minutes.abs() > 14 * 60 || !(self.days.is_empty() || self.days.len() == 7) {
            return Err(DomainError::Invalid("working_hours"));
        }
        if self.days.iter().any(bad_day) {
            return Err(DomainError::Invalid("working_hours"));
        }
        Ok(())
    }

    /// Whether operators are expected to answer at `at`.
    pub fn is_open(&self, at: Millis) -> bool {
        if self.days.is_empty() {
            return true;
        }
        let local_minutes = at.div_euclid(60_000) + i64::from(self.utc_offset_minutes);
        let minute_of_day = local_minutes.rem_euclid(24 * 60) as u16;
        // 1970-01-01 was a Thursday: day 0 is index 3 with Monday first.
        let weekday = (local_minutes.div_euclid(24 * 60) + 3).rem_euclid(7) as usize;
        matches!(self.days.get(weekday), Some(Some((open, close))) if (*open..*close).contains(&minute_of_day))
    }
}

/// `scheme://host[:port]` in lowercase, as browsers send `Origin`; `None`
/// for anything else (paths, credentials, wildcards, other schemes).
pub fn normalize_origin(origin: &str) -> Option<String> {
    let origin = origin.trim().to_ascii_lowercase();
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"))?;
    let valid = !rest.is_empty()
        && rest.len() <= 253
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    valid.then_some(origin)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetSettings {
    pub name: String,
    pub greeting: String,
    #[serde(default)]
    pub working_hours: WorkingHours,
    pub allowed_origins: Vec<String>,
    /// The language the widget speaks to visitors.
    #[serde(default)]
    pub language: Language,
}

impl WidgetSettings {
    /// Trims and checks every field and normalises the origins.
    pub fn validated(mut self) -> Result<Self, DomainError> {
        self.name = self.name.trim().to_string();
        self.greeting = self.greeting.trim().to_string();
        if self.name.is_empty() || self.name.chars().count() > 100 {
            return Err(DomainError::Invalid("name"));
        }
        if self.greeting.chars().count() > 500 {
            return Err(DomainError::Invalid("greeting"));
        }
        self.working_hours.validate()?;
        if self.allowed_origins.len() > 50 {
            return Err(DomainError::Invalid("allowed_origins"));
        }
        let mut origins = Vec::with_capacity(self.allowed_origins.len());
        for o in &self.allowed_origins {
            let o = normalize_origin(o).ok_or(DomainError::Invalid("allowed_origins"))?;
            if !origins.contains(&o) {
                origins.push(o);
            }
        }
        self.allowed_origins = origins;
        Ok(self)
    }

    pub fn origin_allowed(&self, origin: &str) -> bool {
        normalize_origin(origin).is_some_and(|o| self.allowed_origins.contains(&o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(origins: &[&str]) -> Result<WidgetSettings, DomainError> {
        WidgetSettings {
            name: " Shop ".into(),
            greeting: "Hi".into(),
            working_hours: WorkingHours::default(),
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            language: Language::En,
        }
        .validated()
    }

    #[test]
    fn origins_are_exact_and_normalised() {
        let w = settings(&["https://Shop.example", "https://shop.example", "http://localhost:8080"]).unwrap();
        assert_eq!(w.name, "Shop");
        assert_eq!(w.allowed_origins, vec!["https://shop.example", "http://localhost:8080"]);
        assert!(w.origin_allowed("https://shop.example"));
        assert!(!w.origin_allowed("https://shop.example.evil.test"));
        assert!(!w.origin_allowed("http://shop.example"));
        assert!(!w.origin_allowed("null"));
        for bad in ["*", "https://shop.example/path", "ftp://x", "https://user@x", ""] {
            assert!(settings(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn working_hours_follow_the_company_clock() {
        // Monday to Friday 09:00–18:00 Moscow time.
        let day = Some((9 * 60, 18 * 60));
        let hours = WorkingHours { utc_offset_minutes: 180, days: vec![day, day, day, day, day, None, None] };
        assert!(hours.validate().is_ok());
        // 2026-11-30 is a Monday. 07:00 UTC = 10:00 MSK: open. 16:00 UTC = 19:00: closed.
        let monday = 1_795_996_800_000; // 2026-11-30T00:00:00Z
        assert!(hours.is_open(monday + 7 * 3_600_000));
        assert!(!hours.is_open(monday + 16 * 3_600_000));
        assert!(!hours.is_open(monday - 12 * 3_600_000), "Sunday");
        assert!(WorkingHours::default().is_open(monday));
        assert!(WorkingHours { utc_offset_minutes: 0, days: vec![Some((600, 500)); 7] }.validate().is_err());
    }
}
