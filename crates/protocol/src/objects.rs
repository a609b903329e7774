//! The core objects as clients see them, over REST and in WebSocket frames
//! alike: a message and a conversation. Typed (`Serialize + ToSchema`) so
//! that the OpenAPI document describes them. Fields are declared in
//! alphabetical order, the order in which they have always been written,
//! so that the bytes on the wire do not change.

use ostrog_domain::ids::{ConversationId, EmployeeId, MessageId, VisitorId};
use ostrog_domain::message::{Author, Body};
use ostrog_domain::personal_data::{self, Category};
use ostrog_store::{ConversationRecord, MessageRecord};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// Who a message is shown to. Employees see personal data masked (the
/// categories the settings name); the visitor sees their conversation as
/// it was written.
#[derive(Debug, Clone, Copy)]
pub enum View<'a> {
    Visitor,
    Employee(&'a [Category]),
}

/// Who wrote a message, or did something.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthorRef {
    /// None for the system.
    pub id: Option<Uuid>,
    /// `visitor`, `employee` or `system`.
    pub kind: &'static str,
}

impl From<Author> for AuthorRef {
    fn from(a: Author) -> Self {
        AuthorRef { id: a.id(), kind: a.kind() }
    }
}

/// A masked value in a message's text, for employees.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MaskedValue {
    /// `phone`, `email`, `card`, … (the personal-data categories).
    pub category: &'static str,
    /// Its position among the message's masked values (for revealing it).
    pub index: usize,
}

/// What a `file` message carries; the bytes are fetched separately.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileRef {
    pub content_type: String,
    #[schema(value_type = Uuid)]
    pub file_id: ostrog_domain::ids::FileId,
    /// Display text only.
    pub name: String,
    pub size: u64,
    /// Whether the server made a thumbnail.
    pub thumbnail: bool,
}

/// A message of a conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Message {
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub author: AuthorRef,
    /// The sender's own id for it, when the sender gave one.
    pub client_id: Option<Uuid>,
    #[schema(value_type = Uuid)]
    pub conversation_id: ConversationId,
    /// For `event` messages: `{"name": "queued" | "assigned" | "transferred" | "closed" | "reopened" | "rated", …}`.
    #[schema(value_type = Option<Object>)]
    pub event: Option<Value>,
    /// For `file` messages.
    pub file: Option<FileRef>,
    #[schema(value_type = Uuid)]
    pub id: MessageId,
    /// `text`, `note` (employees only), `file` or `event`.
    pub kind: &'static str,
    /// For employees: the values masked in `text`, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_data: Option<Vec<MaskedValue>>,
    /// Its place in the conversation: 1, 2, 3… without gaps.
    pub seq: i64,
    /// For `text` and `note` messages; masked for employees.
    pub text: Option<String>,
}

impl Message {
    pub fn of(m: &MessageRecord, view: View<'_>) -> Message {
        let (text, event, file) = match &m.body {
            Body::Text(t) | Body::Note(t) => (Some(t.as_str()), None, None),
            Body::Event(e) => (None, serde_json::to_value(e).ok(), None),
            Body::File(a) => (None, None, Some(a)),
        };
        let (text, personal_data) = match (text, view) {
            (Some(t), View::Employee(masked)) => {
                let (shown, found) = personal_data::mask(t, masked);
                let found: Vec<MaskedValue> = found
                    .iter()
                    .enumerate()
                    .map(|(index, f)| MaskedValue { category: f.category.name(), index })
                    .collect();
                (Some(shown), (!found.is_empty()).then_some(found))
            }
            (t, _) => (t.map(str::to_owned), None),
        };
        let file = file.map(|a| FileRef {
            content_type: a.content_type.clone(),
            file_id: a.file_id,
            name: a.name.clone(),
            size: a.size,
            thumbnail: a.thumbnail,
        });
        // The client's own id is the last part of its key (`author:id:client_id`).
        let client_id =
            m.client_key.as_deref().and_then(|k| k.rsplit(':').next()).and_then(|s| Uuid::parse_str(s).ok());
        Message {
            at: m.at,
            author: m.author.into(),
            client_id,
            conversation_id: m.conversation_id,
            event,
            file,
            id: m.id,
            kind: m.body.kind(),
            personal_data,
            seq: m.seq,
            text,
        }
    }
}

/// A conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Conversation {
    /// `widget`, `telegram`, `vk` or `webhook`.
    pub channel: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    #[schema(value_type = Uuid)]
    pub id: ConversationId,
    /// The sequence number of its last message.
    pub last_seq: i64,
    /// The operator it is assigned to, or was when it was closed.
    #[schema(value_type = Option<Uuid>)]
    pub operator_id: Option<EmployeeId>,
    /// `new`, `queued`, `assigned` or `closed`.
    pub state: &'static str,
    pub updated_at: i64,
    #[schema(value_type = Uuid)]
    pub visitor_id: VisitorId,
}

impl Conversation {
    pub fn of(c: &ConversationRecord) -> Conversation {
        Conversation {
            channel: c.channel.clone(),
            created_at: c.created_at,
            id: c.id,
            last_seq: c.last_seq,
            operator_id: c.operator,
            state: c.state.name(),
            updated_at: c.updated_at,
            visitor_id: c.visitor_id,
        }
    }
}
