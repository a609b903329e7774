//! The frames the server sends, built from the protocol's types
//! (`ostrog_protocol::frames`, re-exported here) and encoded once, as the
//! WebSocket's shared text, for every connection they go to.

pub use ostrog_protocol::frames::*;
pub use ostrog_protocol::objects::View;

use crate::error::ErrorCode;
use axum::extract::ws::Utf8Bytes;
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ConversationId, EmployeeId, VisitorId};
use ostrog_domain::message::Author;
use ostrog_domain::routing::Presence;
use ostrog_store::{ConversationRecord, MessageRecord};
use serde_json::Value;
use uuid::Uuid;

/// A frame, encoded once and shared by every connection it goes to.
pub trait Encode {
    fn encode(&self) -> Utf8Bytes;
}

impl Encode for ServerFrame {
    fn encode(&self) -> Utf8Bytes {
        Utf8Bytes::from(self.to_text())
    }
}

pub fn error(code: ErrorCode, message: &str, client_id: Option<Uuid>) -> Utf8Bytes {
    ServerFrame::Error { client_id, code, message: message.to_owned() }.encode()
}

pub fn pong() -> Utf8Bytes {
    ServerFrame::Pong {}.encode()
}

use super::objects::{Conversation, Message};

pub fn message_json(m: &MessageRecord, view: View<'_>) -> Value {
    serde_json::to_value(Message::of(m, view)).unwrap_or(Value::Null)
}

pub fn message(m: &MessageRecord, view: View<'_>) -> Utf8Bytes {
    ServerFrame::Message { message: Message::of(m, view) }.encode()
}

pub fn messages(conversation: ConversationId, items: &[MessageRecord], view: View<'_>) -> Utf8Bytes {
    let items = items.iter().map(|m| Message::of(m, view)).collect();
    ServerFrame::Messages { conversation_id: Some(conversation), items }.encode()
}

/// The answer to `sync` before the visitor has a conversation.
pub fn no_messages() -> Utf8Bytes {
    ServerFrame::Messages { conversation_id: None, items: vec![] }.encode()
}

pub fn ack(client_id: Uuid, m: &MessageRecord) -> Utf8Bytes {
    ServerFrame::Ack { at: m.at, client_id, conversation_id: m.conversation_id, id: m.id, seq: m.seq }.encode()
}

pub fn conversation_json(c: &ConversationRecord) -> Value {
    serde_json::to_value(Conversation::of(c)).unwrap_or(Value::Null)
}

/// A change of a conversation, for employees: its id, new state and operator.
pub fn conversation_changed(id: ConversationId, state: State, operator: Option<EmployeeId>, seq: i64) -> Utf8Bytes {
    let conversation = ConversationChange { id, last_seq: seq, operator_id: operator, state: state.name() };
    ServerFrame::Conversation { conversation }.encode()
}

pub fn closed(id: ConversationId) -> Utf8Bytes {
    ServerFrame::Closed { conversation_id: id, rating_requested: true }.encode()
}

pub fn rated(id: ConversationId, rating: u8) -> Utf8Bytes {
    ServerFrame::Rated { conversation_id: id, rating }.encode()
}

pub fn typing(id: ConversationId, author: Author) -> Utf8Bytes {
    ServerFrame::Typing { author: author.into(), conversation_id: id }.encode()
}

pub fn read(id: ConversationId, seq: i64) -> Utf8Bytes {
    ServerFrame::Read { conversation_id: id, seq }.encode()
}

pub fn colleague(id: ConversationId, employee: EmployeeId, activity: Activity) -> Utf8Bytes {
    ServerFrame::Colleague { activity, conversation_id: id, employee_id: employee }.encode()
}

pub fn presence(employee: EmployeeId, status: Presence) -> Utf8Bytes {
    ServerFrame::Presence { employee_id: employee, status }.encode()
}

/// Where a reply to a messenger's contact stands (`pending`, `sent`,
/// `failed` with the reason), for the employees who see the conversation.
pub fn delivery(d: &ostrog_store::Delivery) -> Utf8Bytes {
    ServerFrame::Delivery {
        attempts: d.attempts,
        conversation_id: d.conversation_id,
        error: d.last_error.clone(),
        message_id: d.message_id,
        seq: d.seq,
        status: d.status,
    }
    .encode()
}

/// A security alert for holders of `settings.manage`; `details` as audited.
pub fn alert(kind: &str, details: &Value) -> Utf8Bytes {
    ServerFrame::Alert { details: details.clone(), kind: kind.to_owned() }.encode()
}

pub fn subscribed(id: ConversationId) -> Utf8Bytes {
    ServerFrame::Subscribed { conversation_id: id }.encode()
}

