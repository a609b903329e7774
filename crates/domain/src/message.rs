//! Messages of a conversation: text from either side, internal notes that
//! only employees see, and events that record the conversation's changes in
//! the same sequence (so a reconnecting client replays both in order, and
//! statistics are computed from what was stored).

use crate::error::DomainError;
use crate::ids::{EmployeeId, VisitorId};
use serde::{Deserialize, Serialize};

/// Longest text a message may carry, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Author {
    Visitor(VisitorId),
    Employee(EmployeeId),
    System,
}

impl Author {
    pub fn kind(self) -> &'static str {
        match self {
            Author::Visitor(_) => "visitor",
            Author::Employee(_) => "employee",
            Author::System => "system",
        }
    }

    pub fn id(self) -> Option<uuid::Uuid> {
        match self {
            Author::Visitor(v) => Some(v.0),
            Author::Employee(e) => Some(e.0),
            Author::System => None,
        }
    }

    pub fn parse(kind: &str, id: Option<uuid::Uuid>) -> Option<Author> {
        match (kind, id) {
            ("visitor", Some(id)) => Some(Author::Visitor(VisitorId(id))),
            ("employee", Some(id)) => Some(Author::Employee(EmployeeId(id))),
            ("system", None) => Some(Author::System),
            _ => None,
        }
    }

    /// Scopes a client's own message id: two authors may pick the same one.
    pub fn client_key(self, client_id: uuid::Uuid) -> String {
        match self.id() {
            Some(id) => format!("{}:{id}:{client_id}", self.kind()),
            None => format!("system:{client_id}"),
        }
    }
}

/// A change of the conversation, stored as a message of kind `event`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    Queued,
    Assigned {
        operator: EmployeeId,
    },
    Transferred {
        from: EmployeeId,
        to: EmployeeId,
        note: String,
    },
    /// A holder of `conversations.all` took it over from its operator.
    TakenOver {
        from: EmployeeId,
        by: EmployeeId,
    },
    /// Routing took it back from an operator who neither opened nor
    /// answered it within `seconds`.
    Requeued {
        from: EmployeeId,
        seconds: u32,
    },
    Closed {
        by: Option<EmployeeId>,
    },
    Reopened,
    Rated {
        rating: u8,
        /// What the visitor added to the rating, if anything; sealed with
        /// the conversation like its texts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Text(String),
    /// A scanned, stored file.
    File(crate::file::Attachment),
    /// Internal: employees only.
    Note(String),
    Event(Event),
}

impl Body {
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Text(_) => "text",
            Body::File(_) => "file",
            Body::Note(_) => "note",
            Body::Event(_) => "event",
        }
    }

    /// The content as stored (sealed): a text as it is, an attachment or an
    /// event as JSON.
    pub fn content(&self) -> String {
        match self {
            Body::Text(t) | Body::Note(t) => t.clone(),
            Body::Event(e) => serde_json::to_string(e).unwrap_or_default(),
            Body::File(a) => serde_json::to_string(a).unwrap_or_default(),
        }
    }

    /// The body of `kind` from its stored content; `None` when it does not parse.
    pub fn from_content(kind: &str, content: &str) -> Option<Body> {
        match kind {
            "text" => Some(Body::Text(content.to_string())),
            "note" => Some(Body::Note(content.to_string())),
            "file" => serde_json::from_str(content).ok().map(Body::File),
            "event" => serde_json::from_str(content).ok().map(Body::Event),
            _ => None,
        }
    }

    /// Visitors see the conversation's text and its closing and rating,
    /// never notes, assignments or transfers (they name employees).
    pub fn visible_to_visitor(&self) -> bool {
        matches!(self, Body::Text(_) | Body::File(_) | Body::Event(Event::Closed { .. } | Event::Rated { .. }))
    }
}

/// Checks a message text: not blank, not too long, no control characters
/// except line breaks and tabs (they break displays and logs).
pub fn validate_text(text: &str) -> Result<(), DomainError> {
    if text.trim().is_empty() {
        return Err(DomainError::Invalid("text"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(DomainError::Invalid("text"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(DomainError::Invalid("text"));
    }
    Ok(())
}

pub fn validate_rating(rating: u8) -> Result<(), DomainError> {
    if (1..=5).contains(&rating) { Ok(()) } else { Err(DomainError::Invalid("rating")) }
}

/// The longest comment a visitor may add to a rating.
pub const MAX_RATING_COMMENT_CHARS: usize = 1000;

/// A rating's comment trimmed, `None` when empty; refused when too long or
/// holding control characters other than line breaks.
pub fn rating_comment(comment: Option<String>) -> Result<Option<String>, DomainError> {
    let Some(text) = comment.map(|c| c.trim().to_string()).filter(|c| !c.is_empty()) else { return Ok(None) };
    let bad = text.chars().any(|c| c.is_control() && c != '\n');
    if bad || text.chars().count() > MAX_RATING_COMMENT_CHARS {
        return Err(DomainError::Invalid("comment"));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_checked() {
        assert!(validate_text("Здравствуйте!\nМой заказ 42").is_ok());
        assert!(validate_text("   ").is_err());
        assert!(validate_text("a\u{0}b").is_err());
        assert!(validate_text(&"я".repeat(MAX_TEXT_CHARS)).is_ok());
        assert!(validate_text(&"я".repeat(MAX_TEXT_CHARS + 1)).is_err());
    }

    #[test]
    fn visitors_never_see_notes_or_who_took_over() {
        let op = EmployeeId::random();
        assert!(Body::Text("hi".into()).visible_to_visitor());
        assert!(!Body::Note("vip".into()).visible_to_visitor());
        assert!(!Body::Event(Event::Assigned { operator: op }).visible_to_visitor());
        assert!(Body::Event(Event::Closed { by: Some(op) }).visible_to_visitor());
        let note = "VIP, order 1042".to_string();
        assert!(
            !Body::Event(Event::Transferred { from: op, to: op, note }).visible_to_visitor(),
            "the note is internal"
        );
        assert!(!Body::Event(Event::TakenOver { from: op, by: op }).visible_to_visitor());
        assert!(!Body::Event(Event::Requeued { from: op, seconds: 60 }).visible_to_visitor());
    }

    #[test]
    fn events_round_trip_as_json() {
        let e = Event::Transferred { from: EmployeeId::random(), to: EmployeeId::random(), note: "VIP".into() };
        let json = serde_json::to_string(&e).unwrap_or_default();
        assert!(json.starts_with(r#"{"name":"transferred""#));
        assert_eq!(serde_json::from_str::<Event>(&json).ok(), Some(e));
    }

    #[test]
    fn bodies_round_trip_through_their_stored_content() {
        let bodies = [
            Body::Text("Мой номер +7 900 000-00-00".into()),
            Body::Note("VIP".into()),
            Body::Event(Event::Rated { rating: 5, comment: None }),
        ];
        for b in bodies {
            assert_eq!(Body::from_content(b.kind(), &b.content()), Some(b));
        }
        assert_eq!(Body::from_content("event", "{not json"), None);
        assert_eq!(Body::from_content("sound", "x"), None);
    }

    #[test]
    fn client_keys_are_scoped_by_author() {
        let c = uuid::Uuid::new_v4();
        let (v, e) = (Author::Visitor(VisitorId::random()), Author::Employee(EmployeeId::random()));
        assert_ne!(v.client_key(c), e.client_key(c));
        assert_eq!(Author::parse(v.kind(), v.id()), Some(v));
        assert_eq!(Author::parse("system", None), Some(Author::System));
    }
}
