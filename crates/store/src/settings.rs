//! Installation-wide settings, as JSON values by key.

use crate::StoreResult;
use async_trait::async_trait;

#[async_trait]
pub trait SettingsStore: Send + Sync {
    async fn setting(&self, key: &str) -> StoreResult<Option<serde_json::Value>>;
    async fn put_setting(&self, key: &str, value: &serde_json::Value) -> StoreResult<()>;
}
