//! Personal data in conversations: which categories employees see masked,
//! and revealing one value, with a reason, as an audited act.

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::services::caller::Caller;
use ostrog_domain::DomainError;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::ids::ConversationId;
use ostrog_domain::message::Body;
use ostrog_domain::personal_data::{self, Category};
use serde_json::json;

const MASKED_KEY: &str = "personal_data.masked";
/// Longest reason accepted for a reveal, in characters.
const MAX_REASON: usize = 500;

impl App {
    /// The categories shown masked: every one unless the settings say otherwise.
    pub async fn masked_categories(&self) -> AppResult<Vec<Category>> {
        let stored = self.store.setting(MASKED_KEY).await?;
        Ok(stored.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_else(|| Category::ALL.to_vec()))
    }

    /// Changes them; connected employees see the new masking from their next message.
    pub async fn set_masked_categories(&self, caller: &Caller, mut categories: Vec<Category>) -> AppResult<()> {
        categories.sort();
        categories.dedup();
        let value = json!(categories);
        self.store.put_setting(MASKED_KEY, &value).await?;
        self.realtime.hub.set_masked(categories);
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
        let c = self.conversations.visible(&caller.actor, conversation).await?;
        let message = self.ledger.messages(c.id, seq - 1, Some(seq + 1), 1).await?.into_iter().find(|m| m.seq == seq);
        let text = match message.map(|m| m.body) {
            Some(Body::Text(t) | Body::Note(t)) => t,
            _ => return Err(AppError::NotFound),
        };
        let found = personal_data::find(&text, &self.realtime.hub.masked());
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
