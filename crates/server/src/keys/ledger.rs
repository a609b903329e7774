//! The message path through the vault: message bodies are sealed by the key
//! of the conversation's visitor on the way into the store, opened on the
//! way out, and made searchable through blind-index terms. Everything above
//! this speaks plain `Body`; the store only ever holds `SealedBody`.
//!
//! Search terms are written with the messages, in the writer's transaction:
//! an acknowledged message is searchable whatever happens to the process
//! next (terms held in memory for a separate indexer were lost at every
//! crash, and its transaction deadlocked with the writer's on PostgreSQL).

use super::purpose::Purpose;
use super::{DataKey, Vault};
use ostrog_domain::clock::Clock;
use ostrog_domain::ids::{ConversationId, MessageId, VisitorId};
use ostrog_domain::message::Body;
use ostrog_store::{
    Appended, Change, ChannelMessage, Content, MessageRecord, NewMessage, SealedBody, Store, StoreError, StoreResult,
    Term,
};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Conversations whose visitor is remembered before the map starts over.
const CACHED_OWNERS: usize = 100_000;

pub struct Ledger {
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    clock: Arc<dyn Clock>,
    /// A conversation's visitor never changes: remembered once looked up.
    owners: Mutex<HashMap<ConversationId, VisitorId>>,
}

type Keys = HashMap<ConversationId, Arc<DataKey>>;

impl Ledger {
    pub fn new(store: Arc<dyn Store>, vault: Arc<Vault>, clock: Arc<dyn Clock>) -> Self {
        Self { store, vault, clock, owners: Mutex::new(HashMap::new()) }
    }

    /// The visitors of these conversations; missing conversations are absent.
    async fn owners(&self, conversations: &[ConversationId]) -> StoreResult<HashMap<ConversationId, VisitorId>> {
        let mut found = HashMap::new();
        let mut missing = HashSet::new();
        {
            let owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
            for c in conversations {
                match owners.get(c) {
                    Some(v) => {
                        found.insert(*c, *v);
                    }
                    None => {
                        missing.insert(*c);
                    }
                }
            }
        }
        for c in missing {
            if let Some(record) = self.store.conversation(c).await? {
                found.insert(c, record.visitor_id);
            }
        }
        let mut owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
        if owners.len() + found.len() > CACHED_OWNERS {
            owners.clear();
        }
        owners.extend(found.iter().map(|(c, v)| (*c, *v)));
        Ok(found)
    }

    /// The keys of these conversations' visitors; `write` creates missing ones.
    async fn keys(&self, conversations: &[ConversationId], write: bool) -> StoreResult<Keys> {
        let owners = self.owners(conversations).await?;
        let visitors: Vec<VisitorId> = owners.values().copied().collect();
        let create = write.then(|| self.clock.now());
        let keys = self.vault.subject_keys(&visitors, create).await.map_err(vault_err)?;
        Ok(owners.into_iter().filter_map(|(c, v)| keys.get(&v).map(|k| (c, k.clone()))).collect())
    }

    /// The data key of the conversation's visitor; `write` creates it if missing.
    pub async fn key_of(&self, conversation: ConversationId, write: bool) -> StoreResult<Arc<DataKey>> {
        self.keys(&[conversation], write).await?.remove(&conversation).ok_or(StoreError::NotFound)
    }

    /// Forgets an erased conversation.
    pub fn forget(&self, conversation: ConversationId) {
        self.owners.lock().unwrap_or_else(|p| p.into_inner()).remove(&conversation);
    }

    fn seal(key: &DataKey, m: NewMessage) -> NewMessage<SealedBody> {
        let aad = Purpose::Message(m.id);
        m.map(|body| SealedBody {
            kind: body.kind().to_string(),
            content: Content::Sealed(key.seal(&aad, body.content().as_bytes())),
        })
    }

    /// The search terms of a text or note.
    fn terms_of(&self, m: &NewMessage) -> Vec<Term> {
        self.terms(m.conversation_id, &m.body)
    }

    pub(crate) fn terms(&self, conversation: ConversationId, body: &Body) -> Vec<Term> {
        match body {
            Body::Text(t) | Body::Note(t) => {
                self.vault.search_terms(t).into_iter().map(|term| Term { conversation, term }).collect()
            }
            _ => vec![],
        }
    }

    fn open(key: Option<&DataKey>, m: MessageRecord<SealedBody>) -> StoreResult<MessageRecord> {
        let text = match &m.body.content {
            Content::Legacy(text) => text.clone(),
            Content::Sealed(bytes) => {
                let key = key.ok_or_else(|| StoreError::Corrupt("no data key for a sealed message".into()))?;
                let plain = key
                    .open(&Purpose::Message(m.id), bytes)
                    .map_err(|_| StoreError::Corrupt("a sealed message".into()))?;
                String::from_utf8(plain.to_vec()).map_err(|_| StoreError::Corrupt("a sealed message".into()))?
            }
        };
        let body = Body::from_content(&m.body.kind, &text)
            .ok_or_else(|| StoreError::Corrupt(format!("a stored {} message", m.body.kind)))?;
        Ok(m.map(|_| body))
    }

    fn open_appended(keys: &Keys, a: Appended<SealedBody>) -> StoreResult<Appended> {
        let key = keys.get(&a.message().conversation_id).map(Arc::as_ref);
        Ok(match a {
            Appended::Stored { message, state, operator } => {
                Appended::Stored { message: Self::open(key, message)?, state, operator }
            }
            Appended::Duplicate(message) => Appended::Duplicate(Self::open(key, message)?),
        })
    }

