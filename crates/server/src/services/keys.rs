//! Master key rotation and the state of the key store, for `ostrog keys`.

use crate::error::{AppError, AppResult};
use crate::keys::Vault;
use crate::keys::master::KeySource;
use crate::keys::rotate::{self, Rotation};
use crate::services::auditor::{Auditor, Ctx};
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use serde_json::json;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    /// Master key ids this installation holds; the last is current.
    pub held: Vec<u32>,
    /// How many data keys each master key wraps.
    pub wrapped_by: Vec<(u32, u64)>,
}

pub struct KeyAdmin {
    vault: Arc<Vault>,
    auditor: Arc<Auditor>,
}

impl KeyAdmin {
    pub fn new(vault: Arc<Vault>, auditor: Arc<Auditor>) -> Self {
        Self { vault, auditor }
    }

    pub async fn status(&self) -> AppResult<KeyStatus> {
        let held = self.vault.master_keys().ids();
        let wrapped_by = self.vault.key_store().count_by_master_key().await?;
        Ok(KeyStatus { held, wrapped_by })
    }

    /// Rotates the master key in the key file while servers keep running
    /// (see `keys::rotate`), and records it in the audit log.
    pub async fn rotate(&self, ctx: &Ctx) -> AppResult<Rotation> {
        let KeySource::File(path) = self.vault.source() else {
            return Err(AppError::Conflict(crate::error::ErrorCode::MasterKeyInEnvironment));
        };
        let done = rotate::rotate(path, self.vault.key_store().as_ref(), rotate::GRACE).await?;
        let details = json!({"current": done.current, "retired": done.retired, "rewrapped": done.rewrapped});
        self.auditor.audit(ctx, Action::KeysRotated, None, Outcome::Success, details).await?;
        Ok(done)
    }

    /// Re-wraps every data key by the current master key (after a new key
    /// was put into `OSTROG_MASTER_KEY` by hand).
    pub async fn rewrap(&self, ctx: &Ctx) -> AppResult<u64> {
        let keys = self.vault.master_keys();
        let done = rotate::rewrap_all(&keys, self.vault.key_store().as_ref()).await?;
        let details = json!({"current": keys.current_id(), "rewrapped": done});
        self.auditor.audit(ctx, Action::KeysRewrapped, None, Outcome::Success, details).await?;
        Ok(done)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::Harness;

    #[tokio::test]
    async fn a_master_key_from_the_environment_is_not_rotated_here() {
        let t = Harness::new().await;
        let keys = KeyAdmin::new(t.vault.clone(), t.auditor());
        assert_eq!(keys.status().await.unwrap().held, [1]);
        let r = keys.rotate(&Ctx::default()).await;
        assert!(matches!(r, Err(AppError::Conflict(crate::error::ErrorCode::MasterKeyInEnvironment))));
        assert!(t.audited().await.is_empty(), "nothing happened, so nothing is audited");
    }
}
