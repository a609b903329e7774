//! The visitor's side: coming in (anonymous, back with a token, or with a
//! signed identity), writing, and rating a closed conversation.

use crate::app::App;
use crate::auth::tokens;
use crate::error::{AppError, AppResult};
use crate::keys::purpose::Purpose;
use crate::realtime::frames::Identity;
use crate::realtime::writer::Reply;
use hmac::{Hmac, Mac};
use ostrog_domain::DomainError;
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ConversationId, MessageId, VisitorId, WidgetId};
use ostrog_domain::message::{Author, Body, Event, validate_rating, validate_text};
use ostrog_store::{
    Appended, ConversationRecord, External, MessageRecord, NewMessage, Source, StoreError, VisitorRecord, WidgetRecord,
};
use sha2::Sha256;
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

impl App {
    pub async fn live_widget(&self, id: WidgetId) -> AppResult<WidgetRecord> {
        self.store.widget(id).await?.ok_or(AppError::NotFound)
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
                self.store
                    .visitor_by_external_index(
                        Source::Widget(widget.id),
                        &self.external_index(widget.id, &identity.user_id),
                    )
                    .await?
            }
            (None, Some(token)) => Some(
                self.store
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
                    self.store.add_visitor_token(v.id, &tokens::hash_token(&new_token), now).await?;
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
                match self.store.create_visitor(&v, Some(&tokens::hash_token(&new_token))).await {
                    Ok(()) => v,
                    // The same signed user came in on two devices at once.
                    Err(StoreError::Conflict(_)) => {
                        self.vault.destroy_subject_key(id).await?;
                        let index = v.external.map(|e| e.index).unwrap_or_default();
                        let v = self
                            .store
                            .visitor_by_external_index(Source::Widget(widget.id), &index)
                            .await?
                            .ok_or(AppError::NotFound)?;
                        self.store.add_visitor_token(v.id, &tokens::hash_token(&new_token), now).await?;
                        v
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let token = match (token, identity) {
            (Some(t), None) => t.to_string(),
            _ => new_token,
        };
        let conversation = self.store.conversation_of_visitor(record.id).await?;
        let consent = self.accepted_consent(record.id).await?;
        Ok(Visitor { record, token, conversation, consent })
    }

    /// The visitor of `token` and their conversation, for the widget's
    /// REST calls (files); `Unauthenticated` for an unknown token.
    pub async fn visitor_conversation(&self, widget: WidgetId, token: &str) -> AppResult<ConversationRecord> {
        let visitor =
            self.store.visitor_by_token(widget, &tokens::hash_token(token)).await?.ok_or(AppError::Unauthenticated)?;
        self.store
            .conversation_of_visitor(visitor.id)
            .await?
            .ok_or(AppError::Conflict(crate::error::ErrorCode::NoConversation))
    }

    /// The blind index a signed user of `widget` is found by.
    pub(crate) fn external_index(&self, widget: WidgetId, user: &str) -> String {
        self.vault.blind_index(crate::keys::purpose::Index::ExternalId, &format!("{widget}:{user}"))
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

    /// The visitor writes. Their first message opens the conversation and
    /// puts it in the queue; the ack goes to the connection.
    pub async fn visitor_send(
        &self,
        visitor: &mut Visitor,
        client_id: Uuid,
        text: String,
        reply: Reply,
    ) -> AppResult<ConversationId> {
        validate_text(&text)?;
        self.check_consent(visitor)?;
        // A closed conversation takes the message too; the writer then reopens it.
        let conversation = match &visitor.conversation {
            Some(c) => c.id,
            None => self.open_conversation(visitor).await?,
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
        self.realtime.writer.submit(message, reply).await?;
        Ok(conversation)
    }

    async fn open_conversation(&self, visitor: &mut Visitor) -> AppResult<ConversationId> {
        let c = self.open_conversation_of(visitor.record.id, "widget").await?;
        let id = c.id;
        visitor.conversation = Some(c);
        Ok(id)
    }

    /// The visitor's conversation, opened and queued now (through `channel`)
    /// unless another device or delivery was first.
    pub(crate) async fn open_conversation_of(
        &self,
        visitor: VisitorId,
        channel: &str,
    ) -> AppResult<ConversationRecord> {
        let now = self.now();
        let c = ConversationRecord {
            id: ConversationId::random(),
            visitor_id: visitor,
            channel: channel.into(),
            state: State::New,
            operator: None,
            last_seq: 0,
            created_at: now,
            updated_at: now,
        };
        match self.store.create_conversation(&c).await {
            Ok(()) => {
                self.change(&c, State::Queued, Event::Queued, None).await?;
                Ok(ConversationRecord { state: State::Queued, ..c })
            }
            // Another device of the same visitor was first.
            Err(StoreError::Conflict(_)) => {
                Ok(self.store.conversation_of_visitor(visitor).await?.ok_or(AppError::NotFound)?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A 1–5 rating of the last closing; once per closing (a repeat returns
    /// the first rating).
    pub async fn rate(&self, visitor: &Visitor, rating: u8) -> AppResult<u8> {
        validate_rating(rating)?;
        let id = visitor
            .conversation
            .as_ref()
            .map(|c| c.id)
            .ok_or(AppError::Conflict(crate::error::ErrorCode::ConversationClosed))?;
        let c = self.store.conversation(id).await?.ok_or(AppError::NotFound)?;
        if c.state != State::Closed {
            return Err(AppError::Conflict(crate::error::ErrorCode::ConversationClosed));
        }
        let recent = self.ledger.messages(id, 0, Some(c.last_seq + 1), 20).await?;
        let closing =
            recent.iter().rev().find(|m| matches!(m.body, Body::Event(Event::Closed { .. }))).map_or(0, |m| m.seq);
        let key = format!("rating:{id}:{closing}");
        let done = self.change(&c, State::Closed, Event::Rated { rating }, Some(key)).await?;
        Ok(match done {
            Appended::Duplicate(MessageRecord { body: Body::Event(Event::Rated { rating: first }), .. }) => first,
            _ => rating,
        })
    }
}
