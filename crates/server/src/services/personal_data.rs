//! Personal data in conversations: which categories employees see masked,
//! and revealing one value, with a reason, as an audited act.

use crate::error::{AppError, AppResult};
use crate::keys::Ledger;
use crate::realtime::hub::Hub;
use crate::services::auditor::Auditor;
use crate::services::caller::Caller;
use ostrog_domain::DomainError;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::conversation::visible_to;
use ostrog_domain::ids::ConversationId;
use ostrog_domain::message::Body;
use ostrog_domain::personal_data::{self, Category};
use ostrog_store::{ConversationStore, SettingsStore};
use serde_json::json;
use std::sync::Arc;

const MASKED_KEY: &str = "personal_data.masked";
/// Longest reason accepted for a reveal, in characters.
const MAX_REASON: usize = 500;

pub struct PersonalData {
    settings: Arc<dyn SettingsStore>,
    conversations: Arc<dyn ConversationStore>,
    ledger: Arc<Ledger>,
    /// Masks what it sends to employees; told when the categories change.
    hub: Arc<Hub>,
    auditor: Arc<Auditor>,
}

impl PersonalData {
    pub fn new(
        settings: Arc<dyn SettingsStore>,
        conversations: Arc<dyn ConversationStore>,
        ledger: Arc<Ledger>,
        hub: Arc<Hub>,
        auditor: Arc<Auditor>,
    ) -> Self {
        Self { settings, conversations, ledger, hub, auditor }
    }

    /// Data subjects to pick for a request, an export or an erasure, found by
    /// a word from their conversations (the blind-index search) or, with no
    /// words, those active most recently: one entry per visitor, newest
    /// activity first, across every conversation (the caller holds a
    /// personal-data permission, not a conversation one).
    pub async fn find_subjects(&self, text: &str, limit: u32) -> AppResult<Vec<ostrog_store::ConversationRecord>> {
        let text: String = text.chars().take(200).collect();
        let filter = ostrog_store::ConversationFilter {
            terms: self.ledger.search_terms(&text),
            limit: 200,
            ..Default::default()
        };
        let mut seen = std::collections::HashSet::new();
        let mut found = self.conversations.list_conversations(&filter).await?;
        found.retain(|c| seen.insert(c.visitor_id));
        found.truncate(limit.clamp(1, 50) as usize);
        Ok(found)
    }

    /// The categories shown masked: every one unless the settings say otherwise.
    pub async fn masked_categories(&self) -> AppResult<Vec<Category>> {
        let stored = self.settings.setting(MASKED_KEY).await?;
        Ok(stored.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_else(|| Category::ALL.to_vec()))
    }

    /// Changes them; connected employees see the new masking from their next message.
    pub async fn set_masked_categories(&self, caller: &Caller, mut categories: Vec<Category>) -> AppResult<()> {
        categories.sort();
        categories.dedup();
        let value = json!(categories);
        self.settings.put_setting(MASKED_KEY, &value).await?;
        self.hub.set_masked(categories);
        self.auditor
            .audit(&caller.ctx(), Action::SettingsChanged, Some(MASKED_KEY.into()), Outcome::Success, value)
            .await
    }

