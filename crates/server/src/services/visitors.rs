//! The visitor's side: coming in (anonymous, back with a token, or with a
//! signed identity), writing, and rating a closed conversation.

use crate::auth::tokens;
use crate::error::{AppError, AppResult};
use crate::keys::purpose::Purpose;
use crate::keys::{Ledger, Vault};
use crate::realtime::frames::Identity;
use crate::realtime::writer::{Reply, Writer};
use crate::services::consent::Consent;
use crate::services::contacts::Contacts;
use crate::services::conversations::Conversations;
use crate::services::routing_rules::RoutingRules;
use hmac::{Hmac, Mac};
use ostrog_domain::DomainError;
use ostrog_domain::clock::Clock;
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ConversationId, MessageId, VisitorId, WidgetId};
use ostrog_domain::message::{Author, Body, Event, rating_comment, validate_rating, validate_text};
use ostrog_domain::rule::{Source as RuleSource, Start};
use ostrog_store::{
    Appended, ConversationRecord, ConversationStore, External, MessageRecord, NewMessage, Source, StoreError,
    VisitorRecord, VisitorStore, WidgetRecord, WidgetStore,
};
use sha2::Sha256;
use std::sync::Arc;
use uuid::Uuid;

/// A visitor connected through a widget.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub record: VisitorRecord,
    /// Set when the visitor first came or came back; shown once in `welcome`.
    pub token: String,
    pub conversation: Option<ConversationRecord>,
    /// The consent version the visitor accepted last, unless withdrawn since.
    pub consent: Option<u32>,
}

pub struct Visitors {
    widgets: Arc<dyn WidgetStore>,
    visitors: Arc<dyn VisitorStore>,
    conversation_store: Arc<dyn ConversationStore>,
    ledger: Arc<Ledger>,
    vault: Arc<Vault>,
    writer: Writer,
    conversations: Arc<Conversations>,
    consent: Arc<Consent>,
    contacts: Arc<Contacts>,
    rules: Arc<RoutingRules>,
    clock: Arc<dyn Clock>,
}

/// What `Visitors` is built from.
pub struct Parts {
    pub widgets: Arc<dyn WidgetStore>,
    pub visitors: Arc<dyn VisitorStore>,
    pub conversation_store: Arc<dyn ConversationStore>,
    pub ledger: Arc<Ledger>,
    pub vault: Arc<Vault>,
    pub writer: Writer,
    pub conversations: Arc<Conversations>,
    pub consent: Arc<Consent>,
    pub contacts: Arc<Contacts>,
    pub rules: Arc<RoutingRules>,
    pub clock: Arc<dyn Clock>,
}

