//! Widgets, configured by holders of `settings.manage`. The identity
//! secret is shown once, when made or rotated; it is stored encrypted.

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::keys::purpose::Purpose;
use crate::services::caller::Caller;
use ostrog_domain::audit::Outcome;
use ostrog_domain::ids::WidgetId;
use ostrog_domain::widget::WidgetSettings;
use ostrog_store::WidgetRecord;
use rand::RngCore;
use serde_json::json;

/// A fresh identity secret: 32 random bytes, and how it is stored.
fn new_secret(app: &App, id: WidgetId) -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let sealed = app.vault.seal(&Purpose::WidgetSecret(id), &bytes);
    (hex::encode(bytes), sealed)
}

impl App {
    pub async fn list_widgets(&self) -> AppResult<Vec<WidgetRecord>> {
        Ok(self.store.list_widgets().await?)
    }

    /// Returns the widget and its identity secret (hex), shown this once.
    pub async fn create_widget(&self, caller: &Caller, settings: WidgetSettings) -> AppResult<(WidgetRecord, String)> {
        let settings = settings.validated()?;
        let id = WidgetId::random();
        let (secret, sealed) = new_secret(self, id);
        let widget = WidgetRecord { id, settings, secret: sealed, created_at: self.now() };
        self.store.create_widget(&widget).await?;
        let details = json!({"name": widget.settings.name, "allowed_origins": widget.settings.allowed_origins});
        self.audit(&caller.ctx(), "widget.created", Some(id.to_string()), Outcome::Success, details).await?;
        Ok((widget, secret))
    }

    pub async fn update_widget(
        &self,
        caller: &Caller,
        id: WidgetId,
        settings: WidgetSettings,
    ) -> AppResult<WidgetRecord> {
        let settings = settings.validated()?;
        self.store.update_widget(id, &settings, None).await?;
        let details = json!({"name": settings.name, "allowed_origins": settings.allowed_origins});
        self.audit(&caller.ctx(), "widget.changed", Some(id.to_string()), Outcome::Success, details).await?;
        self.store.widget(id).await?.ok_or(AppError::NotFound)
    }

    /// A new identity secret; the old one stops working at once.
    pub async fn rotate_widget_secret(&self, caller: &Caller, id: WidgetId) -> AppResult<String> {
        let widget = self.store.widget(id).await?.ok_or(AppError::NotFound)?;
        let (secret, sealed) = new_secret(self, id);
        self.store.update_widget(id, &widget.settings, Some(&sealed)).await?;
        self.audit(&caller.ctx(), "widget.secret_rotated", Some(id.to_string()), Outcome::Success, json!({})).await?;
        Ok(secret)
    }

    pub async fn delete_widget(&self, caller: &Caller, id: WidgetId) -> AppResult<()> {
        self.store.delete_widget(id, self.now()).await?;
        self.audit(&caller.ctx(), "widget.deleted", Some(id.to_string()), Outcome::Success, json!({})).await
    }
}
