//! Rotation of the master key, online: a new master key joins the key file,
//! running servers pick it up (they re-read the file every second), every
//! data key is re-wrapped by it — keys only, no data is re-encrypted — and
//! the old master keys leave the file.

use super::VaultError;
use super::master::{self, MasterKeys};
use ostrog_store::KeyStore;
use std::path::Path;
use std::time::Duration;

/// Keys re-wrapped per round trip.
const BATCH: u32 = 500;
/// Longer than a running server takes to notice a new key file.
pub const GRACE: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub current: u32,
    pub retired: Vec<u32>,
    pub rewrapped: u64,
}

pub async fn rotate(path: &Path, store: &dyn KeyStore, grace: Duration) -> Result<Rotation, VaultError> {
    let old = master::read_file(path)?;
    let keys = old.with_new_key();
    master::replace_file(path, &keys)?;
    tokio::time::sleep(grace).await;
    let mut rewrapped = rewrap_all(&keys, store).await?;
    master::replace_file(path, &keys.current_only())?;
    // A key a server wrapped by an old master key in the last instant before
    // it saw the new one: this process still holds the old keys.
    rewrapped += rewrap_all(&keys, store).await?;
    Ok(Rotation { current: keys.current_id(), retired: old.ids(), rewrapped })
}

/// Re-wraps every data key not wrapped by the current master key.
pub async fn rewrap_all(keys: &MasterKeys, store: &dyn KeyStore) -> Result<u64, VaultError> {
    let current = keys.current_id();
    let mut rewrapped = 0;
    loop {
        let batch = store.keys_to_rewrap(current, BATCH).await?;
        if batch.is_empty() {
            return Ok(rewrapped);
        }
        for old in batch {
            let data = keys.unwrap(&old)?;
            // Lost only to a concurrent destruction: then there is nothing to keep.
            if store.rewrap(&old, &keys.wrap(&old.name, &data)).await? {
                rewrapped += 1;
            }
        }
    }
}
