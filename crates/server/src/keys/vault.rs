//! The vault: the installation's own keys (one sealing its secrets — TOTP
//! secrets, widget secrets — and one keying the blind indexes) and the data
//! keys of data subjects, unwrapped on demand and kept in memory.
//!
//! A running server follows the key file: when `ostrog keys rotate` adds a
//! master key, `reload` (called every second) picks it up, so new keys are
//! wrapped by it and keys it re-wrapped still open.

use super::master::{self, KeySource, MasterKeys};
use super::purpose::{Index, Purpose, subject_key_name};
use super::{DataKey, VaultError};
use hmac::{Hmac, Mac};
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::VisitorId;
use ostrog_store::{KeyStore, WrappedKey};
use sha2::Sha256;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;
use zeroize::Zeroizing;

const SECRETS: &str = "installation:secrets";
const INDEX: &str = "installation:index";
/// Unwrapped subject keys kept in memory before the cache starts over.
const CACHED_SUBJECTS: usize = 100_000;
/// Blind-index terms: enough bits that distinct words do not collide.
const TERM_BYTES: usize = 16;
/// Distinct words of one message that are made searchable.
const MAX_TERMS: usize = 256;

pub struct Vault {
    master: RwLock<MasterKeys>,
    source: KeySource,
    file_modified: Mutex<Option<SystemTime>>,
    store: Arc<dyn KeyStore>,
    secrets: DataKey,
    index: DataKey,
    subjects: Mutex<HashMap<VisitorId, Arc<DataKey>>>,
}

impl Vault {
    /// Loads the master keys (see `master::load`) and the installation's
    /// keys, creating them on first run. `upgrading`: the installation
    /// predates the key store (its database holds data), so its secrets were
    /// sealed by master key 1 itself, which becomes the secrets key.
    pub async fn open(
        data_dir: &Path,
        store: Arc<dyn KeyStore>,
        now: Millis,
        upgrading: bool,
    ) -> Result<Self, VaultError> {
        // A restored or copied installation without its master key must not
        // get a new one: that would open none of the keys already stored.
        let path = data_dir.join("master.key");
        if std::env::var_os(master::ENV).is_none() && !path.exists() && !store.count_by_master_key().await?.is_empty() {
            return Err(VaultError::Key(format!(
                "the key store holds data keys but {} is missing: put back the copy kept offline \
                 (or set {}); see docs/operations.md, Key storage",
                path.display(),
                master::ENV
            )));
        }
        let (keys, source) = master::load(data_dir)?;
        Self::with_keys(keys, source, store, now, upgrading).await
    }

    pub async fn with_keys(
        keys: MasterKeys,
        source: KeySource,
        store: Arc<dyn KeyStore>,
        now: Millis,
        upgrading: bool,
    ) -> Result<Self, VaultError> {
        let adopted = upgrading.then(|| keys.key_bytes(1)).flatten().map(DataKey::from_bytes);
        let secrets = get_or_create(&keys, store.as_ref(), SECRETS, now, adopted).await?;
        let index = get_or_create(&keys, store.as_ref(), INDEX, now, None).await?;
        let file_modified = Mutex::new(modified(&source));
        Ok(Self {
            master: RwLock::new(keys),
            source,
            file_modified,
            store,
            secrets,
            index,
            subjects: Mutex::new(HashMap::new()),
        })
    }

