//! Messenger channels, connected and changed by holders of
//! `channels.manage`, and what every channel shares: a messenger's user
//! becomes a contact with a conversation like a widget visitor's, and each
//! file they send is fetched and scanned like any upload.
//!
//! Secrets are write-only: they go into the vault sealed and come out only
//! here, to talk to the messenger. What the API shows of them is which are
//! set, when they were last changed and by whom.

use crate::channels::{Channels, Connector, Inbound, OutBody, Outgoing, SendError};
use crate::error::{AppError, AppResult};
use crate::files::cipher::Part;
use crate::keys::purpose::Purpose;
use crate::keys::{Ledger, Vault};
use crate::realtime::Signals;
use crate::realtime::hub::Hub;
use crate::realtime::writer::Writer;
use crate::services::auditor::{Auditor, Ctx};
use crate::services::caller::Caller;
use crate::services::contacts::Contacts;
use crate::services::files::{Files, Upload};
use crate::services::visitors::Visitors;
use futures_util::TryStreamExt;
use ostrog_domain::DomainError;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::channel::{ChannelKind, ChannelSecrets, ChannelSettings, TelegramMode};
use ostrog_domain::clock::Clock;
use ostrog_domain::conversation::visible_to;
use ostrog_domain::ids::{ChannelId, ConversationId, MessageId, VisitorId};
use ostrog_domain::message::{Author, Body, MAX_TEXT_CHARS};
use ostrog_domain::rule::{Source as RuleSource, Start};
use ostrog_store::{
    Appended, Attempt, ChannelRecord, ChannelStore, ConversationRecord, ConversationStore, Delivery, External,
    MessageStore, NewMessage, Source, StoreError, VisitorRecord, VisitorStore,
};
use rand::RngCore;
use serde_json::json;
use std::sync::Arc;

/// What one inbound update did.
#[derive(Debug)]
pub struct Received {
    pub conversation: ConversationId,
    /// The stored messages (text first, then files), or those stored before
    /// when this is a repeat.
    pub messages: Vec<MessageId>,
}

pub struct ChannelAdmin {
    channels: Arc<dyn ChannelStore>,
    conversations: Arc<dyn ConversationStore>,
    visitor_store: Arc<dyn VisitorStore>,
    messages: Arc<dyn MessageStore>,
    ledger: Arc<Ledger>,
    vault: Arc<Vault>,
    /// The messengers' connections and policies.
    connectors: Arc<Channels>,
    writer: Writer,
    hub: Arc<Hub>,
    signals: Arc<Signals>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
    visitors: Arc<Visitors>,
    contacts: Arc<Contacts>,
    files: Arc<Files>,
    /// Where messengers call the hooks.
    public_url: String,
}

/// What `ChannelAdmin` is built from.
pub struct Parts {
    pub channels: Arc<dyn ChannelStore>,
    pub conversations: Arc<dyn ConversationStore>,
    pub visitor_store: Arc<dyn VisitorStore>,
    pub messages: Arc<dyn MessageStore>,
    pub ledger: Arc<Ledger>,
    pub vault: Arc<Vault>,
    pub connectors: Arc<Channels>,
    pub writer: Writer,
    pub hub: Arc<Hub>,
    pub signals: Arc<Signals>,
    pub auditor: Arc<Auditor>,
    pub clock: Arc<dyn Clock>,
    pub visitors: Arc<Visitors>,
    pub contacts: Arc<Contacts>,
    pub files: Arc<Files>,
    pub public_url: String,
}

