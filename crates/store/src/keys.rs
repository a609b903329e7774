//! Storage of data keys, apart from the data they protect. Each key is kept
//! wrapped (encrypted) by a master key that never enters any database, and
//! names the master key that wrapped it, so the master key can be rotated
//! by re-wrapping these rows alone.
//!
//! The key store lives in a database of its own, so that destroying a key
//! here makes the data it protected unreadable in every copy of the main
//! database, its backups and its write-ahead log.

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::clock::Millis;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// `subject:<visitor id>` for a data subject's key, `installation:<use>`
    /// for the installation's own keys.
    pub name: String,
    pub master_key_id: u32,
    pub wrapped: Vec<u8>,
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The stored keys among `names` (absent ones are left out).
    async fn keys(&self, names: &[String]) -> StoreResult<Vec<WrappedKey>>;
    /// Stores `key` unless a key of that name exists, and returns the one
    /// stored: concurrent creators of one subject's key agree on it.
    async fn put_key(&self, key: &WrappedKey, at: Millis) -> StoreResult<WrappedKey>;
    /// Destroys the key and overwrites the space it took; false when there
    /// was none.
    async fn destroy_key(&self, name: &str) -> StoreResult<bool>;
    /// Up to `limit` keys wrapped by another master key than `current`.
    async fn keys_to_rewrap(&self, current: u32, limit: u32) -> StoreResult<Vec<WrappedKey>>;
    /// Replaces `old` by `new` (same name) if it is unchanged; false when
    /// it changed or was destroyed meanwhile.
    async fn rewrap(&self, old: &WrappedKey, new: &WrappedKey) -> StoreResult<bool>;
    /// How many keys each master key wraps, by master key id.
    async fn count_by_master_key(&self) -> StoreResult<Vec<(u32, u64)>>;
}
