//! Failed sign-in attempts per scope and subject, for lockouts.

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::lockout::Failures;

#[async_trait]
pub trait AttemptStore: Send + Sync {
    async fn failures(&self, scope: &str, subject: &str) -> StoreResult<Failures>;
    async fn set_failures(&self, scope: &str, subject: &str, f: &Failures) -> StoreResult<()>;
    async fn clear_failures(&self, scope: &str, subject: &str) -> StoreResult<()>;
}
