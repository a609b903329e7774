//! Sealing what an installation stored before personal data was sealed at
//! rest (schema 0003 and older): message bodies and visitors' user ids kept
//! in the clear are sealed by their visitor's key and made searchable, in
//! batches, beside normal work, once after start.

use crate::error::{AppError, AppResult};
use crate::keys::purpose::Purpose;
use crate::keys::{Ledger, Vault};
use crate::services::auditor::{Auditor, Ctx};
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::clock::Clock;
use ostrog_domain::message::Body;
use ostrog_store::{Content, External, SealedBody, Source, Store, StoreError, StoredMessage};
use serde_json::json;
use std::sync::Arc;

const BATCH: u32 = 500;
/// Set once nothing is left in the clear, so later starts skip the scan.
const DONE_KEY: &str = "personal_data.legacy_sealed";

pub struct LegacySealing {
    /// The whole store: besides the legacy rows, their search terms and
    /// the done mark, it compacts the database once the clear values are gone.
    store: Arc<dyn Store>,
    ledger: Arc<Ledger>,
    vault: Arc<Vault>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
}

impl LegacySealing {
    pub fn new(
        store: Arc<dyn Store>,
        ledger: Arc<Ledger>,
        vault: Arc<Vault>,
        auditor: Arc<Auditor>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { store, ledger, vault, auditor, clock }
    }

    /// Seals every clear message body and user id; how many of each.
    pub async fn run(&self) -> AppResult<(u64, u64)> {
        if self.store.setting(DONE_KEY).await?.is_some() {
            return Ok((0, 0));
        }
        let (messages, visitors) = (self.seal_legacy_messages().await?, self.seal_legacy_visitors().await?);
        if messages + visitors > 0 {
            // The clear values stay in free pages and the log until rewritten.
            self.store.compact().await?;
        }
        self.store.put_setting(DONE_KEY, &json!(self.clock.now())).await?;
        if messages + visitors > 0 {
            let details = json!({"messages": messages, "visitors": visitors});
            self.auditor
                .audit(&Ctx::default(), Action::PersonalDataSealedLegacy, None, Outcome::Success, details)
                .await?;
        }
        Ok((messages, visitors))
    }

    async fn seal_legacy_messages(&self) -> AppResult<u64> {
        let (mut after, mut count) = (None, 0);
        loop {
            let batch = self.store.legacy_messages(after, BATCH).await?;
            let Some(last) = batch.last() else { return Ok(count) };
            after = Some((last.message.conversation_id, last.message.seq));
            let (mut sealed, mut terms) = (Vec::with_capacity(batch.len()), vec![]);
            for m in batch {
                let Content::Legacy(text) = &m.message.body.content else { continue };
                let body = Body::from_content(&m.message.body.kind, text)
                    .ok_or_else(|| AppError::from(StoreError::Corrupt("a stored message".into())))?;
                terms.extend(self.ledger.terms(m.message.conversation_id, &body));
                let key = self.vault.subject_key(m.visitor_id, self.clock.now()).await?;
                let content = Content::Sealed(key.seal(&Purpose::Message(m.message.id), text.as_bytes()));
                sealed.push(StoredMessage { body: SealedBody { content, ..m.message.body.clone() }, ..m.message });
            }
            self.store.reseal_messages(&sealed).await?;
            self.store.add_terms(&terms).await?;
            count += sealed.len() as u64;
        }
    }

    async fn seal_legacy_visitors(&self) -> AppResult<u64> {
        let mut count = 0;
        loop {
            let batch = self.store.legacy_visitors(BATCH).await?;
            if batch.is_empty() {
                return Ok(count);
            }
            for (v, user) in batch {
                let key = self.vault.subject_key(v.id, self.clock.now()).await?;
                let sealed = key.seal(&Purpose::ExternalId(v.id), user.as_bytes());
                // Only widgets had clear user ids: channels came after sealing.
                let index = match v.source {
                    Source::Widget(widget) => crate::services::visitors::external_index(&self.vault, widget, &user),
                    Source::Channel(_) => format!("superseded:{}", v.id),
                };
                let external = External { index, sealed };
                match self.store.reseal_visitor(v.id, &external).await {
                    // The same user came back as a new visitor since: that
                    // one keeps the lookup; this one keeps its sealed id.
                    Err(StoreError::Conflict(_)) => {
                        let superseded = External { index: format!("superseded:{}", v.id), ..external };
                        self.store.reseal_visitor(v.id, &superseded).await?;
                    }
                    done => done?,
                }
                count += 1;
            }
        }
    }
}
