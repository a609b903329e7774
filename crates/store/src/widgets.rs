//! The website widgets visitors write from.

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::WidgetId;
use ostrog_domain::widget::WidgetSettings;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetRecord {
    pub id: WidgetId,
    pub settings: WidgetSettings,
    /// The identity-signing secret, encrypted by the server's key.
    pub secret: Vec<u8>,
    pub created_at: Millis,
}

#[async_trait]
pub trait WidgetStore: Send + Sync {
    async fn create_widget(&self, w: &WidgetRecord) -> StoreResult<()>;
    /// A widget that exists and is not deleted.
    async fn widget(&self, id: WidgetId) -> StoreResult<Option<WidgetRecord>>;
    async fn list_widgets(&self) -> StoreResult<Vec<WidgetRecord>>;
    /// `secret: None` keeps the current secret.
    async fn update_widget(&self, id: WidgetId, settings: &WidgetSettings, secret: Option<&[u8]>) -> StoreResult<()>;
    async fn delete_widget(&self, id: WidgetId, at: Millis) -> StoreResult<()>;
}