impl ChannelAdmin {
    pub fn new(p: Parts) -> Self {
        Self {
            channels: p.channels,
            conversations: p.conversations,
            visitor_store: p.visitor_store,
            messages: p.messages,
            ledger: p.ledger,
            vault: p.vault,
            connectors: p.connectors,
            writer: p.writer,
            hub: p.hub,
            signals: p.signals,
            auditor: p.auditor,
            clock: p.clock,
            visitors: p.visitors,
            contacts: p.contacts,
            files: p.files,
            public_url: p.public_url,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A channel, connected or not found.
    pub async fn channel(&self, id: ChannelId) -> AppResult<Option<ChannelRecord>> {
        Ok(self.channels.channel(id).await?)
    }

    /// Where a polling channel goes on from: past the last update stored.
    pub async fn set_poll_offset(&self, id: ChannelId, offset: i64) -> AppResult<()> {
        Ok(self.channels.set_poll_offset(id, offset).await?)
    }

    /// Replies due to be sent now, for the outbox.
    pub async fn due_deliveries(&self, limit: u32) -> AppResult<Vec<Delivery>> {
        Ok(self.channels.due_deliveries(self.now(), limit).await?)
    }

    /// Records what one try of a delivery did and tells the employees who
    /// watch its conversation.
    pub async fn record_attempt(&self, d: &Delivery, attempt: &Attempt) -> AppResult<()> {
        if self.channels.record_attempt(d.message_id, attempt).await?
            && let Ok(Some(now)) = self.channels.delivery(d.message_id).await
        {
            self.hub.publish_to_employees(now.conversation_id, crate::realtime::frames::delivery(&now));
        }
        Ok(())
    }

    /// What a delivery sends, and through which connector: the reply, its
    /// contact's address. Refused for good when any of it is gone.
    pub async fn outgoing(&self, d: &Delivery) -> Result<(Connector, Outgoing), SendError> {
        let unavailable = |_| SendError::retry("storage is unavailable");
        let gone = |what: &str| SendError::Permanent(format!("the {what} no longer exists"));
        let channel = self.channels.channel(d.channel_id).await.map_err(unavailable)?.ok_or_else(|| gone("channel"))?;
        self.connectors.check_address(channel.settings.api_base())?;
        let connector: Connector = self
            .connector(&channel)
            .map_err(|_| SendError::Permanent("the channel's secrets cannot be read".into()))?;
        let conversation = self
            .conversations
            .conversation(d.conversation_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| gone("conversation"))?;
        let visitor = self
            .visitor_store
            .visitor(conversation.visitor_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| gone("contact"))?;
        let contact = self.contact_address(&visitor).await.map_err(|_| gone("contact's address"))?;
        let page = self
            .ledger
            .messages(d.conversation_id, d.seq - 1, Some(d.seq + 1), 1)
            .await
            .map_err(|_| SendError::retry("storage is unavailable"))?;
        let message = page.into_iter().next().ok_or_else(|| gone("reply"))?;
        let body = match message.body {
            Body::Text(text) => OutBody::Text(text),
            Body::File(attachment) => {
                let record = self
                    .files
                    .get(attachment.file_id)
                    .await
                    .map_err(|_| SendError::retry("storage is unavailable"))?
                    .ok_or_else(|| gone("file"))?;
                let (record, stream) = self.files.open_file(record, Part::Original).await.map_err(|_| gone("file"))?;
                let chunks: Vec<_> =
                    stream.try_collect().await.map_err(|_| SendError::retry("the file could not be read"))?;
                OutBody::File { name: attachment.name, content_type: record.content_type, bytes: chunks.concat() }
            }
            _ => return Err(SendError::Permanent("only texts and files go to a messenger".into())),
        };
        let out =
            Outgoing { contact, message_id: message.id.0, conversation_id: d.conversation_id.0, at: message.at, body };
        Ok((connector, out))
    }

    pub fn channel_secrets(&self, c: &ChannelRecord) -> AppResult<ChannelSecrets> {
        let plain = self.vault.open_sealed(&Purpose::ChannelSecrets(c.id), &c.secrets)?;
        serde_json::from_slice(&plain).map_err(|_| AppError::Internal("channel secrets do not parse".into()))
    }

    fn seal_channel_secrets(&self, id: ChannelId, s: &ChannelSecrets) -> AppResult<Vec<u8>> {
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(s).map_err(|e| AppError::Internal(e.to_string()))?);
        Ok(self.vault.seal(&Purpose::ChannelSecrets(id), &plain))
    }

    pub fn connector(&self, c: &ChannelRecord) -> AppResult<Connector> {
        Connector::new(c.id, &c.settings, &self.channel_secrets(c)?)
            .ok_or_else(|| AppError::Internal("a channel lacks a secret its kind needs".into()))
    }

    /// A channel that is connected, for its hook: `NotFound` otherwise.
    pub async fn live_channel(&self, id: ChannelId, kind: ChannelKind) -> AppResult<(ChannelRecord, Connector)> {
        let c = self.channels.channel(id).await?.filter(|c| c.settings.kind() == kind).ok_or(AppError::NotFound)?;
        let connector = self.connector(&c)?;
        Ok((c, connector))
    }

    pub async fn list_channels(&self) -> AppResult<Vec<ChannelRecord>> {
        Ok(self.channels.list_channels().await?)
    }

    /// Connects a channel: checks the token with the messenger, registers
    /// the webhook, stores the secrets sealed. Returns the channel and, for
    /// the webhook channel, its signing key (hex), shown this once.
    pub async fn connect_channel(
        &self,
        caller: &Caller,
        name: String,
        settings: ChannelSettings,
        mut secrets: ChannelSecrets,
    ) -> AppResult<(ChannelRecord, Option<String>)> {
        let name = valid_name(name)?;
        let settings = settings.validated()?;
        secrets.validate_given(settings.kind())?;
        let id = ChannelId::random();
        let shown = self.complete_secrets(&settings, &mut secrets);
        self.register(id, &settings, &secrets).await?;
        let now = self.now();
        let record = ChannelRecord {
            id,
            name,
            secrets: self.seal_channel_secrets(id, &secrets)?,
            settings,
            secrets_changed_at: now,
            secrets_changed_by: Some(caller.employee.id),
            poll_offset: 0,
            created_at: now,
        };
        self.channels.create_channel(&record).await?;
        let details = json!({"kind": record.settings.kind(), "name": record.name,
            "api_base": record.settings.api_base(), "secrets": record.settings.kind().secret_names()});
        self.auditor
            .audit(&caller.ctx(), Action::ChannelConnected, Some(id.to_string()), Outcome::Success, details)
            .await?;
        Ok((record, shown))
    }

    /// Name and settings; a changed address or mode registers again.
    pub async fn change_channel(
        &self,
        caller: &Caller,
        id: ChannelId,
        name: String,
        settings: ChannelSettings,
    ) -> AppResult<ChannelRecord> {
        let (name, settings) = (valid_name(name)?, settings.validated()?);
        let before = self.channels.channel(id).await?.ok_or(AppError::NotFound)?;
        if before.settings.kind() != settings.kind() {
            return Err(DomainError::Invalid("settings.kind").into());
        }
        if before.settings != settings {
            self.register(id, &settings, &self.channel_secrets(&before)?).await?;
        }
        self.channels.update_channel(id, &name, &settings).await?;
        let details =
            json!({"name": name, "api_base": settings.api_base(), "settings_changed": before.settings != settings});
        self.auditor
            .audit(&caller.ctx(), Action::ChannelChanged, Some(id.to_string()), Outcome::Success, details)
            .await?;
        self.channels.channel(id).await?.ok_or(AppError::NotFound)
    }

    /// Replaces the secrets; the old ones stop working at once. Returns the
    /// new signing key of a webhook channel.
    pub async fn rotate_channel_secrets(
        &self,
        caller: &Caller,
        id: ChannelId,
        mut secrets: ChannelSecrets,
    ) -> AppResult<Option<String>> {
        let c = self.channels.channel(id).await?.ok_or(AppError::NotFound)?;
        secrets.validate_given(c.settings.kind())?;
        let shown = self.complete_secrets(&c.settings, &mut secrets);
        self.register(id, &c.settings, &secrets).await?;
        let sealed = self.seal_channel_secrets(id, &secrets)?;
        self.channels.set_channel_secrets(id, &sealed, self.now(), Some(caller.employee.id)).await?;
        let details = json!({"secrets": c.settings.kind().secret_names()});
        self.auditor
            .audit(&caller.ctx(), Action::ChannelSecretsRotated, Some(id.to_string()), Outcome::Success, details)
            .await?;
        Ok(shown)
    }

    /// Disconnects: Telegram stops calling, the hooks answer 404, replies
    /// still waiting fail with the reason. Conversations and history stay.
    pub async fn disconnect_channel(&self, caller: &Caller, id: ChannelId) -> AppResult<()> {
        let c = self.channels.channel(id).await?.ok_or(AppError::NotFound)?;
        if let Ok(Connector::Telegram(bot)) = self.connector(&c) {
            // Best effort: a messenger that is down must not keep a channel connected.
            if let Err(e) = bot.delete_webhook(&self.connectors.http).await {
                tracing::warn!(channel = %id, reason = %e, "could not remove the Telegram webhook");
            }
        }
        self.channels.delete_channel(id, self.now(), "the channel was disconnected").await?;
        let details = json!({"kind": c.settings.kind(), "name": c.name});
        self.auditor
            .audit(&caller.ctx(), Action::ChannelDisconnected, Some(id.to_string()), Outcome::Success, details)
            .await
    }

    /// What the server makes itself: Telegram's webhook secret, the webhook
    /// channel's signing key (returned, to be shown once).
    fn complete_secrets(&self, settings: &ChannelSettings, secrets: &mut ChannelSecrets) -> Option<String> {
        match settings.kind() {
            ChannelKind::Telegram => {
                secrets.webhook_secret = Some(crate::auth::tokens::new_token());
                None
            }
            ChannelKind::Webhook => {
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                secrets.signing_key = Some(hex::encode(key));
                secrets.signing_key.clone()
            }
            ChannelKind::Vk => None,
        }
    }

    /// Checks the secrets with the messenger and tells it where to call.
    async fn register(&self, id: ChannelId, settings: &ChannelSettings, secrets: &ChannelSecrets) -> AppResult<()> {
        let connector = Connector::new(id, settings, secrets).ok_or(DomainError::Invalid("secrets"))?;
        let http = &self.connectors.http;
        let refused = |e: SendError| AppError::ChannelRefused(e.to_string());
        self.connectors.check_address(settings.api_base()).map_err(refused)?;
        match (&connector, settings) {
            (Connector::Telegram(bot), ChannelSettings::Telegram { mode, .. }) => {
                bot.get_me(http).await.map_err(refused)?;
                match mode {
                    TelegramMode::Webhook => {
                        let url = format!("{}/api/v1/hooks/telegram/{id}", self.public_url);
                        let secret = secrets.webhook_secret.as_deref().unwrap_or_default();
                        bot.set_webhook(http, &url, secret).await.map_err(refused)?;
                    }
                    TelegramMode::Polling => bot.delete_webhook(http).await.map_err(refused)?,
                }
            }
            (Connector::Vk(community), _) => community.check(http).await.map_err(refused)?,
            _ => {}
        }
        self.connectors.pollers_changed();
        self.hub.tell_others(crate::realtime::event::Event::Pollers);
        Ok(())
    }

    pub async fn dead_letters(&self, id: ChannelId) -> AppResult<Vec<Delivery>> {
        self.channels.channel(id).await?.ok_or(AppError::NotFound)?;
        Ok(self.channels.dead_letters(id, 200).await?)
    }

    pub async fn retry_dead_letter(&self, caller: &Caller, id: ChannelId, message: MessageId) -> AppResult<()> {
        let d = self.channels.delivery(message).await?.filter(|d| d.channel_id == id).ok_or(AppError::NotFound)?;
        if !self.channels.requeue_delivery(d.message_id, self.now()).await? {
            return Err(AppError::Conflict(crate::error::ErrorCode::NotFailed));
        }
        self.signals.deliver();
        let details = json!({"message_id": message, "conversation": d.conversation_id});
        self.auditor
            .audit(&caller.ctx(), Action::ChannelDeliveryRetried, Some(id.to_string()), Outcome::Success, details)
            .await
    }

    /// The delivery of each reply of a conversation the caller may see.
    pub async fn deliveries(&self, caller: &Caller, conversation: ConversationId) -> AppResult<Vec<Delivery>> {
        let c = self.conversations.conversation(conversation).await?.ok_or(AppError::NotFound)?;
        if !visible_to(&caller.actor, c.operator) {
            return Err(AppError::Forbidden);
        }
        Ok(self.channels.deliveries_of(conversation).await?)
    }

    /// Stores what a messenger's user sent: their contact and conversation
    /// (made on first contact), the text, and each file once it is fetched
    /// and found clean. Returns once everything is stored, so the hook can
    /// acknowledge; a repeat of the same update stores nothing again.
    pub async fn receive_from_channel(
        &self,
        channel: &ChannelRecord,
        connector: &Connector,
        inbound: Inbound,
    ) -> AppResult<Received> {
        let visitor = self.contact(channel, &inbound.contact).await?;
        if let Some(name) = &inbound.name {
            let source = ostrog_domain::contact::NameSource::Messenger;
            self.contacts.name_from(visitor, name, source).await?;
        }
        let conversation = match self.conversations.conversation_of_visitor(visitor).await? {
            Some(c) => c,
            None => {
                let start = Start {
                    source: Some(RuleSource::Channel(channel.id)),
                    text: inbound.text.clone().unwrap_or_default(),
                    ..Start::through(channel.settings.kind().name())
                };
                self.visitors.open_conversation_of(visitor, &start).await?
            }
        };
        let author = Author::Visitor(visitor);
        let mut messages = Vec::new();
        // Telegram allows 4,096 characters, the conversation 4,000: longer
        // texts arrive as several messages rather than cut.
        let text = inbound.text.unwrap_or_default();
        let chars: Vec<char> = text.trim().chars().collect();
        for (i, part) in chars.chunks(MAX_TEXT_CHARS).enumerate() {
            let key = if i == 0 { inbound.key.clone() } else { format!("{}#{i}", inbound.key) };
            let body = Body::Text(part.iter().collect());
            let message = NewMessage {
                id: MessageId::random(),
                conversation_id: conversation.id,
                client_key: Some(key),
                author,
                body,
                at: self.now(),
            };
            messages.push(self.writer.write(message).await?.message().id);
        }
        for (i, file) in inbound.files.iter().enumerate() {
            let key = format!("{}:file{i}", inbound.key);
            if let Some(done) = self.messages.message_by_client_key(&key).await? {
                messages.push(done.id);
                continue;
            }
            match self.fetch_and_receive(&conversation, connector, file, visitor, key).await {
                Ok(stored) => messages.push(stored.message().id),
                // Refused files are audited (malware) or simply not taken; the
                // update is still acknowledged, or it would come back forever.
                Err(
                    AppError::FileInfected(_)
                    | AppError::FileTooLarge(_)
                    | AppError::FileTypeNotAllowed(_)
                    | AppError::ArchiveTooLarge(_),
                ) => {}
                Err(AppError::ChannelRefused(reason)) => {
                    tracing::warn!(channel = %channel.id, %reason, "a file of a channel's contact could not be fetched");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Received { conversation: conversation.id, messages })
    }

    async fn fetch_and_receive(
        &self,
        conversation: &ConversationRecord,
        connector: &Connector,
        file: &crate::channels::RemoteFile,
        visitor: VisitorId,
        key: String,
    ) -> AppResult<Appended> {
        if file.size.is_some_and(|size| size > self.files.limits().max_bytes) {
            return Err(AppError::FileTooLarge(self.files.limits().max_bytes));
        }
        let refused = |e: SendError| AppError::ChannelRefused(e.to_string());
        if let crate::channels::Location::Url(url) = &file.location {
            self.connectors.check_address(url).map_err(refused)?;
        }
        let response = connector.fetch(&self.connectors.http, file).await.map_err(refused)?;
        // The address of a download may hold a token: errors lose it.
        let body = Box::pin(response.bytes_stream().map_err(|e| e.without_url()));
        let up = Upload {
            conversation: conversation.id,
            uploader: Author::Visitor(visitor),
            name: file.name.clone(),
            client_key: Some(key),
        };
        let ctx = Ctx { actor: None, ip: None, user_agent: Some(format!("channel {}", connector.kind().name())) };
        self.files.receive_file(up, body, &ctx).await
    }

    /// The contact of a messenger's user, made on first contact. The user's
    /// id is kept only as a blind index and sealed by the contact's own key.
    async fn contact(&self, channel: &ChannelRecord, user: &str) -> AppResult<VisitorId> {
        let source = Source::Channel(channel.id);
        let index =
            self.vault.blind_index(crate::keys::purpose::Index::ChannelContact, &format!("{}:{user}", channel.id));
        if let Some(v) = self.visitor_store.visitor_by_external_index(source, &index).await? {
            return Ok(v.id);
        }
        let id = VisitorId::random();
        let key = self.vault.subject_key(id, self.now()).await?;
        let external = External { index: index.clone(), sealed: key.seal(&Purpose::ExternalId(id), user.as_bytes()) };
        let v = VisitorRecord { id, source, external: Some(external), created_at: self.now() };
        match self.visitor_store.create_visitor(&v, None).await {
            Ok(()) => Ok(id),
            // Two updates of a new contact at once: the other one made it.
            Err(StoreError::Conflict(_)) => {
                self.vault.destroy_subject_key(id).await?;
                Ok(self.visitor_store.visitor_by_external_index(source, &index).await?.ok_or(AppError::NotFound)?.id)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Where replies to a contact go: the messenger's user id, opened.
    pub(crate) async fn contact_address(&self, visitor: &VisitorRecord) -> AppResult<String> {
        let external = visitor.external.as_ref().ok_or(AppError::NotFound)?;
        let key = self.vault.subject_keys(&[visitor.id], None).await?.remove(&visitor.id).ok_or(AppError::NotFound)?;
        let plain = key.open(&Purpose::ExternalId(visitor.id), &external.sealed)?;
        Ok(String::from_utf8_lossy(&plain).into_owned())
    }
}

fn valid_name(name: String) -> AppResult<String> {
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(DomainError::Invalid("name").into());
    }
    Ok(name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::{Harness, START};
    use ostrog_domain::conversation::State;
    use ostrog_domain::role::Role;
    use ostrog_store::AuditFilter;

    /// A webhook channel stored as connecting one would, with its connector.
    async fn webhook(chat: &crate::services::testing::Chat, t: &Harness) -> (ChannelRecord, Connector) {
        let id = ChannelId::random();
        let secrets = ChannelSecrets { signing_key: Some(hex::encode([3u8; 32])), ..Default::default() };
        let record = ChannelRecord {
            id,
            name: "Site".into(),
            settings: ChannelSettings::Webhook { url: "https://hooks.example/ostrog".into() },
            secrets: chat.channels.seal_channel_secrets(id, &secrets).unwrap(),
            secrets_changed_at: START,
            secrets_changed_by: None,
            poll_offset: 0,
            created_at: START,
        };
        t.store.create_channel(&record).await.unwrap();
        let connector = chat.channels.connector(&record).unwrap();
        (record, connector)
    }

    #[tokio::test]
    async fn an_update_makes_a_contact_and_a_queued_conversation_once_and_long_texts_are_split() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let (channel, connector) = webhook(&chat, &t).await;
        let text = "a".repeat(MAX_TEXT_CHARS + 10);
        let inbound = || Inbound {
            key: "webhook:1".into(),
            contact: "user-7".into(),
            name: None,
            text: Some(text.clone()),
            files: vec![],
        };
        let first = chat.channels.receive_from_channel(&channel, &connector, inbound()).await.unwrap();
        assert_eq!(first.messages.len(), 2, "split, not cut");
        let c = chat.conversations.get(first.conversation).await.unwrap().unwrap();
        assert_eq!((c.state, c.channel.as_str()), (State::Queued, "webhook"));

        let repeat = chat.channels.receive_from_channel(&channel, &connector, inbound()).await.unwrap();
        assert_eq!(repeat.conversation, first.conversation);
        assert_eq!(repeat.messages, first.messages, "a repeated update stores nothing new");

        let visitor = chat.visitors.get(c.visitor_id).await.unwrap().unwrap();
        assert_eq!(chat.channels.contact_address(&visitor).await.unwrap(), "user-7", "sealed, and opened for replies");
    }

    #[tokio::test]
    async fn deliveries_and_dead_letters_are_refused_outside_what_the_caller_may_see() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let (operator, admin) = (t.caller(Role::Operator).await, chat.admin.clone());
        let c = chat.queued().await;
        assert!(matches!(chat.channels.deliveries(&operator, c.id).await, Err(AppError::Forbidden)));
        assert!(chat.channels.deliveries(&admin, c.id).await.unwrap().is_empty());
        assert!(matches!(chat.channels.dead_letters(ChannelId::random()).await, Err(AppError::NotFound)));
        let retry = chat.channels.retry_dead_letter(&admin, ChannelId::random(), MessageId::random()).await;
        assert!(matches!(retry, Err(AppError::NotFound)));

        let unnamed = ChannelSettings::Webhook { url: "https://hooks.example/ostrog".into() };
        let refused = chat.channels.connect_channel(&admin, " ".into(), unnamed, ChannelSecrets::default()).await;
        assert!(matches!(refused, Err(AppError::Domain(_))));
        assert!(chat.channels.list_channels().await.unwrap().is_empty());
        let log = t.store.audit_entries(&AuditFilter::default(), 0, 10).await.unwrap();
        assert!(log.iter().all(|e| e.event.action == "widget.created"), "nothing but the fixture's widget");
    }
}
