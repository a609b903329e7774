//! Settings stored in the database and changed through the API.

use crate::error::AppResult;
use crate::services::auditor::Auditor;
use crate::services::caller::Caller;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::language::Language;
use ostrog_domain::role::Role;
use ostrog_domain::routing::RoutingSettings;
use ostrog_store::SettingsStore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

const TWO_FACTOR_KEY: &str = "security.two_factor_required";
const LANGUAGE_KEY: &str = "ui.language";
const ROUTING_KEY: &str = "routing";
const COMPANY_KEY: &str = "company.name";
/// The longest company name, as a widget's name.
const MAX_COMPANY_NAME: usize = 100;

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

pub struct Settings {
    store: Arc<dyn SettingsStore>,
    auditor: Arc<Auditor>,
}

impl Settings {
    pub fn new(store: Arc<dyn SettingsStore>, auditor: Arc<Auditor>) -> Self {
        Self { store, auditor }
    }

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

    /// When operators count as away and unattended assignments return to
    /// the queue; the defaults until someone changes them.
    pub async fn routing(&self) -> AppResult<RoutingSettings> {
        let stored = self.store.setting(ROUTING_KEY).await?;
        Ok(stored.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default())
    }

    pub async fn set_routing(&self, caller: &Caller, settings: RoutingSettings) -> AppResult<RoutingSettings> {
        settings.validate()?;
        let value = serde_json::to_value(settings).map_err(|e| crate::error::AppError::Internal(e.to_string()))?;
        self.store.put_setting(ROUTING_KEY, &value).await?;
        self.auditor
            .audit(&caller.ctx(), Action::SettingsChanged, Some(ROUTING_KEY.into()), Outcome::Success, value)
            .await?;
        Ok(settings)
    }

    /// The language of the pages for whoever has not chosen one.
    pub async fn default_language(&self) -> AppResult<Language> {
        let stored = self.store.setting(LANGUAGE_KEY).await?;
        Ok(stored.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default())
    }

    /// The company's name as its clients know it (for quick replies'
    /// `{company_name}`); empty until someone sets it.
    pub async fn company_name(&self) -> AppResult<String> {
        let stored = self.store.setting(COMPANY_KEY).await?;
        Ok(stored.and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())
    }

    pub async fn set_company_name(&self, caller: &Caller, name: &str) -> AppResult<String> {
        let name = name.trim();
        if name.chars().count() > MAX_COMPANY_NAME || name.chars().any(char::is_control) {
            return Err(ostrog_domain::DomainError::Invalid("name").into());
        }
        let value = serde_json::json!(name);
        self.store.put_setting(COMPANY_KEY, &value).await?;
        self.auditor
            .audit(&caller.ctx(), Action::SettingsChanged, Some(COMPANY_KEY.into()), Outcome::Success, value)
            .await?;
        Ok(name.to_string())
    }

    pub async fn set_default_language(&self, caller: &Caller, language: Language) -> AppResult<()> {
        let value = serde_json::json!(language);
        self.store.put_setting(LANGUAGE_KEY, &value).await?;
        self.auditor
            .audit(&caller.ctx(), Action::SettingsChanged, Some(LANGUAGE_KEY.into()), Outcome::Success, value)
            .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::Harness;

    #[tokio::test]
    async fn a_settings_change_is_audited_and_the_administrator_keeps_two_factor() {
        let t = Harness::new().await;
        let settings = Settings::new(t.store.clone(), t.auditor());
        let admin = t.caller(Role::Administrator).await;
        let off = TwoFactorPolicy { required: Role::ALL.iter().map(|r| (*r, false)).collect() };
        let stored = settings.set_two_factor_policy(&admin, off).await.unwrap();
        assert!(stored.required[&Role::Administrator]);
        assert!(!settings.two_factor_required(Role::Operator).await.unwrap());
        assert!(settings.two_factor_required(Role::Administrator).await.unwrap());

        assert_eq!(settings.default_language().await.unwrap(), Language::default());
        settings.set_default_language(&admin, Language::En).await.unwrap();
        assert_eq!(settings.default_language().await.unwrap(), Language::En);

        let log = t.store.audit_entries(&Default::default(), 0, 10).await.unwrap();
        let targets: Vec<_> = log.iter().map(|e| (e.event.action.as_str(), e.event.target.as_deref())).collect();
        assert_eq!(targets, [("settings.changed", Some(TWO_FACTOR_KEY)), ("settings.changed", Some(LANGUAGE_KEY))]);
        assert_eq!(log[1].event.actor, Some(admin.employee.id.to_string()));
    }

    #[tokio::test]
    async fn routing_settings_are_validated_and_audited() {
        let t = Harness::new().await;
        let settings = Settings::new(t.store.clone(), t.auditor());
        let admin = t.caller(Role::Administrator).await;
        assert_eq!(settings.routing().await.unwrap(), RoutingSettings::default());
        let bad = RoutingSettings { requeue_after_seconds: 0, ..Default::default() };
        assert!(settings.set_routing(&admin, bad).await.is_err());
        let quick = RoutingSettings { away_after_hidden_seconds: 30, requeue_after_seconds: 20 };
        settings.set_routing(&admin, quick).await.unwrap();
        assert_eq!(settings.routing().await.unwrap(), quick);
        let log = t.store.audit_entries(&Default::default(), 0, 10).await.unwrap();
        assert_eq!(log.len(), 1, "only the accepted change");
        assert_eq!(log[0].event.target.as_deref(), Some(ROUTING_KEY));
    }
}
