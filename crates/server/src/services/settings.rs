//! Settings stored in the database and changed through the API.

use crate::app::App;
use crate::error::AppResult;
use crate::services::caller::Caller;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::language::Language;
use ostrog_domain::role::Role;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const TWO_FACTOR_KEY: &str = "security.two_factor_required";
const LANGUAGE_KEY: &str = "ui.language";

/// Which roles must use 2FA. Every role must by default; the
/// Administrator's requirement cannot be switched off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TwoFactorPolicy {
    /// Role name → whether 2FA is required.
    #[schema(value_type = BTreeMap<String, bool>)]
    pub required: BTreeMap<Role, bool>,
}

impl Default for TwoFactorPolicy {
    fn default() -> Self {
        Self { required: Role::ALL.iter().map(|r| (*r, true)).collect() }
    }
}

impl App {
    pub async fn two_factor_policy(&self) -> AppResult<TwoFactorPolicy> {
        let mut policy = TwoFactorPolicy::default();
        if let Some(value) = self.store.setting(TWO_FACTOR_KEY).await?
            && let Ok(stored) = serde_json::from_value::<TwoFactorPolicy>(value)
        {
            policy.required.extend(stored.required);
        }
        policy.required.insert(Role::Administrator, true);
        Ok(policy)
    }

    pub async fn two_factor_required(&self, role: Role) -> AppResult<bool> {
        Ok(self.two_factor_policy().await?.required.get(&role).copied().unwrap_or(true))
    }

    pub async fn set_two_factor_policy(
        &self,
        caller: &Caller,
        mut policy: TwoFactorPolicy,
    ) -> AppResult<TwoFactorPolicy> {
        policy.required.insert(Role::Administrator, true);
        let value = serde_json::to_value(&policy).map_err(|e| crate::error::AppError::Internal(e.to_string()))?;
        self.store.put_setting(TWO_FACTOR_KEY, &value).await?;
        self.auditor
            .audit(&caller.ctx(), Action::SettingsChanged, Some(TWO_FACTOR_KEY.into()), Outcome::Success, value)
            .await?;
        self.two_factor_policy().await
    }

    /// The language of the pages for whoever has not chosen one.
    pub async fn default_language(&self) -> AppResult<Language> {
        let stored = self.store.setting(LANGUAGE_KEY).await?;
        Ok(stored.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default())
    }

    pub async fn set_default_language(&self, caller: &Caller, language: Language) -> AppResult<()> {
        let value = serde_json::json!(language);
        self.store.put_setting(LANGUAGE_KEY, &value).await?;
        self.auditor
            .audit(&caller.ctx(), Action::SettingsChanged, Some(LANGUAGE_KEY.into()), Outcome::Success, value)
            .await
    }
}
