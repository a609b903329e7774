//! Labels: defined by holders of `settings.manage` (audited like any
//! setting), set on a conversation by whoever may see it, and counted for
//! the statistics.

use crate::error::{AppError, AppResult};
use crate::services::auditor::Auditor;
use crate::services::caller::Caller;
use crate::services::conversations::Conversations;
use ostrog_domain::DomainError;
use ostrog_domain::audit::{Action, Outcome};
use ostrog_domain::clock::Clock;
use ostrog_domain::ids::{ConversationId, LabelId};
use ostrog_domain::label::{Draft, MAX_LABELS, MAX_PER_CONVERSATION};
use ostrog_domain::stats::Period;
use ostrog_store::{LabelRecord, LabelStore, StoreError};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

pub struct Labels {
    store: Arc<dyn LabelStore>,
    conversations: Arc<Conversations>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
}

impl Labels {
    pub fn new(
        store: Arc<dyn LabelStore>,
        conversations: Arc<Conversations>,
        auditor: Arc<Auditor>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { store, conversations, auditor, clock }
    }

    pub async fn list(&self) -> AppResult<Vec<LabelRecord>> {
        Ok(self.store.labels().await?)
    }

    pub async fn create(&self, caller: &Caller, draft: Draft) -> AppResult<LabelRecord> {
        let draft = draft.validated()?;
        if self.store.labels().await?.len() >= MAX_LABELS {
            return Err(DomainError::Invalid("name").into());
        }
        let label =
            LabelRecord { id: LabelId::random(), name: draft.name, colour: draft.colour, created_at: self.clock.now() };
        self.store.create_label(&label).await.map_err(taken)?;
        self.audit(caller, Action::LabelCreated, &label).await?;
        Ok(label)
    }

    pub async fn update(&self, caller: &Caller, id: LabelId, draft: Draft) -> AppResult<LabelRecord> {
        let draft = draft.validated()?;
        let before = self.store.labels().await?.into_iter().find(|l| l.id == id).ok_or(AppError::NotFound)?;
        let label = LabelRecord { name: draft.name, colour: draft.colour, ..before };
        self.store.update_label(&label).await.map_err(taken)?;
        self.audit(caller, Action::LabelChanged, &label).await?;
        Ok(label)
    }

    pub async fn delete(&self, caller: &Caller, id: LabelId) -> AppResult<()> {
        let label = self.store.labels().await?.into_iter().find(|l| l.id == id).ok_or(AppError::NotFound)?;
        self.store.delete_label(id, self.clock.now()).await?;
        self.audit(caller, Action::LabelDeleted, &label).await
    }

    /// Replaces the labels of a conversation the caller may see.
    pub async fn set_on(&self, caller: &Caller, id: ConversationId, labels: &[LabelId]) -> AppResult<Vec<LabelId>> {
        self.conversations.visible(&caller.actor, id).await?;
        let mut labels = labels.to_vec();
        labels.sort();
        labels.dedup();
        if labels.len() > MAX_PER_CONVERSATION {
            return Err(DomainError::Invalid("label_ids").into());
        }
        match self.store.set_conversation_labels(id, &labels, self.clock.now()).await {
            // The conversation was seen just now: a label is what is unknown.
            Err(StoreError::NotFound) => Err(DomainError::Invalid("label_ids").into()),
            other => Ok(other.map(|()| labels)?),
        }
    }

    /// Adds and removes labels on a conversation the caller may see,
    /// keeping the others it has.
    pub async fn change_on(
        &self,
        caller: &Caller,
        id: ConversationId,
        add: &[LabelId],
        remove: &[LabelId],
    ) -> AppResult<Vec<LabelId>> {
        self.conversations.visible(&caller.actor, id).await?;
        let mut labels = self.of(&[id]).await?.remove(&id).unwrap_or_default();
        labels.retain(|l| !remove.contains(l));
        labels.extend(add.iter().filter(|l| !remove.contains(l)));
        self.set_on(caller, id, &labels).await
    }

    /// The labels of these conversations.
    pub async fn of(&self, conversations: &[ConversationId]) -> AppResult<HashMap<ConversationId, Vec<LabelId>>> {
        let mut by_conversation: HashMap<ConversationId, Vec<LabelId>> = HashMap::new();
        for (c, l) in self.store.labels_of(conversations).await? {
            by_conversation.entry(c).or_default().push(l);
        }
        Ok(by_conversation)
    }

    /// Each label with how many conversations that started in the period
    /// carry it, most first.
    pub async fn counts(&self, p: Period) -> AppResult<Vec<(LabelRecord, i64)>> {
        let counts: HashMap<LabelId, i64> = self.store.label_counts(p.from, p.to).await?.into_iter().collect();
        let mut rows: Vec<(LabelRecord, i64)> = self
            .store
            .labels()
            .await?
            .into_iter()
            .map(|l| (l.clone(), counts.get(&l.id).copied().unwrap_or(0)))
            .collect();
        rows.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        Ok(rows)
    }

    async fn audit(&self, caller: &Caller, action: Action, label: &LabelRecord) -> AppResult<()> {
        let details = json!({"name": label.name, "colour": label.colour.name()});
        self.auditor.audit(&caller.ctx(), action, Some(label.id.to_string()), Outcome::Success, details).await
    }
}

fn taken(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict("label") => AppError::Conflict(crate::error::ErrorCode::LabelTaken),
        other => other.into(),
    }
}
