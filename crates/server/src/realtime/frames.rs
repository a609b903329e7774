//! The frames of protocol version 1 (docs/protocol.md): what clients send,
//! parsed strictly, and what the server sends, serialised once per event
//! and shared by every connection it goes to.

use axum::extract::ws::Utf8Bytes;
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ConversationId, EmployeeId, VisitorId};
use ostrog_domain::message::{Author, Body};
use ostrog_domain::personal_data::{self, Category};
use ostrog_domain::routing::Presence;
use ostrog_store::{ConversationRecord, MessageRecord};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

pub const VERSION: u32 = 1;
/// Largest frame the protocol accepts; larger ones get `frame_too_large`.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// A signed identity from the company's backend.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub user_id: String,
    pub signature: String,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum VisitorFrame {
    Hello {
        v: u32,
        token: Option<String>,
        identity: Option<Identity>,
    },
    Send {
        client_id: Uuid,
        text: String,
    },
    Sync {
        after_seq: i64,
    },
    Typing {},
    Read {
        seq: i64,
    },
    Rate {
        rating: u8,
    },
    /// Accepting (or withdrawing) the consent text of `version`.
    Consent {
        version: u32,
        accepted: bool,
    },
    Ping {},
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OperatorFrame {
    Send {
        conversation_id: ConversationId,
        client_id: Uuid,
        text: String,
        #[serde(default)]
        note: bool,
    },
    Sync {
        conversation_id: ConversationId,
        after_seq: i64,
    },
    Subscribe {
        conversation_id: ConversationId,
    },
    Unsubscribe {
        conversation_id: ConversationId,
    },
    Typing {
        conversation_id: ConversationId,
    },
    Read {
        conversation_id: ConversationId,
        seq: i64,
    },
    Presence {
        status: Presence,
    },
    Ping {},
}

/// Why a frame was refused, with the protocol's stable error code.
#[derive(Debug)]
pub struct FrameError {
    pub code: &'static str,
    pub message: String,
}

/// Parses a client frame: size, JSON, known type, fields, in that order,
/// so each failure gets the most precise code.
pub fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, FrameError> {
    let refuse = |code, message: String| Err(FrameError { code, message });
    if text.len() > MAX_FRAME_BYTES {
        return refuse("frame_too_large", format!("frames are limited to {MAX_FRAME_BYTES} bytes"));
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(v @ Value::Object(_)) => v,
        _ => return refuse("malformed_frame", "a frame is one JSON object".into()),
    };
    match serde_json::from_value::<T>(value) {
        Ok(frame) => Ok(frame),
        Err(e) if e.to_string().starts_with("unknown variant") => refuse("unknown_type", e.to_string()),
        Err(e) => refuse("invalid_frame", e.to_string()),
    }
}

fn frame(value: Value) -> Utf8Bytes {
    Utf8Bytes::from(value.to_string())
}

pub fn error(code: &str, message: &str, client_id: Option<Uuid>) -> Utf8Bytes {
    let mut v = json!({"type": "error", "code": code, "message": message});
    if let Some(id) = client_id {
        v["client_id"] = json!(id);
    }
    frame(v)
}

pub fn pong() -> Utf8Bytes {
    frame(json!({"type": "pong"}))
}

/// Who a message is shown to. Employees see personal data masked (the
/// categories the settings name); the visitor sees their conversation as
/// it was written.
#[derive(Debug, Clone, Copy)]
pub enum View<'a> {
    Visitor,
    Employee(&'a [Category]),
}

pub fn message_json(m: &MessageRecord, view: View<'_>) -> Value {
    let (text, event, file) = match &m.body {
        Body::Text(t) | Body::Note(t) => (Some(t.as_str()), None, None),
        Body::Event(e) => (None, serde_json::to_value(e).ok(), None),
        Body::File(a) => (None, None, serde_json::to_value(a).ok()),
    };
    let (text, personal_data) = match (text, view) {
        (Some(t), View::Employee(masked)) => {
            let (shown, found) = personal_data::mask(t, masked);
            let found: Vec<Value> =
                found.iter().enumerate().map(|(i, f)| json!({"index": i, "category": f.category.name()})).collect();
            (Some(std::borrow::Cow::Owned(shown)), (!found.is_empty()).then_some(found))
        }
        (t, _) => (t.map(std::borrow::Cow::Borrowed), None),
    };
    // The client's own id is the last part of its key (`author:id:client_id`).
    let client_id = m.client_key.as_deref().and_then(|k| k.rsplit(':').next()).and_then(|s| Uuid::parse_str(s).ok());
    let mut json = json!({
        "id": m.id, "conversation_id": m.conversation_id, "seq": m.seq, "client_id": client_id,
        "author": {"kind": m.author.kind(), "id": m.author.id()},
        "kind": m.body.kind(), "text": text, "event": event, "file": file, "at": m.at,
    });
    if let Some(found) = personal_data {
        json["personal_data"] = Value::Array(found);
    }
    json
}

pub fn message(m: &MessageRecord, view: View<'_>) -> Utf8Bytes {
    frame(json!({"type": "message", "message": message_json(m, view)}))
}

pub fn messages(conversation: ConversationId, items: &[MessageRecord], view: View<'_>) -> Utf8Bytes {
    let items: Vec<Value> = items.iter().map(|m| message_json(m, view)).collect();
    frame(json!({"type": "messages", "conversation_id": conversation, "items": items}))
}

/// The answer to `sync` before the visitor has a conversation.
pub fn no_messages() -> Utf8Bytes {
    frame(json!({"type": "messages", "conversation_id": null, "items": []}))
}

pub fn ack(client_id: Uuid, m: &MessageRecord) -> Utf8Bytes {
    frame(json!({
        "type": "ack", "client_id": client_id, "id": m.id, "conversation_id": m.conversation_id,
        "seq": m.seq, "at": m.at,
    }))
}

pub fn conversation_json(c: &ConversationRecord) -> Value {
    json!({
        "id": c.id, "visitor_id": c.visitor_id, "channel": c.channel, "state": c.state.name(),
        "operator_id": c.operator, "last_seq": c.last_seq, "created_at": c.created_at, "updated_at": c.updated_at,
    })
}

/// A change of a conversation, for employees: its id, new state and operator.
pub fn conversation_changed(id: ConversationId, state: State, operator: Option<EmployeeId>, seq: i64) -> Utf8Bytes {
    frame(json!({
        "type": "conversation",
        "conversation": {"id": id, "state": state.name(), "operator_id": operator, "last_seq": seq},
    }))
}

pub fn closed(id: ConversationId) -> Utf8Bytes {
    frame(json!({"type": "closed", "conversation_id": id, "rating_requested": true}))
}

pub fn rated(id: ConversationId, rating: u8) -> Utf8Bytes {
    frame(json!({"type": "rated", "conversation_id": id, "rating": rating}))
}

pub fn typing(id: ConversationId, author: Author) -> Utf8Bytes {
    frame(json!({"type": "typing", "conversation_id": id, "author": {"kind": author.kind(), "id": author.id()}}))
}

pub fn read(id: ConversationId, seq: i64) -> Utf8Bytes {
    frame(json!({"type": "read", "conversation_id": id, "seq": seq}))
}

pub fn presence(employee: EmployeeId, status: Presence) -> Utf8Bytes {
    frame(json!({"type": "presence", "employee_id": employee, "status": status}))
}

/// Where a reply to a messenger's contact stands (`pending`, `sent`,
/// `failed` with the reason), for the employees who see the conversation.
pub fn delivery(d: &ostrog_store::Delivery) -> Utf8Bytes {
    frame(json!({"type": "delivery", "conversation_id": d.conversation_id, "message_id": d.message_id,
        "seq": d.seq, "status": d.status, "attempts": d.attempts, "error": d.last_error}))
}

/// A security alert for holders of `settings.manage`; `details` as audited.
pub fn alert(kind: &str, details: &Value) -> Utf8Bytes {
    frame(json!({"type": "alert", "kind": kind, "details": details}))
}

pub fn subscribed(id: ConversationId) -> Utf8Bytes {
    frame(json!({"type": "subscribed", "conversation_id": id}))
}

pub fn visitor_welcome(
    token: &str,
    visitor: VisitorId,
    conversation: Option<&ConversationRecord>,
    name: &str,
    greeting: &str,
    consent: Option<serde_json::Value>,
) -> Utf8Bytes {
    let conversation = conversation.map(|c| json!({"id": c.id, "state": c.state.name(), "last_seq": c.last_seq}));
    frame(json!({
        "type": "welcome", "v": VERSION, "token": token, "visitor_id": visitor, "conversation": conversation,
        "widget": {"name": name, "greeting": greeting}, "consent": consent,
    }))
}

/// The visitor's consent as stored.
pub fn consent(version: u32, accepted: bool) -> Utf8Bytes {
    frame(json!({"type": "consent", "version": version, "accepted": accepted}))
}

pub fn operator_welcome(employee: EmployeeId, presence: Presence) -> Utf8Bytes {
    frame(json!({"type": "welcome", "v": VERSION, "employee_id": employee, "presence": presence}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_parsed_strictly_with_precise_codes() {
        let code = |t: &str| parse::<VisitorFrame>(t).err().map(|e| e.code);
        assert_eq!(code(r#"{"type":"send","client_id":"9b2f6c1e-1d7b-4a55-a6e1-3f0f1d1b8a10","text":"hi"}"#), None);
        assert_eq!(code("not json"), Some("malformed_frame"));
        assert_eq!(code("[1,2]"), Some("malformed_frame"));
        assert_eq!(code(r#"{"type":"launch"}"#), Some("unknown_type"));
        assert_eq!(code(r#"{"type":"send","text":"hi"}"#), Some("invalid_frame"));
        assert_eq!(code(r#"{"type":"ping","extra":1}"#), Some("invalid_frame"));
        assert_eq!(code(r#"{"type":"rate","rating":300}"#), Some("invalid_frame"));
        let big = format!(r#"{{"type":"send","text":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
        assert_eq!(code(&big), Some("frame_too_large"));
    }
}