    pub fn key_store(&self) -> &Arc<dyn KeyStore> {
        &self.store
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// A copy of the master keys held now.
    pub fn master_keys(&self) -> MasterKeys {
        self.master.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Re-reads the key file if it changed since it was read.
    pub fn reload(&self) -> Result<(), VaultError> {
        let KeySource::File(path) = &self.source else { return Ok(()) };
        let now = modified(&self.source);
        let mut seen = self.file_modified.lock().unwrap_or_else(|p| p.into_inner());
        if now == *seen {
            return Ok(());
        }
        let keys = master::read_file(path)?;
        tracing::info!(current = keys.current_id(), "master keys reloaded");
        *self.master.write().unwrap_or_else(|p| p.into_inner()) = keys;
        *seen = now;
        Ok(())
    }

    fn unwrap(&self, key: &WrappedKey) -> Result<DataKey, VaultError> {
        let first = self.master.read().unwrap_or_else(|p| p.into_inner()).unwrap(key);
        match first {
            // Rotation may have re-wrapped it with a key not read yet.
            Err(VaultError::UnknownMasterKey(_)) => {
                self.reload()?;
                self.master.read().unwrap_or_else(|p| p.into_inner()).unwrap(key)
            }
            other => other,
        }
    }

    fn wrap(&self, name: &str, key: &DataKey) -> WrappedKey {
        self.master.read().unwrap_or_else(|p| p.into_inner()).wrap(name, key)
    }

    /// Seals an installation secret; `purpose` names the row and field.
    pub fn seal(&self, purpose: &Purpose, plaintext: &[u8]) -> Vec<u8> {
        self.secrets.seal(purpose, plaintext)
    }

    pub fn open_sealed(&self, purpose: &Purpose, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        self.secrets.open(purpose, sealed)
    }

    /// A keyed blind index of `value` for equality lookups (hex): without
    /// the index key, it reveals nothing and cannot be brute-forced.
    pub fn blind_index(&self, index: Index, value: &str) -> String {
        let purpose = index.as_str();
        hex::encode(self.mac(&[purpose.as_bytes(), value.as_bytes()]))
    }

    /// The blind-index terms of the words of `text`, for search: lowercase
    /// letters and digits, split at everything else, one-letter words left out.
    pub fn search_terms(&self, text: &str) -> Vec<Vec<u8>> {
        let mut words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().nth(1).is_some())
            .map(str::to_lowercase)
            .collect();
        words.sort();
        words.dedup();
        words.truncate(MAX_TERMS);
        words.iter().map(|w| self.mac(&[b"term", w.as_bytes()])[..TERM_BYTES].to_vec()).collect()
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        // HMAC takes a key of any length.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.index.bytes()) else { return [0; 32] };
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The data keys of these visitors. Those who have none get one when
    /// `create` is given (to write), and are left out otherwise (to read:
    /// an erased subject's data stays unreadable).
    pub async fn subject_keys(
        &self,
        visitors: &[VisitorId],
        create: Option<Millis>,
    ) -> Result<HashMap<VisitorId, Arc<DataKey>>, VaultError> {
        let mut found = HashMap::with_capacity(visitors.len());
        let mut missing = Vec::new();
        {
            let cache = self.subjects.lock().unwrap_or_else(|p| p.into_inner());
            for v in visitors {
                match cache.get(v) {
                    Some(k) => {
                        found.insert(*v, k.clone());
                    }
                    None => missing.push(*v),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        missing.sort();
        missing.dedup();
        let names: Vec<String> = missing.iter().map(|v| subject_key_name(*v)).collect();
        let stored: HashMap<String, WrappedKey> =
            self.store.keys(&names).await?.into_iter().map(|k| (k.name.clone(), k)).collect();
        for (v, name) in missing.into_iter().zip(names) {
            let key = match (stored.get(&name), create) {
                (Some(wrapped), _) => self.unwrap(wrapped)?,
                (None, Some(now)) => {
                    let created = self.store.put_key(&self.wrap(&name, &DataKey::random()), now).await?;
                    self.unwrap(&created)?
                }
                (None, None) => continue,
            };
            found.insert(v, Arc::new(key));
        }
        let mut cache = self.subjects.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() + found.len() > CACHED_SUBJECTS {
            cache.clear();
        }
        cache.extend(found.iter().map(|(v, k)| (*v, k.clone())));
        Ok(found)
    }

    /// The visitor's data key, created if they have none.
    pub async fn subject_key(&self, visitor: VisitorId, now: Millis) -> Result<Arc<DataKey>, VaultError> {
        self.subject_keys(&[visitor], Some(now)).await?.remove(&visitor).ok_or(VaultError::Decrypt)
    }

    /// Destroys the visitor's data key: whatever it sealed, wherever a copy
    /// of it lies, no longer opens.
    pub async fn destroy_subject_key(&self, visitor: VisitorId) -> Result<bool, VaultError> {
        self.forget_subject(visitor);
        Ok(self.store.destroy_key(&subject_key_name(visitor)).await?)
    }

    /// Drops the cached copy of the visitor's key (another node destroyed it).
    pub fn forget_subject(&self, visitor: VisitorId) {
        self.subjects.lock().unwrap_or_else(|p| p.into_inner()).remove(&visitor);
    }
}

/// The installation key `name`, made (from `first`, else random) if missing.
async fn get_or_create(
    keys: &MasterKeys,
    store: &dyn KeyStore,
    name: &str,
    now: Millis,
    first: Option<DataKey>,
) -> Result<DataKey, VaultError> {
    let stored = match store.keys(&[name.to_string()]).await?.into_iter().next() {
        Some(k) => k,
        None => store.put_key(&keys.wrap(name, &first.unwrap_or_else(DataKey::random)), now).await?,
    };
    keys.unwrap(&stored)
}

fn modified(source: &KeySource) -> Option<SystemTime> {
    match source {
        KeySource::File(path) => std::fs::metadata(path).and_then(|m| m.modified()).ok(),
        KeySource::Environment => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    async fn vault(keys: MasterKeys, upgrading: bool) -> Vault {
        let store = ostrog_store_sql::connect_keys("sqlite::memory:").await.unwrap();
        Vault::with_keys(keys, KeySource::Environment, store, 0, upgrading).await.unwrap()
    }

    #[tokio::test]
    async fn an_upgraded_installation_still_opens_what_its_master_key_sealed_directly() {
        let first = [7u8; 32];
        let totp = Purpose::Totp(ostrog_domain::ids::EmployeeId(uuid::Uuid::nil()));
        // Before the key store, secrets were sealed by master key 1 itself.
        let legacy = DataKey::from_bytes(Zeroizing::new(first)).seal(&totp, b"JBSWY3DP");
        let upgraded = vault(MasterKeys::single(1, first), true).await;
        assert_eq!(upgraded.open_sealed(&totp, &legacy).unwrap().as_slice(), b"JBSWY3DP");
        let fresh = vault(MasterKeys::single(1, first), false).await;
        assert!(fresh.open_sealed(&totp, &legacy).is_err(), "a new installation's secrets key is its own");
    }

    #[tokio::test]
    async fn search_terms_are_keyed_words() {
        let v = vault(MasterKeys::single(1, [1; 32]), false).await;
        let terms = v.search_terms("Заказ №42, заказ — ЗАКАЗ! a");
        assert_eq!(terms.len(), 2, "заказ once (any case), 42; one-letter words left out");
        assert_eq!(v.search_terms("заказ")[0], v.search_terms("ЗАКАЗ")[0]);
        let other = vault(MasterKeys::single(1, [1; 32]), false).await;
        assert_ne!(other.search_terms("заказ"), v.search_terms("заказ"), "each installation's index key is its own");
    }
}
