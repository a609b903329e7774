//! The answer bodies of the REST routes that are not one core object
//! (`realtime::objects`), and the schemas of the domain's answers (the
//! domain crate knows nothing of OpenAPI, so their shapes are described
//! here, next to the routes that send them). Fields are declared in
//! alphabetical order, the order in which they have always been written.

use crate::realtime::objects::{Conversation, Message};
use ostrog_domain::ids::{ConversationId, MessageId, VisitorId};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A page of conversations, newest activity first.
#[derive(Serialize, ToSchema)]
pub struct ConversationPage {
    /// The contacts of the page's conversations, one per visitor.
    pub contacts: Vec<ContactLabel>,
    pub items: Vec<Conversation>,
    /// The labels of the page's conversations that have any.
    pub labels: Vec<ConversationLabels>,
    /// The team and priority of the page's conversations that the routing
    /// rules sent to a team or marked urgent.
    pub routes: Vec<ConversationRoute>,
    /// The last text of each conversation that has one among its latest
    /// messages, on one line, masked as the transcript masks it.
    pub previews: Vec<Preview>,
}

/// The labels on one conversation.
#[derive(Serialize, ToSchema)]
pub struct ConversationLabels {
    #[schema(value_type = uuid::Uuid)]
    pub conversation_id: ConversationId,
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub label_ids: Vec<ostrog_domain::ids::LabelId>,
}

/// Where routing sent one conversation.
#[derive(Serialize, ToSchema)]
pub struct ConversationRoute {
    #[schema(value_type = uuid::Uuid)]
    pub conversation_id: ConversationId,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub team_id: Option<ostrog_domain::ids::TeamId>,
    /// `normal` or `high`.
    #[schema(value_type = String)]
    pub priority: ostrog_domain::rule::Priority,
}

/// A conversation's last text, for a list.
#[derive(Serialize, ToSchema)]
pub struct Preview {
    #[schema(value_type = uuid::Uuid)]
    pub conversation_id: ConversationId,
    /// Up to 120 characters, personal data masked.
    pub text: String,
}

/// What a list shows of a contact.
#[derive(Serialize, ToSchema)]
pub struct ContactLabel {
    /// Unset until known; the list then shows "Guest <number>".
    pub name: Option<String>,
    /// The installation's running number of the contact.
    pub number: i64,
    #[schema(value_type = uuid::Uuid)]
    pub visitor_id: VisitorId,
}

/// A contact: who a conversation is with. Personal data: shown to the
/// employees who may see the conversation, never logged.
#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub company: Option<String>,
    pub email: Option<String>,
    /// Unset until known; shown as "Guest <number>" meanwhile.
    pub name: Option<String>,
    /// `messenger`, `identity` or `operator`: where the name came from.
    pub name_source: Option<&'static str>,
    pub notes: Option<String>,
    pub number: i64,
    pub phone: Option<String>,
    #[schema(value_type = uuid::Uuid)]
    pub visitor_id: VisitorId,
    /// The page a widget visitor wrote from (without its query), as their
    /// browser reported it; unset for messengers.
    pub page: Option<String>,
    /// The widget visitor's browser (its User-Agent, cut short).
    pub browser: Option<String>,
}

impl ContactView {
    pub fn of(c: crate::services::contacts::Contact) -> Self {
        ContactView {
            company: c.details.company,
            email: c.details.email,
            name: c.name,
            name_source: c.name_source.map(|s| s.name()),
            notes: c.details.notes,
            number: c.number,
            phone: c.details.phone,
            visitor_id: c.visitor_id,
            page: c.visit.page,
            browser: c.visit.browser,
        }
    }
}

/// A page of a conversation's history, by sequence number.
#[derive(Serialize, ToSchema)]
pub struct MessagePage {
    #[schema(value_type = uuid::Uuid)]
    pub conversation_id: ConversationId,
    pub items: Vec<Message>,
}

/// An answer with nothing to say.
#[derive(Serialize, ToSchema)]
pub struct Empty {}

/// Where a webhook channel's message went.
#[derive(Serialize, ToSchema)]
pub struct WebhookReceived {
    #[schema(value_type = uuid::Uuid)]
    pub conversation_id: ConversationId,
    /// None when the call carried nothing to store.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub message_id: Option<MessageId>,
}

/// The statistics of a period.
#[derive(Serialize, ToSchema)]
pub struct Statistics {
    /// Start of the period, ms since the Unix epoch (inclusive).
    pub from: i64,
    /// Operator id → their figures (only the caller's with `statistics.own`).
    #[schema(value_type = BTreeMap<String, Figures>)]
    pub per_operator: Value,
    pub to: i64,
    /// Everyone's figures; None without `statistics.all` or `statistics.general`.
    #[schema(value_type = Option<Figures>)]
    pub total: Value,
}

/// Usage of a period and what it costs under the tariff.
#[derive(Serialize, ToSchema)]
pub struct UsageReport {
    #[schema(value_type = Cost)]
    pub cost: Value,
    /// ISO 4217.
    pub currency: String,
    pub from: i64,
    pub to: i64,
    #[schema(value_type = Usage)]
    pub usage: Value,
}

/// The figures of one scope (everyone, or one operator).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Figures {
    pub answered: u64,
    pub close_ms: Option<i64>,
    pub closed: u64,
    pub first_response_ms: Option<i64>,
    pub missed: u64,
    pub rating: Option<f64>,
    pub ratings: u64,
    pub received: u64,
    pub response_ms: Option<i64>,
}

/// What was used in a period.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Usage {
    pub active_seats: u64,
    /// Channel → conversations; reported, not charged.
    pub conversations: BTreeMap<String, u64>,
    /// Channel → messages; charged at the channel's price.
    pub messages: BTreeMap<String, u64>,
}

/// Amounts in minor units of the tariff's currency.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Cost {
    /// One entry per channel with messages, priced or not.
    pub per_channel: BTreeMap<String, i64>,
    pub seats: i64,
    pub total: i64,
}

/// The tariff (`ostrog_domain::finance::Tariff`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Tariff {
    /// ISO 4217 code, three uppercase letters.
    pub currency: String,
    /// Minor units per active seat per period.
    pub seat_price: i64,
    /// Channel → minor units per message. A channel not listed is free.
    pub message_prices: BTreeMap<String, i64>,
}

/// What the company asks visitors to accept (`ostrog_domain::privacy::ConsentSettings`).
#[derive(ToSchema)]
#[allow(dead_code)]
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

/// How routing treats absent operators (`ostrog_domain::routing::RoutingSettings`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RoutingSettings {
    /// Seconds (5–3600) with every workplace tab hidden before the operator is away.
    pub away_after_hidden_seconds: u32,
    /// Seconds (5–3600) an assignment may stay unopened and unanswered before it
    /// returns to the queue; its operator is then set away.
    pub requeue_after_seconds: u32,
}

/// How long personal data is kept (`ostrog_domain::privacy::RetentionSettings`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RetentionSettings {
    /// Days after a conversation closed before its visitor's data is destroyed.
    pub closed_conversation_days: u32,
    /// Days a visitor who never wrote is kept.
    pub silent_visitor_days: u32,
}
