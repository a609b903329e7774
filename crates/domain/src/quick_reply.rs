//! Quick replies: texts an operator inserts into the composer by typing
//! `/code`, shared by every employee or personal to one. A body may hold
//! placeholders (`{contact_name}`, `{operator_name}`, `{company_name}`,
//! each with an optional fallback: `{contact_name|there}`) filled when the
//! text is inserted. Filling never sends anything: the operator edits and
//! sends, so a placeholder with no value stays visible in the text rather
//! than vanishing into a message the client would read.

use crate::error::DomainError;
use crate::ids::EmployeeId;
use crate::language::Language;
use std::collections::BTreeMap;

pub const MAX_CODE: usize = 32;
pub const MAX_TITLE: usize = 100;
/// The composer's own limit on a message.
pub const MAX_BODY: usize = 4000;
pub const MAX_FALLBACK: usize = 100;

/// Whose reply it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every employee's; changed by holders of `replies.manage`.
    Shared,
    /// One employee's own.
    Personal(EmployeeId),
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Shared => "shared",
            Scope::Personal(_) => "personal",
        }
    }
}

/// What fills a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Placeholder {
    ContactName,
    OperatorName,
    CompanyName,
}

impl Placeholder {
    pub const ALL: [Placeholder; 3] = [Placeholder::ContactName, Placeholder::OperatorName, Placeholder::CompanyName];

    pub fn name(self) -> &'static str {
        match self {
            Placeholder::ContactName => "contact_name",
            Placeholder::OperatorName => "operator_name",
            Placeholder::CompanyName => "company_name",
        }
    }

    fn parse(s: &str) -> Option<Placeholder> {
        Self::ALL.into_iter().find(|p| p.name() == s)
    }
}

/// The texts of a reply, one per language; at least one.
pub type Bodies = BTreeMap<Language, String>;

/// A reply as an employee writes it, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub code: String,
    pub title: String,
    pub bodies: Bodies,
}

impl Draft {
    /// Trims the fields, lowercases the code, and checks every placeholder.
    pub fn validated(self) -> Result<Draft, DomainError> {
        let code = self.code.trim().to_lowercase();
        let code_ok = (1..=MAX_CODE).contains(&code.chars().count())
            && code.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
        if !code_ok {
            return Err(DomainError::Invalid("code"));
        }
        let title = self.title.trim().to_string();
        if !(1..=MAX_TITLE).contains(&title.chars().count()) || title.chars().any(char::is_control) {
            return Err(DomainError::Invalid("title"));
        }
        let mut bodies = Bodies::new();
        for (language, body) in self.bodies {
            let body = body.trim_end().to_string();
            let bad_char = body.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
            if body.trim().is_empty() || body.chars().count() > MAX_BODY || bad_char || segments(&body).is_err() {
                return Err(DomainError::Invalid("bodies"));
            }
            bodies.insert(language, body);
        }
        if bodies.is_empty() {
            return Err(DomainError::Invalid("bodies"));
        }
        Ok(Draft { code, title, bodies })
    }
}

/// The body in `wanted`, or, when the reply has none in that language, in
/// the first language it has (Russian first).
pub fn body_in(bodies: &Bodies, wanted: Language) -> Option<(Language, &str)> {
    bodies.get_key_value(&wanted).or_else(|| bodies.iter().next()).map(|(language, body)| (*language, body.as_str()))
}

/// What the placeholders are filled with; `None` is not known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub contact_name: Option<String>,
    pub operator_name: Option<String>,
    pub company_name: Option<String>,
}

impl Values {
    fn get(&self, p: Placeholder) -> Option<&str> {
        let value = match p {
            Placeholder::ContactName => &self.contact_name,
            Placeholder::OperatorName => &self.operator_name,
            Placeholder::CompanyName => &self.company_name,
        };
        value.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
}

/// A body with its placeholders filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    pub text: String,
    /// Placeholders with neither a value nor a fallback: they stay in the
    /// text as written, for the operator to replace.
    pub unfilled: Vec<Placeholder>,
}

/// Fills a validated body. Each placeholder takes its value, else its
/// fallback, else stays as written.
pub fn fill(body: &str, values: &Values) -> Result<Filled, DomainError> {
    let mut filled = Filled { text: String::with_capacity(body.len()), unfilled: Vec::new() };
    for segment in segments(body)? {
        match segment {
            Segment::Text(t) => filled.text.push_str(t),
            Segment::Slot { placeholder, fallback, written } => match (values.get(placeholder), fallback) {
                (Some(value), _) => filled.text.push_str(value),
                (None, Some(fallback)) => filled.text.push_str(fallback),
                (None, None) => {
                    filled.text.push_str(written);
                    if !filled.unfilled.contains(&placeholder) {
                        filled.unfilled.push(placeholder);
                    }
                }
            },
        }
    }
    Ok(filled)
}