    /// The `index`-th masked value of message `seq`, for a holder of
    /// `personal_data.reveal` who may see the conversation. The audit entry
    /// names the message, the category and the reason, never the value.
    pub async fn reveal(
        &self,
        caller: &Caller,
        conversation: ConversationId,
        seq: i64,
        index: usize,
        reason: &str,
    ) -> AppResult<(Category, String)> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON {
            return Err(AppError::Domain(DomainError::Invalid("reason")));
        }
        // As anywhere: a conversation one may not see is not found.
        let c = self.conversations.conversation(conversation).await?.ok_or(AppError::NotFound)?;
        if !visible_to(&caller.actor, c.operator) {
            return Err(AppError::NotFound);
        }
        let message = self.ledger.messages(c.id, seq - 1, Some(seq + 1), 1).await?.into_iter().find(|m| m.seq == seq);
        let text = match message.map(|m| m.body) {
            Some(Body::Text(t) | Body::Note(t)) => t,
            _ => return Err(AppError::NotFound),
        };
        let found = personal_data::find(&text, &self.hub.masked());
        let finding = found.get(index).ok_or(AppError::NotFound)?;
        let details = json!({"conversation": c.id, "seq": seq, "category": finding.category.name(), "reason": reason});
        self.auditor
            .audit(
                &caller.ctx(),
                Action::PersonalDataRevealed,
                Some(c.id.to_string()),
                Outcome::Success,
                details.clone(),
            )
            .await?;
        self.auditor.record_access(&caller.ctx(), c.visitor_id, Action::ValueRevealed, details).await?;
        Ok((finding.category, text[finding.range.clone()].to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::{Harness, START};
    use ostrog_domain::conversation::State;
    use ostrog_domain::role::Role;
    use ostrog_store::{AuditFilter, Trail};

    fn personal_data(t: &Harness) -> PersonalData {
        let hub = crate::realtime::Realtime::new(t.ledger()).hub;
        PersonalData::new(t.store.clone(), t.store.clone(), t.ledger(), hub, t.auditor())
    }

    #[tokio::test]
    async fn only_who_may_see_the_conversation_reveals_and_each_reveal_is_audited_without_the_value() {
        let t = Harness::new().await;
        let pd = personal_data(&t);
        let (assigned, other) = (t.caller(Role::Operator).await, t.caller(Role::Operator).await);
        pd.set_masked_categories(&t.caller(Role::Administrator).await, Category::ALL.to_vec()).await.unwrap();
        let ada = t.subject(START).await;
        let c =
            t.subject_conversation(ada, State::Assigned(assigned.employee.id), Some(assigned.employee.id), START).await;
        let seq = t.subject_says(&c, "write to ada@example.com please").await;
        let before = t.store.audit_entries(&AuditFilter::default(), 0, 100).await.unwrap().len();

        // Another operator's conversation does not exist, for them.
        let refused = pd.reveal(&other, c.id, seq, 0, "the client asked").await;
        assert!(matches!(refused, Err(AppError::NotFound)));
        assert!(
            matches!(pd.reveal(&assigned, c.id, seq, 0, "  ").await, Err(AppError::Domain(_))),
            "a reason is required"
        );
        assert!(matches!(pd.reveal(&assigned, c.id, seq, 1, "the client asked").await, Err(AppError::NotFound)));
        assert_eq!(t.store.audit_entries(&AuditFilter::default(), 0, 100).await.unwrap().len(), before);

        let (category, value) = pd.reveal(&assigned, c.id, seq, 0, "the client asked").await.unwrap();
        assert_eq!((category, value.as_str()), (Category::Email, "ada@example.com"));
        let security = t.store.audit_entries(&AuditFilter::default(), 0, 100).await.unwrap();
        let revealed = security.last().unwrap();
        assert_eq!(revealed.event.action, "personal_data.revealed");
        assert_eq!(revealed.event.actor, Some(assigned.employee.id.to_string()));
        assert_eq!(revealed.event.details["reason"], "the client asked");
        assert_eq!(revealed.event.details["category"], "email");
        let access = AuditFilter { trail: Trail::PersonalDataAccess, ..Default::default() };
        let access = t.store.audit_entries(&access, 0, 10).await.unwrap();
        assert_eq!(access.len(), 1);
        assert_eq!(access[0].event.target, Some(format!("visitor:{ada}")));
        for entry in security.iter().chain(&access) {
            assert!(!entry.event.details.to_string().contains("ada@example.com"), "never the value");
        }
    }

    #[tokio::test]
    async fn masked_categories_default_to_all_and_a_change_reaches_the_hub() {
        let t = Harness::new().await;
        let hub = crate::realtime::Realtime::new(t.ledger()).hub;
        let pd = PersonalData::new(t.store.clone(), t.store.clone(), t.ledger(), hub.clone(), t.auditor());
        assert_eq!(pd.masked_categories().await.unwrap(), Category::ALL.to_vec());
        let admin = t.caller(Role::Administrator).await;
        pd.set_masked_categories(&admin, vec![Category::Phone, Category::Card, Category::Phone]).await.unwrap();
        assert_eq!(pd.masked_categories().await.unwrap(), [Category::Card, Category::Phone]);
        assert_eq!(hub.masked(), [Category::Card, Category::Phone]);
        let log = t.store.audit_entries(&AuditFilter::default(), 0, 10).await.unwrap();
        assert_eq!(
            (log[0].event.action.as_str(), log[0].event.target.as_deref()),
            ("settings.changed", Some(MASKED_KEY))
        );
    }
}