    /// `MessageStore::parallel_batches`.
    pub fn parallel_batches(&self) -> usize {
        self.store.parallel_batches()
    }

    /// `Store::append_messages`, sealed; a message to a conversation that
    /// does not exist is `NotFound`, as there.
    pub async fn append_messages(&self, batch: Vec<NewMessage>) -> StoreResult<Vec<StoreResult<Appended>>> {
        let ids: Vec<ConversationId> = batch.iter().map(|m| m.conversation_id).collect();
        let keys = self.keys(&ids, true).await?;
        let mut sealed = Vec::with_capacity(batch.len());
        // Each message's plain body, while its sealed form is stored: what
        // was just sealed need not be opened again.
        let (mut slots, mut terms) = (Vec::with_capacity(batch.len()), vec![]);
        for m in batch {
            match keys.get(&m.conversation_id) {
                Some(key) => {
                    terms.extend(self.terms_of(&m));
                    slots.push(Some(m.body.clone()));
                    sealed.push(Self::seal(key, m));
                }
                None => slots.push(None),
            }
        }
        let mut stored = self.store.append_messages(&sealed, &terms).await?.into_iter();
        let outcomes = slots
            .into_iter()
            .map(|slot| match (slot, stored.next()) {
                (Some(body), Some(Ok(Appended::Stored { message, state, operator }))) => {
                    Ok(Appended::Stored { message: message.map(|_| body), state, operator })
                }
                (Some(_), Some(outcome)) => outcome.and_then(|a| Self::open_appended(&keys, a)),
                _ => Err(StoreError::NotFound),
            })
            .collect();
        Ok(outcomes)
    }

    /// `Store::change_conversations`, sealed.
    pub async fn change_conversations(&self, changes: Vec<Change>) -> StoreResult<Vec<Option<Appended>>> {
        let ids: Vec<ConversationId> = changes.iter().map(|c| c.id).collect();
        let keys = self.keys(&ids, true).await?;
        let mut sealed = Vec::with_capacity(changes.len());
        for c in changes {
            let key = keys.get(&c.id).ok_or(StoreError::NotFound)?;
            sealed.push(Change { id: c.id, from: c.from, to: c.to, event: Self::seal(key, c.event) });
        }
        let done = self.store.change_conversations(&sealed).await?;
        done.into_iter().map(|a| a.map(|a| Self::open_appended(&keys, a)).transpose()).collect()
    }

    /// `Store::messages`, opened.
    pub async fn messages(
        &self,
        conversation: ConversationId,
        after: i64,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<MessageRecord>> {
        let page = self.store.messages(conversation, after, before, limit).await?;
        if page.is_empty() {
            return Ok(vec![]);
        }
        let keys = self.keys(&[conversation], false).await?;
        page.into_iter().map(|m| Self::open(keys.get(&conversation).map(Arc::as_ref), m)).collect()
    }

    /// `Store::events_and_files`, opened.
    pub async fn events_and_files(
        &self,
        conversation: ConversationId,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<MessageRecord>> {
        let page = self.store.events_and_files(conversation, after, limit).await?;
        if page.is_empty() {
            return Ok(vec![]);
        }
        let keys = self.keys(&[conversation], false).await?;
        page.into_iter().map(|m| Self::open(keys.get(&conversation).map(Arc::as_ref), m)).collect()
    }

    /// `Store::messages_by_id`, opened.
    pub async fn messages_by_id(&self, ids: &[MessageId]) -> StoreResult<Vec<MessageRecord>> {
        let stored = self.store.messages_by_id(ids).await?;
        self.open_all(stored).await
    }

    /// `Store::messages_after_each`, opened.
    pub async fn messages_after_each(&self, ends: &[(ConversationId, i64)]) -> StoreResult<Vec<MessageRecord>> {
        let stored = self.store.messages_after_each(ends).await?;
        self.open_all(stored).await
    }

    /// Messages of any conversations, opened with one lookup of their keys.
    async fn open_all(&self, stored: Vec<MessageRecord<SealedBody>>) -> StoreResult<Vec<MessageRecord>> {
        let mut conversations: Vec<ConversationId> = stored.iter().map(|m| m.conversation_id).collect();
        conversations.sort();
        conversations.dedup();
        let keys = self.keys(&conversations, false).await?;
        stored.into_iter().map(|m| Self::open(keys.get(&m.conversation_id).map(Arc::as_ref), m)).collect()
    }

    /// `Store::activity`, opened.
    pub async fn activity(&self, from: i64, to: i64) -> StoreResult<Vec<ChannelMessage>> {
        let stored = self.store.activity(from, to).await?;
        let mut visitors: Vec<VisitorId> = stored.iter().map(|m| m.visitor_id).collect();
        visitors.sort();
        visitors.dedup();
        let keys = self.vault.subject_keys(&visitors, None).await.map_err(vault_err)?;
        stored
            .into_iter()
            // A subject without a key is erased, or being erased (the key
            // goes first): their messages no longer count.
            .filter(|m| keys.contains_key(&m.visitor_id) || matches!(m.message.body.content, Content::Legacy(_)))
            .map(|m| {
                let message = Self::open(keys.get(&m.visitor_id).map(Arc::as_ref), m.message)?;
                Ok(ChannelMessage { channel: m.channel, visitor_id: m.visitor_id, message })
            })
            .collect()
    }

    pub fn search_terms(&self, text: &str) -> Vec<Vec<u8>> {
        self.vault.search_terms(text)
    }
}

fn vault_err(e: super::VaultError) -> StoreError {
    match e {
        super::VaultError::Store(e) => e,
        other => StoreError::Corrupt(other.to_string()),
    }
}