enum Segment<'a> {
    Text(&'a str),
    Slot { placeholder: Placeholder, fallback: Option<&'a str>, written: &'a str },
}

/// Splits a body into text and placeholders; an unknown name, an unclosed
/// brace or an over-long fallback is refused, so a typo is caught when the
/// reply is saved rather than shown to a client.
fn segments(body: &str) -> Result<Vec<Segment<'_>>, DomainError> {
    let invalid = DomainError::Invalid("bodies");
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find('{') {
        out.push(Segment::Text(&rest[..open]));
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or(invalid.clone())?;
        let inside = &after[..close];
        let (name, fallback) = match inside.split_once('|') {
            Some((name, fallback)) => (name, Some(fallback)),
            None => (inside, None),
        };
        let placeholder = Placeholder::parse(name.trim()).ok_or(invalid.clone())?;
        if fallback.is_some_and(|f| f.contains('{') || f.chars().count() > MAX_FALLBACK) {
            return Err(invalid);
        }
        out.push(Segment::Slot { placeholder, fallback, written: &rest[open..open + close + 2] });
        rest = &after[close + 1..];
    }
    out.push(Segment::Text(rest));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(code: &str, title: &str, ru: &str) -> Draft {
        Draft { code: code.into(), title: title.into(), bodies: [(Language::Ru, ru.to_string())].into() }
    }

    #[test]
    fn codes_are_short_words_in_any_alphabet_kept_lowercase() {
        let d = draft("  Привет_1 ", " Greeting ", "Здравствуйте!\n").validated().unwrap();
        assert_eq!((d.code.as_str(), d.title.as_str()), ("привет_1", "Greeting"));
        assert_eq!(d.bodies[&Language::Ru], "Здравствуйте!");
        for bad in ["", "two words", "/hello", "a.b", &"x".repeat(MAX_CODE + 1)] {
            assert_eq!(draft(bad, "t", "b").validated(), Err(DomainError::Invalid("code")), "{bad:?}");
        }
        assert_eq!(draft("ok", " ", "b").validated(), Err(DomainError::Invalid("title")));
    }

    #[test]
    fn bodies_are_needed_and_their_placeholders_known() {
        let none = Draft { code: "a".into(), title: "t".into(), bodies: Bodies::new() };
        assert_eq!(none.validated(), Err(DomainError::Invalid("bodies")));
        for bad in ["", "  ", "Hi {name}", "Hi {contact_name", "a\u{7}b", &"x".repeat(MAX_BODY + 1)] {
            assert_eq!(draft("a", "t", bad).validated(), Err(DomainError::Invalid("bodies")), "{bad:?}");
        }
        let long_fallback = format!("{{contact_name|{}}}", "x".repeat(MAX_FALLBACK + 1));
        assert!(draft("a", "t", &long_fallback).validated().is_err());
        assert!(draft("a", "t", "Hi {contact_name|there}, {operator_name} here}").validated().is_ok());
    }

    #[test]
    fn placeholders_take_the_value_then_the_fallback_then_stay_visible() {
        let body = "Hello, {contact_name|there}! {operator_name} from {company_name}. {company_name}!";
        let known = Values {
            contact_name: Some("Anna".into()),
            operator_name: Some("Oleg".into()),
            company_name: Some("Shop".into()),
        };
        let all = fill(body, &known).unwrap();
        assert_eq!(all.text, "Hello, Anna! Oleg from Shop. Shop!");
        assert!(all.unfilled.is_empty());

        let unknown =
            Values { operator_name: Some("Oleg".into()), company_name: Some("  ".into()), ..Values::default() };
        let partly = fill(body, &unknown).unwrap();
        assert_eq!(partly.text, "Hello, there! Oleg from {company_name}. {company_name}!");
        assert_eq!(partly.unfilled, [Placeholder::CompanyName], "listed once");
    }

    #[test]
    fn the_body_is_in_the_language_asked_for_or_the_first_there_is() {
        let bodies: Bodies = [(Language::En, "Hi".to_string())].into();
        assert_eq!(body_in(&bodies, Language::Ru), Some((Language::En, "Hi")));
        let both: Bodies = [(Language::En, "Hi".to_string()), (Language::Ru, "Привет".to_string())].into();
        assert_eq!(body_in(&both, Language::En), Some((Language::En, "Hi")));
        assert_eq!(body_in(&Bodies::new(), Language::En), None);
    }
}
