//! Contacts: who a conversation is with. A contact belongs to one data
//! subject (a widget's visitor or a messenger's user) and holds a display
//! name and optional details. Everything here is personal data: the server
//! seals it under the subject's own key and never logs it.
//!
//! A name comes from one of three places, and a later one of a weaker
//! source never overwrites a stronger one: an operator's edit beats the
//! company's signed identity, which beats a messenger's profile.

use crate::error::DomainError;
use serde::{Deserialize, Serialize};

/// Longest display name, in characters.
pub const MAX_NAME: usize = 200;
/// Longest phone, e-mail or company, in characters.
pub const MAX_FIELD: usize = 200;
/// Longest notes, in characters.
pub const MAX_NOTES: usize = 4000;

/// Where the contact's display name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameSource {
    /// A messenger's profile (Telegram first/last name or username, VK name).
    Messenger,
    /// The signed identity the company passed to the widget.
    Identity,
    /// Typed by an employee holding `contacts.edit`.
    Operator,
}

impl NameSource {
    pub fn name(self) -> &'static str {
        match self {
            NameSource::Messenger => "messenger",
            NameSource::Identity => "identity",
            NameSource::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [NameSource::Messenger, NameSource::Identity, NameSource::Operator].into_iter().find(|n| n.name() == s)
    }

    /// Whether a name from `self` may replace one from `current` (none yet:
    /// always). An operator's edit stays until another operator changes it.
    pub fn replaces(self, current: Option<NameSource>) -> bool {
        current.is_none_or(|c| self >= c)
    }
}

/// The contact's details besides the name, sealed together as one value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Details {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl Details {
    /// Trims every field, drops empty ones, and checks their lengths.
    pub fn normalized(self) -> Result<Self, DomainError> {
        Ok(Self {
            phone: field(self.phone, MAX_FIELD, "phone")?,
            email: field(self.email, MAX_FIELD, "email")?,
            company: field(self.company, MAX_FIELD, "company")?,
            notes: field(self.notes, MAX_NOTES, "notes")?,
        })
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A display name as given: trimmed, inner runs of white space (and
/// control characters) folded to one space; `None` when nothing is left.
pub fn normalize_name(name: &str) -> Result<Option<String>, DomainError> {
    let folded = name.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty());
    let name = folded.collect::<Vec<_>>().join(" ");
    if name.chars().count() > MAX_NAME {
        return Err(DomainError::Invalid("name"));
    }
    Ok((!name.is_empty()).then_some(name))
}

/// The name a messenger profile gives: first and last name, else the
/// username (as `@username`).
pub fn messenger_name(first: Option<&str>, last: Option<&str>, username: Option<&str>) -> Option<String> {
    let full = [first, last].into_iter().flatten().map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>();
    let candidate = if full.is_empty() {
        username.map(str::trim).filter(|u| !u.is_empty()).map(|u| format!("@{}", u.trim_start_matches('@')))?
    } else {
        full.join(" ")
    };
    // A profile is outside input: an over-long one is cut, not refused.
    let cut: String = candidate.chars().take(MAX_NAME).collect();
    normalize_name(&cut).ok().flatten()
}

/// Longest page address kept, in characters.
pub const MAX_PAGE: usize = 500;
/// Longest browser description (User-Agent) kept, in characters.
pub const MAX_BROWSER: usize = 300;

/// What a widget visitor's browser told of their visit: the page the
/// widget was on and the browser's User-Agent. Shown to employees who may
/// see the conversation; sealed like the rest of the contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Visit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
}

impl Visit {
    /// The visit as the widget reported it, both parts outside input: the
    /// page only when it is an http(s) address, kept without its query and
    /// fragment (they may carry tokens or the visitor's own data, and the
    /// path says where they were); the User-Agent cut to `MAX_BROWSER`.
    /// `None` when nothing usable is left.
    pub fn reported(page: Option<&str>, user_agent: Option<&str>) -> Option<Visit> {
        let visit = Visit { page: page.and_then(page_address), browser: user_agent.and_then(browser) };
        (visit != Visit::default()).then_some(visit)
    }
}