pub fn visitor_welcome(
    token: &str,
    visitor: VisitorId,
    conversation: Option<&ConversationRecord>,
    name: &str,
    greeting: &str,
    consent: Option<serde_json::Value>,
) -> Utf8Bytes {
    let conversation =
        conversation.map(|c| WelcomeConversation { id: c.id, last_seq: c.last_seq, state: c.state.name() });
    ServerFrame::VisitorWelcome {
        consent,
        conversation,
        token: token.to_owned(),
        v: VERSION,
        visitor_id: visitor,
        widget: WidgetIntro { greeting: greeting.to_owned(), name: name.to_owned() },
    }
    .encode()
}

/// The visitor's consent as stored.
pub fn consent(version: u32, accepted: bool) -> Utf8Bytes {
    ServerFrame::Consent { accepted, version }.encode()
}

pub fn operator_welcome(employee: EmployeeId, presence: Presence) -> Utf8Bytes {
    ServerFrame::OperatorWelcome { employee_id: employee, presence, v: VERSION }.encode()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ostrog_domain::conversation::State;
    use ostrog_domain::ids::{MessageId, VisitorId};
    use ostrog_domain::routing::Presence;

    /// The bytes clients have always received: keys in alphabetical order,
    /// `type` among them, absent optional fields left out.
    #[test]
    fn frames_keep_their_bytes() {
        let id = ConversationId(Uuid::from_u128(1));
        let client = Uuid::from_u128(2);
        assert_eq!(pong().as_str(), r#"{"type":"pong"}"#);
        assert_eq!(
            error(ErrorCode::NotFound, "no such conversation", Some(client)).as_str(),
            r#"{"client_id":"00000000-0000-0000-0000-000000000002","code":"not_found","message":"no such conversation","type":"error"}"#
        );
        assert_eq!(
            error(ErrorCode::RateLimited, "slow down", None).as_str(),
            r#"{"code":"rate_limited","message":"slow down","type":"error"}"#
        );
        assert_eq!(
            closed(id).as_str(),
            r#"{"conversation_id":"00000000-0000-0000-0000-000000000001","rating_requested":true,"type":"closed"}"#
        );
        assert_eq!(no_messages().as_str(), r#"{"conversation_id":null,"items":[],"type":"messages"}"#);
        assert_eq!(
            conversation_changed(id, State::Assigned(EmployeeId(client)), Some(EmployeeId(client)), 7).as_str(),
            r#"{"conversation":{"id":"00000000-0000-0000-0000-000000000001","last_seq":7,"operator_id":"00000000-0000-0000-0000-000000000002","state":"assigned"},"type":"conversation"}"#
        );
        assert_eq!(
            typing(id, Author::System).as_str(),
            r#"{"author":{"id":null,"kind":"system"},"conversation_id":"00000000-0000-0000-0000-000000000001","type":"typing"}"#
        );
        assert_eq!(
            operator_welcome(EmployeeId(client), Presence::Online).as_str(),
            r#"{"employee_id":"00000000-0000-0000-0000-000000000002","presence":"online","type":"welcome","v":1}"#
        );
        let welcome = visitor_welcome("t", VisitorId(client), None, "Shop", "Hi", None);
        assert_eq!(
            welcome.as_str(),
            r#"{"consent":null,"conversation":null,"token":"t","type":"welcome","v":1,"visitor_id":"00000000-0000-0000-0000-000000000002","widget":{"greeting":"Hi","name":"Shop"}}"#
        );
    }

    #[test]
    fn messages_keep_their_bytes() {
        use ostrog_domain::message::Body;
        let m = MessageRecord {
            id: MessageId(Uuid::from_u128(3)),
            conversation_id: ConversationId(Uuid::from_u128(1)),
            seq: 4,
            client_key: Some(format!("visitor:x:{}", Uuid::from_u128(2))),
            author: Author::Visitor(VisitorId(Uuid::from_u128(5))),
            body: Body::Text("call +7 912 345-67-89".into()),
            at: 1_700_000_000_000,
        };
        let visitor = message(&m, View::Visitor);
        assert_eq!(
            visitor.as_str(),
            r#"{"message":{"at":1700000000000,"author":{"id":"00000000-0000-0000-0000-000000000005","kind":"visitor"},"client_id":"00000000-0000-0000-0000-000000000002","conversation_id":"00000000-0000-0000-0000-000000000001","event":null,"file":null,"id":"00000000-0000-0000-0000-000000000003","kind":"text","seq":4,"text":"call +7 912 345-67-89"},"type":"message"}"#
        );
        let masked = [ostrog_domain::personal_data::Category::Phone];
        let employee = message_json(&m, View::Employee(&masked));
        assert_eq!(employee["personal_data"], serde_json::json!([{"category": "phone", "index": 0}]));
        assert_ne!(employee["text"], "call +7 912 345-67-89", "masked for employees");
    }
}
