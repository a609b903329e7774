//! The frames of protocol version 1 (docs/protocol.md): what clients send,
//! parsed strictly, and what the server sends, serialised once per event
//! and shared by every connection it goes to.

use crate::ErrorCode;
use crate::objects::{AuthorRef, Message};
use ostrog_domain::ids::{ConversationId, EmployeeId, MessageId, VisitorId};
use ostrog_domain::routing::Presence;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
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
    /// How the company names the user; becomes the contact's name (unless
    /// an employee renamed the contact). Not signed: it only labels the
    /// visitor's own conversation.
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum VisitorFrame {
    Hello {
        v: u32,
        token: Option<String>,
        identity: Option<Identity>,
        /// The page the widget is on (the loader tells the frame), kept
        /// for the contact panel once the visitor writes.
        page: Option<String>,
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
        /// Optional words of the visitor's with the rating (up to 1,000 characters).
        #[serde(default)]
        comment: Option<String>,
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
    /// The workplace page was hidden (another tab in front) or shown again:
    /// pages hidden for long enough make their operator away.
    Visibility {
        hidden: bool,
    },
    /// The employee opened (`joined`), still has open (`here`, the answer to
    /// a `joined`) or left a conversation: the colleagues in it are told.
    Here {
        conversation_id: ConversationId,
        activity: Activity,
    },
    Ping {},
}

/// What a colleague does in a conversation, for the others in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    Joined,
    Here,
    Typing,
    Left,
}

/// Why a frame was refused, with the protocol's stable error code.
#[derive(Debug)]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
}

/// Parses a client frame: size, JSON, known type, fields, in that order,
/// so each failure gets the most precise code.
pub fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, FrameError> {
    let refuse = |code, message: String| Err(FrameError { code, message });
    if text.len() > MAX_FRAME_BYTES {
        return refuse(ErrorCode::FrameTooLarge, format!("frames are limited to {MAX_FRAME_BYTES} bytes"));
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(v @ Value::Object(_)) => v,
        _ => return refuse(ErrorCode::MalformedFrame, "a frame is one JSON object".into()),
    };
    match serde_json::from_value::<T>(value) {
        Ok(frame) => Ok(frame),
        Err(e) if e.to_string().starts_with("unknown variant") => refuse(ErrorCode::UnknownType, e.to_string()),
        Err(e) => refuse(ErrorCode::InvalidFrame, e.to_string()),
    }
}

/// Everything the server sends over the WebSocket, one variant per frame
/// `type` (docs/protocol.md), published in the OpenAPI document's
/// components. Always written by [`ServerFrame::encode`], whose keys come
/// in alphabetical order (`type` among them), as they always have.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// A sent message is stored: its id and place.
    Ack {
        at: i64,
        client_id: Uuid,
        #[schema(value_type = Uuid)]
        conversation_id: ConversationId,
        #[schema(value_type = Uuid)]
        id: MessageId,
        seq: i64,
    },
    /// A security alert for holders of `settings.manage`; `details` as audited.
    Alert {
        #[schema(value_type = Object)]
        details: Value,
        /// What happened, e.g. `file.infected`.
        kind: String,
    },
    /// A conversation was closed; the visitor is asked for a rating.
    Closed {
        #[schema(value_type = Uuid)]
        conversation_id: ConversationId,
        rating_requested: bool,
    },
    /// The visitor's consent as stored.
    Consent {
        accepted: bool,
        version: u32,
    },
    /// A colleague opened, types in or left a conversation the receiver
    /// sees (co-presence; the receiver ignores their own).
    Colleague {
        /// `joined`, `here`, `typing` or `left`.
        #[schema(value_type = String)]
        activity: Activity,
        #[schema(value_type = Uuid)]
        conversation_id: ConversationId,
        #[schema(value_type = Uuid)]
        employee_id: EmployeeId,
    },
    /// A change of a conversation, for employees.
    Conversation {
        conversation: ConversationChange,
    },
    /// Where a reply to a messenger's contact stands.
    Delivery {
        attempts: u32,
        #[schema(value_type = Uuid)]
        conversation_id: ConversationId,
        /// Why the last attempt failed.
        error: Option<String>,
        #[schema(value_type = Uuid)]
        message_id: MessageId,
        seq: i64,
        /// `pending`, `sent` or `failed`.
        #[schema(value_type = String)]
        status: ostrog_domain::channel::DeliveryStatus,
    },
    /// A refusal, with the protocol's stable code.
    Error {
        /// The sent frame it answers, when it was a `send`.
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<Uuid>,
        #[schema(value_type = String)]
        code: ErrorCode,
        message: String,
    },
    /// A new message.
    Message {
        message: Message,
    },
    /// A page of messages: the answer to `sync` (`conversation_id` null
    /// before the visitor has a conversation).
    Messages {
        #[schema(value_type = Option<Uuid>)]
        conversation_id: Option<ConversationId>,
        items: Vec<Message>,
    },
    Pong {},
    /// An employee's presence changed.
    Presence {
        #[schema(value_type = Uuid)]
        employee_id: EmployeeId,
        /// `online`, `away` or `offline`.
        #[schema(value_type = String)]
        status: Presence,
    },
    /// The visitor rated a closed conversation.
    Rated {
        #[schema(value_type = Uuid)]
        conversation_id: ConversationId,
        rating: u8,
    },
    /// The other side read up to `seq`.
    Read {
        #[schema(value_type = Uuid)]
        conversation_id: ConversationId,
        seq: i64,
    },
    /// The caller now receives a conversation's frames.
    Subscribed {
        #[schema(value_type = Uuid)]
        conversation_id: ConversationId,
    },
    /// Someone is typing.
    Typing {
        author: AuthorRef,
        #[schema(value_type = Uuid)]
        conversation_id: ConversationId,
    },
    /// The answer to a visitor's `hello`.
    #[serde(rename = "welcome")]
    VisitorWelcome {
        /// The consent the widget asks for, and the visitor's answer.
        #[schema(value_type = Option<Object>)]
        consent: Option<Value>,
        conversation: Option<WelcomeConversation>,
        /// The visitor's token: sent back in the next `hello`.
        token: String,
        v: u32,
        #[schema(value_type = Uuid)]
        visitor_id: VisitorId,
        widget: WidgetIntro,
    },
    /// The first frame an employee's connection gets.
    #[serde(rename = "welcome")]
    OperatorWelcome {
        #[schema(value_type = Uuid)]
        employee_id: EmployeeId,
        #[schema(value_type = String)]
        presence: Presence,
        v: u32,
    },
}

/// What changed of a conversation (the `conversation` frame).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationChange {
    #[schema(value_type = Uuid)]
    pub id: ConversationId,
    pub last_seq: i64,
    #[schema(value_type = Option<Uuid>)]
    pub operator_id: Option<EmployeeId>,
    /// `new`, `queued`, `assigned` or `closed`.
    pub state: &'static str,
}

/// The visitor's conversation, in `welcome`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WelcomeConversation {
    #[schema(value_type = Uuid)]
    pub id: ConversationId,
    pub last_seq: i64,
    pub state: &'static str,
}

/// What the widget shows before the first message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WidgetIntro {
    pub greeting: String,
    pub name: String,
}

impl ServerFrame {
    /// The frame as sent: through a JSON value, so that keys come in
    /// alphabetical order, `type` among them.
    pub fn to_text(&self) -> String {
        serde_json::to_value(self).unwrap_or(Value::Null).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_parsed_strictly_with_precise_codes() {
        let code = |t: &str| parse::<VisitorFrame>(t).err().map(|e| e.code.as_str());
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