fn page_address(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return None;
    }
    let bare = raw.split(['?', '#']).next().unwrap_or_default();
    if bare.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some(bare.chars().take(MAX_PAGE).collect())
}

fn browser(raw: &str) -> Option<String> {
    let cleaned: String = raw.chars().filter(|c| !c.is_control()).take(MAX_BROWSER).collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_string())
}

fn field(value: Option<String>, max: usize, name: &'static str) -> Result<Option<String>, DomainError> {
    let Some(v) = value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) else { return Ok(None) };
    if v.chars().count() > max || (name != "notes" && v.chars().any(char::is_control)) {
        return Err(DomainError::Invalid(name));
    }
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weaker_source_never_overwrites_a_stronger_name() {
        use NameSource::*;
        assert!(Messenger.replaces(None));
        assert!(Messenger.replaces(Some(Messenger)), "a new profile name follows the messenger");
        assert!(Identity.replaces(Some(Messenger)));
        assert!(!Messenger.replaces(Some(Identity)));
        assert!(!Identity.replaces(Some(Operator)), "an operator's edit stays");
        assert!(Operator.replaces(Some(Operator)));
        for s in [Messenger, Identity, Operator] {
            assert_eq!(NameSource::parse(s.name()), Some(s));
        }
        assert_eq!(NameSource::parse("robot"), None);
    }

    #[test]
    fn names_are_trimmed_folded_and_bounded() {
        assert_eq!(normalize_name("  Анна \n  Петрова ").unwrap().as_deref(), Some("Анна Петрова"));
        assert_eq!(normalize_name(" \t ").unwrap(), None);
        assert!(normalize_name(&"я".repeat(MAX_NAME)).unwrap().is_some());
        assert!(normalize_name(&"я".repeat(MAX_NAME + 1)).is_err());
    }

    #[test]
    fn a_messenger_name_is_the_full_name_else_the_username() {
        assert_eq!(messenger_name(Some("Ivan"), Some("Petrov"), Some("ivp")).as_deref(), Some("Ivan Petrov"));
        assert_eq!(messenger_name(Some(" Ivan "), None, None).as_deref(), Some("Ivan"));
        assert_eq!(messenger_name(None, Some(""), Some("ivp")).as_deref(), Some("@ivp"));
        assert_eq!(messenger_name(None, None, Some("@ivp")).as_deref(), Some("@ivp"));
        assert_eq!(messenger_name(None, None, None), None);
        assert_eq!(messenger_name(Some(&"x".repeat(500)), None, None).map(|n| n.len()), Some(MAX_NAME));
    }

    #[test]
    fn a_visit_keeps_an_http_page_without_query_and_a_bounded_browser() {
        let v =
            Visit::reported(Some(" https://shop.example/cart?token=s3cret#pay "), Some("Mozilla/5.0\u{0}x")).unwrap();
        assert_eq!(v.page.as_deref(), Some("https://shop.example/cart"));
        assert_eq!(v.browser.as_deref(), Some("Mozilla/5.0x"));
        assert_eq!(Visit::reported(Some("javascript:alert(1)"), None), None);
        assert_eq!(Visit::reported(Some("https://a b"), Some("  ")), None);
        let long = Visit::reported(Some(&format!("http://x/{}", "p".repeat(900))), Some(&"u".repeat(900))).unwrap();
        assert_eq!((long.page.unwrap().len(), long.browser.unwrap().len()), (MAX_PAGE, MAX_BROWSER));
        assert_eq!(Visit::reported(None, Some("Firefox")).and_then(|v| v.page), None);
    }

    #[test]
    fn details_drop_empty_fields_and_refuse_over_long_ones() {
        let d = Details { phone: Some(" +7 900 ".into()), email: Some("  ".into()), ..Default::default() };
        let d = d.normalized().unwrap();
        assert_eq!((d.phone.as_deref(), d.email), (Some("+7 900"), None));
        let long = Details { company: Some("c".repeat(MAX_FIELD + 1)), ..Default::default() };
        assert!(matches!(long.normalized(), Err(DomainError::Invalid("company"))));
        let notes = Details { notes: Some("line one\nline two".into()), ..Default::default() };
        assert!(notes.normalized().is_ok(), "notes may span lines");
        assert!(Details::default().is_empty());
    }
}
