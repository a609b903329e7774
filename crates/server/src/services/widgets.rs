//! Widgets, configured by holders of `settings.manage`. The identity
//! secret is shown once, when made or rotated; it is stored encrypted.

use crate::error::{AppError, AppResult};
use crate::keys::Vault;
use crate::keys::purpose::Purpose;
use crate::services::auditor::Auditor;
use crate::services::caller::Caller;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::clock::Clock;
use ostrog_domain::ids::WidgetId;
use ostrog_domain::widget::WidgetSettings;
use ostrog_store::{WidgetRecord, WidgetStore};
use rand::RngCore;
use serde_json::json;
use std::sync::Arc;

pub struct Widgets {
    store: Arc<dyn WidgetStore>,
    vault: Arc<Vault>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
}

impl Widgets {
    pub fn new(store: Arc<dyn WidgetStore>, vault: Arc<Vault>, auditor: Arc<Auditor>, clock: Arc<dyn Clock>) -> Self {
        Self { store, vault, auditor, clock }
    }

    pub async fn list(&self) -> AppResult<Vec<WidgetRecord>> {
        Ok(self.store.list_widgets().await?)
    }

    /// Returns the widget and its identity secret (hex), shown this once.
    pub async fn create(&self, caller: &Caller, settings: WidgetSettings) -> AppResult<(WidgetRecord, String)> {
        let settings = settings.validated()?;
        let id = WidgetId::random();
        let (secret, sealed) = self.new_secret(id);
        let widget = WidgetRecord { id, settings, secret: sealed, created_at: self.clock.now() };
        self.store.create_widget(&widget).await?;
        let details = json!({"name": widget.settings.name, "allowed_origins": widget.settings.allowed_origins});
        self.auditor
            .audit(&caller.ctx(), Action::WidgetCreated, Some(id.to_string()), Outcome::Success, details)
            .await?;
        Ok((widget, secret))
    }

    pub async fn update(&self, caller: &Caller, id: WidgetId, settings: WidgetSettings) -> AppResult<WidgetRecord> {
        let settings = settings.validated()?;
        self.store.update_widget(id, &settings, None).await?;
        let details = json!({"name": settings.name, "allowed_origins": settings.allowed_origins});
        self.auditor
            .audit(&caller.ctx(), Action::WidgetChanged, Some(id.to_string()), Outcome::Success, details)
            .await?;
        self.store.widget(id).await?.ok_or(AppError::NotFound)
    }

    /// A new identity secret; the old one stops working at once.
    pub async fn rotate_secret(&self, caller: &Caller, id: WidgetId) -> AppResult<String> {
        let widget = self.store.widget(id).await?.ok_or(AppError::NotFound)?;
        let (secret, sealed) = self.new_secret(id);
        self.store.update_widget(id, &widget.settings, Some(&sealed)).await?;
        let ctx = caller.ctx();
        self.auditor
            .audit(&ctx, Action::WidgetSecretRotated, Some(id.to_string()), Outcome::Success, json!({}))
            .await?;
        Ok(secret)
    }

    pub async fn delete(&self, caller: &Caller, id: WidgetId) -> AppResult<()> {
        self.store.delete_widget(id, self.clock.now()).await?;
        self.auditor
            .audit(&caller.ctx(), Action::WidgetDeleted, Some(id.to_string()), Outcome::Success, json!({}))
            .await
    }

    /// A fresh identity secret: 32 random bytes (hex), and how it is stored.
    fn new_secret(&self, id: WidgetId) -> (String, Vec<u8>) {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let sealed = self.vault.seal(&Purpose::WidgetSecret(id), &bytes);
        (hex::encode(bytes), sealed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::Harness;
    use ostrog_domain::role::Role;
    use ostrog_store::AuditFilter;

    fn settings(name: &str) -> WidgetSettings {
        WidgetSettings {
            name: name.into(),
            greeting: "Hello".into(),
            working_hours: Default::default(),
            allowed_origins: vec!["https://shop.example".into()],
            language: Default::default(),
        }
    }

    fn widgets(t: &Harness) -> Widgets {
        Widgets::new(t.store.clone(), t.vault.clone(), t.auditor(), t.clock())
    }

    #[tokio::test]
    async fn a_rotated_secret_replaces_the_old_one_and_each_change_is_audited() {
        let t = Harness::new().await;
        let (widgets, caller) = (widgets(&t), t.caller(Role::Administrator).await);
        let (widget, first) = widgets.create(&caller, settings("Shop")).await.unwrap();
        assert_eq!(first.len(), 64, "32 bytes, hex");
        let second = widgets.rotate_secret(&caller, widget.id).await.unwrap();
        assert_ne!(first, second);

        let stored = t.store.widget(widget.id).await.unwrap().unwrap();
        let opened = t.vault.open_sealed(&Purpose::WidgetSecret(widget.id), &stored.secret).unwrap();
        assert_eq!(hex::encode(opened.as_slice()), second, "the stored secret is the new one, sealed");

        let log = t.store.audit_entries(&AuditFilter::default(), 0, 10).await.unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.event.action.as_str()).collect();
        assert_eq!(actions, ["widget.created", "widget.secret_rotated"]);
        assert!(log.iter().all(|e| e.event.actor == Some(caller.employee.id.to_string())));
    }

    #[tokio::test]
    async fn invalid_settings_store_nothing() {
        let t = Harness::new().await;
        let (widgets, caller) = (widgets(&t), t.caller(Role::Administrator).await);
        assert!(widgets.create(&caller, settings("")).await.is_err());
        assert!(widgets.list().await.unwrap().is_empty());
        assert!(t.store.audit_entries(&AuditFilter::default(), 0, 10).await.unwrap().is_empty());
    }
}