impl Visitors {
    pub fn new(p: Parts) -> Self {
        let Parts {
            widgets,
            visitors,
            conversation_store,
            ledger,
            vault,
            writer,
            conversations,
            consent,
            contacts,
            rules,
            clock,
        } = p;
        Self {
            widgets,
            visitors,
            conversation_store,
            ledger,
            vault,
            writer,
            conversations,
            consent,
            contacts,
            rules,
            clock,
        }
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A visitor by id (a channel's contact, for the outbox).
    pub async fn get(&self, id: VisitorId) -> AppResult<Option<VisitorRecord>> {
        Ok(self.visitors.visitor(id).await?)
    }

    pub async fn live_widget(&self, id: WidgetId) -> AppResult<WidgetRecord> {
        self.widgets.widget(id).await?.ok_or(AppError::NotFound)
    }

    /// Who the visitor is: the signed identity when given (refused unless
    /// the signature is right), else the token, else a new visitor. Each
    /// device gets its own token; the identity joins them.
    pub async fn visitor_hello(
        &self,
        widget: &WidgetRecord,
        token: Option<&str>,
        identity: Option<&Identity>,
    ) -> AppResult<Visitor> {
        let now = self.now();
        let known = match (identity, token) {
            (Some(identity), _) => {
                self.verify_identity(widget, identity)?;
                self.visitors
                    .visitor_by_external_index(
                        Source::Widget(widget.id),
                        &self.external_index(widget.id, &identity.user_id),
                    )
                    .await?
            }
            (None, Some(token)) => Some(
                self.visitors
                    .visitor_by_token(widget.id, &tokens::hash_token(token))
                    .await?
                    .ok_or(AppError::Conflict(crate::error::ErrorCode::InvalidToken))?,
            ),
            (None, None) => None,
        };
        let new_token = tokens::new_token();
        let record = match known {
            Some(v) => {
                if identity.is_some() || token.is_none() {
                    self.visitors.add_visitor_token(v.id, &tokens::hash_token(&new_token), now).await?;
                }
                v
            }
            None => {
                let id = VisitorId::random();
                // The visitor's own data key, made before anything of theirs is stored.
                let key = self.vault.subject_key(id, now).await?;
                let external = identity.map(|i| External {
                    index: self.external_index(widget.id, &i.user_id),
                    sealed: key.seal(&Purpose::ExternalId(id), i.user_id.as_bytes()),
                });
                let v = VisitorRecord { id, source: Source::Widget(widget.id), external, created_at: now };
                match self.visitors.create_visitor(&v, Some(&tokens::hash_token(&new_token))).await {
                    Ok(()) => v,
                    // The same signed user came in on two devices at once.
                    Err(StoreError::Conflict(_)) => {
                        self.vault.destroy_subject_key(id).await?;
                        let index = v.external.map(|e| e.index).unwrap_or_default();
                        let v = self
                            .visitors
                            .visitor_by_external_index(Source::Widget(widget.id), &index)
                            .await?
                            .ok_or(AppError::NotFound)?;
                        self.visitors.add_visitor_token(v.id, &tokens::hash_token(&new_token), now).await?;
                        v
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        // The company vouches for the user, and names them as it knows them.
        if let Some(name) = identity.and_then(|i| i.name.as_deref()) {
            self.contacts.name_from(record.id, name, ostrog_domain::contact::NameSource::Identity).await?;
        }
        let token = match (token, identity) {
            (Some(t), None) => t.to_string(),
            _ => new_token,
        };
        let conversation = self.conversation_store.conversation_of_visitor(record.id).await?;
        let consent = self.consent.accepted_consent(record.id).await?;
        Ok(Visitor { record, token, conversation, consent })
    }

    /// The visitor of `token` and their conversation, for the widget's
    /// REST calls (files); `Unauthenticated` for an unknown token.
    pub async fn visitor_conversation(&self, widget: WidgetId, token: &str) -> AppResult<ConversationRecord> {
        let visitor = self
            .visitors
            .visitor_by_token(widget, &tokens::hash_token(token))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        self.conversation_store
            .conversation_of_visitor(visitor.id)
            .await?
            .ok_or(AppError::Conflict(crate::error::ErrorCode::NoConversation))
    }

    /// The blind index a signed user of `widget` is found by.
    pub(crate) fn external_index(&self, widget: WidgetId, user: &str) -> String {
        external_index(&self.vault, widget, user)
    }

    /// HMAC-SHA256 of the user id under the widget's secret, hex, checked
    /// in constant time.
    fn verify_identity(&self, widget: &WidgetRecord, identity: &Identity) -> AppResult<()> {
        let user = identity.user_id.trim();
        if user.is_empty() || user.len() > 200 || user != identity.user_id {
            return Err(DomainError::Invalid("identity.user_id").into());
        }
        let secret = self.vault.open_sealed(&Purpose::WidgetSecret(widget.id), &widget.secret)?;
        let signature = hex::decode(identity.signature.trim())
            .map_err(|_| AppError::Conflict(crate::error::ErrorCode::IdentityRejected))?;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&secret).map_err(|e| AppError::Internal(format!("hmac key: {e}")))?;
        mac.update(user.as_bytes());
        mac.verify_slice(&signature).map_err(|_| AppError::Conflict(crate::error::ErrorCode::IdentityRejected))
    }

    /// The visitor writes, from `page` (as the widget said). Their first
    /// message opens the conversation and puts it in the queue, routed by
    /// the rules; the ack goes to the connection.
    pub async fn visitor_send(
        &self,
        visitor: &mut Visitor,
        client_id: Uuid,
        text: String,
        page: Option<&str>,
        reply: Reply,
    ) -> AppResult<ConversationId> {
        validate_text(&text)?;
        self.consent.check_consent(visitor)?;
        // A closed conversation takes the message too; the writer then reopens it.
        let conversation = match &visitor.conversation {
            Some(c) => c.id,
            None => self.open_conversation(visitor, &text, page).await?,
        };
        let author = Author::Visitor(visitor.record.id);
        let message = NewMessage {
            id: MessageId::random(),
            conversation_id: conversation,
            client_key: Some(author.client_key(client_id)),
            author,
            body: Body::Text(text),
            at: self.now(),
        };
        self.writer.submit(message, reply).await?;
        Ok(conversation)
    }

    async fn open_conversation(
        &self,
        visitor: &mut Visitor,
        text: &str,
        page: Option<&str>,
    ) -> AppResult<ConversationId> {
        let (source, mut language) = (visitor.record.source, None);
        if let Source::Widget(w) = source {
            language = self.widgets.widget(w).await?.map(|w| w.settings.language);
        }
        let start = Start {
            channel: "widget".into(),
            source: Some(rule_source(source)),
            page: page.map(str::to_string),
            language,
            text: text.to_string(),
            signed: visitor.record.external.is_some(),
        };
        let c = self.open_conversation_of(visitor.record.id, &start).await?;
        let id = c.id;
        visitor.conversation = Some(c);
        Ok(id)
    }

    /// The visitor's conversation, opened, routed by the rules and queued
    /// now (through `start.channel`) unless another device or delivery was first.
    pub(crate) async fn open_conversation_of(
        &self,
        visitor: VisitorId,
        start: &Start,
    ) -> AppResult<ConversationRecord> {
        let now = self.now();
        let c = ConversationRecord {
            id: ConversationId::random(),
            visitor_id: visitor,
            channel: start.channel.clone(),
            state: State::New,
            operator: None,
            last_seq: 0,
            created_at: now,
            updated_at: now,
        };
        match self.conversation_store.create_conversation(&c).await {
            Ok(()) => {
                if let Some(actions) = self.rules.decide(start).await? {
                    self.rules.apply(c.id, &actions).await?;
                }
                self.conversations.change(&c, State::Queued, Event::Queued, None).await?;
                Ok(ConversationRecord { state: State::Queued, ..c })
            }
            // Another device of the same visitor was first.
            Err(StoreError::Conflict(_)) => {
                Ok(self.conversation_store.conversation_of_visitor(visitor).await?.ok_or(AppError::NotFound)?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A 1–5 rating of the last closing, with an optional comment; once per
    /// closing (a repeat returns the first rating and changes nothing).
    pub async fn rate(&self, visitor: &Visitor, rating: u8, comment: Option<String>) -> AppResult<u8> {
        validate_rating(rating)?;
        let comment = rating_comment(comment)?;
        let id = visitor
            .conversation
            .as_ref()
            .map(|c| c.id)
            .ok_or(AppError::Conflict(crate::error::ErrorCode::ConversationClosed))?;
        let c = self.conversation_store.conversation(id).await?.ok_or(AppError::NotFound)?;
        if c.state != State::Closed {
            return Err(AppError::Conflict(crate::error::ErrorCode::ConversationClosed));
        }
        let recent = self.ledger.messages(id, 0, Some(c.last_seq + 1), 20).await?;
        let closing =
            recent.iter().rev().find(|m| matches!(m.body, Body::Event(Event::Closed { .. }))).map_or(0, |m| m.seq);
        let key = format!("rating:{id}:{closing}");
        let done = self.conversations.change(&c, State::Closed, Event::Rated { rating, comment }, Some(key)).await?;
        Ok(match done {
            Appended::Duplicate(MessageRecord { body: Body::Event(Event::Rated { rating: first, .. }), .. }) => first,
            _ => rating,
        })
    }
}

/// Where a visitor writes from, as the routing rules name it.
pub(crate) fn rule_source(source: Source) -> RuleSource {
    match source {
        Source::Widget(w) => RuleSource::Widget(w),
        Source::Channel(c) => RuleSource::Channel(c),
    }
}

/// The blind index a signed user of `widget` is found by; stored, so its
/// format is fixed (the legacy re-sealing computes it the same way).
pub(crate) fn external_index(vault: &Vault, widget: WidgetId, user: &str) -> String {
    vault.blind_index(crate::keys::purpose::Index::ExternalId, &format!("{widget}:{user}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::Harness;
    use ostrog_domain::role::Role;

    fn signed(secret_hex: &str, user: &str) -> Identity {
        let mut mac = Hmac::<Sha256>::new_from_slice(&hex::decode(secret_hex).unwrap()).unwrap();
        mac.update(user.as_bytes());
        Identity { user_id: user.into(), signature: hex::encode(mac.finalize().into_bytes()), name: None }
    }

    #[tokio::test]
    async fn a_token_brings_the_same_visitor_back_and_an_unknown_one_is_refused() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let first = chat.visitors.visitor_hello(&chat.widget, None, None).await.unwrap();
        assert!(first.conversation.is_none() && first.consent.is_none());
        let again = chat.visitors.visitor_hello(&chat.widget, Some(&first.token), None).await.unwrap();
        assert_eq!(again.record.id, first.record.id);
        assert_eq!(again.token, first.token, "the token is kept");
        let unknown = chat.visitors.visitor_hello(&chat.widget, Some("not-a-token"), None).await;
        assert!(matches!(unknown, Err(AppError::Conflict(crate::error::ErrorCode::InvalidToken))));
    }

    #[tokio::test]
    async fn a_signed_identity_joins_devices_and_a_wrong_signature_is_refused() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let phone = chat.visitors.visitor_hello(&chat.widget, None, Some(&signed(&chat.widget_secret, "u-42"))).await;
        let phone = phone.unwrap();
        let laptop = chat.visitors.visitor_hello(&chat.widget, None, Some(&signed(&chat.widget_secret, "u-42"))).await;
        let laptop = laptop.unwrap();
        assert_eq!(phone.record.id, laptop.record.id);
        assert_ne!(phone.token, laptop.token, "each device its own token");

        let forged = signed(&hex::encode([1u8; 32]), "u-42");
        let refused = chat.visitors.visitor_hello(&chat.widget, None, Some(&forged)).await;
        assert!(matches!(refused, Err(AppError::Conflict(crate::error::ErrorCode::IdentityRejected))));
        let padded = Identity { user_id: " u-42".into(), ..signed(&chat.widget_secret, " u-42") };
        assert!(matches!(
            chat.visitors.visitor_hello(&chat.widget, None, Some(&padded)).await,
            Err(AppError::Domain(_))
        ));
    }

    #[tokio::test]
    async fn a_rating_needs_a_closed_conversation_and_counts_once_per_closing() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let supervisor = t.caller(Role::OperatorSupervisor).await;
        let mut visitor = chat.visitors.visitor_hello(&chat.widget, None, None).await.unwrap();
        assert!(matches!(
            chat.visitors.rate(&visitor, 5, None).await,
            Err(AppError::Conflict(crate::error::ErrorCode::ConversationClosed))
        ));

        let c = chat
            .visitors
            .open_conversation_of(visitor.record.id, &ostrog_domain::rule::Start::through("widget"))
            .await
            .unwrap();
        visitor.conversation = Some(c.clone());
        assert!(matches!(
            chat.visitors.rate(&visitor, 5, None).await,
            Err(AppError::Conflict(crate::error::ErrorCode::ConversationClosed))
        ));
        chat.conversations.close(&supervisor.actor, c.id).await.unwrap();
        assert!(chat.visitors.rate(&visitor, 0, None).await.is_err(), "1 to 5");
        let long = Some("ж".repeat(ostrog_domain::message::MAX_RATING_COMMENT_CHARS + 1));
        assert!(chat.visitors.rate(&visitor, 4, long).await.is_err(), "a comment of at most 1,000 characters");
        let comment = Some("  Долго ждал ответа\n".to_string());
        assert_eq!(chat.visitors.rate(&visitor, 4, comment).await.unwrap(), 4);
        assert_eq!(chat.visitors.rate(&visitor, 2, None).await.unwrap(), 4, "the first rating stays");
        let events = chat.conversations.history(&supervisor, c.id, 0, None, 50).await.unwrap();
        let rated: Vec<_> = events
            .iter()
            .filter_map(|m| match &m.body {
                Body::Event(Event::Rated { rating, comment }) => Some((*rating, comment.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(rated, [(4, Some("Долго ждал ответа".to_string()))], "trimmed, kept once with its rating");
    }

    #[tokio::test]
    async fn a_visitor_cannot_write_while_a_required_consent_is_missing() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let admin = chat.admin.clone();
        chat.consent.set_consent_settings(&admin, true, "We process your data.".into(), 30).await.unwrap();
        let mut visitor = chat.visitors.visitor_hello(&chat.widget, None, None).await.unwrap();
        let reply = Reply::Ack { conn: 0, client_id: Uuid::new_v4() };
        let refused = chat.visitors.visitor_send(&mut visitor, Uuid::new_v4(), "hello".into(), None, reply).await;
        assert!(matches!(refused, Err(AppError::Conflict(crate::error::ErrorCode::ConsentRequired))));
        assert!(visitor.conversation.is_none(), "nothing was opened");

        chat.consent.record_consent(&mut visitor, 1, true, "widget", None).await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let id = chat.visitors.visitor_send(&mut visitor, Uuid::new_v4(), "hello".into(), None, Reply::Wait(tx)).await;
        let id = id.unwrap();
        assert!(rx.await.unwrap().is_ok(), "stored");
        assert_eq!(chat.conversations.get(id).await.unwrap().unwrap().state, State::Queued);
    }
}
