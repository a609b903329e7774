//! Keeping the installation in working order: the backend's periodic
//! housekeeping, the master key file re-read, and the readiness round trip.
//! It changes nothing anyone stored.

use crate::error::AppResult;
use crate::keys::Vault;
use ostrog_store::Store;
use std::sync::Arc;

pub struct Maintenance {
    /// The whole store: housekeeping and `ping` belong to the backend, not
    /// to one aggregate.
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
}

impl Maintenance {
    pub fn new(store: Arc<dyn Store>, vault: Arc<Vault>) -> Self {
        Self { store, vault }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> AppResult<()> {
        Ok(self.store.ping().await?)
    }

    /// The backend's housekeeping (see `Store::maintain`).
    pub async fn maintain_store(&self) -> AppResult<()> {
        Ok(self.store.maintain().await?)
    }

    /// Re-reads the master key file, so that a rotation by another process
    /// (`ostrog keys rotate`) reaches this one.
    pub fn reload_keys(&self) -> Result<(), crate::keys::VaultError> {
        self.vault.reload()
    }
}
