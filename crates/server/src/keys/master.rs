//! The master keys, kept outside every database: a key file with 0600
//! permissions in the data folder (`master.key`, created on first run), or
//! `OSTROG_MASTER_KEY`. Each key has an id; the highest is the current one,
//! which wraps new data keys, and the others only unwrap until rotation has
//! re-wrapped everything they wrapped.
//!
//! The text form is one key per line (or separated by spaces or commas):
//! `<id>:<64 hex digits>`; a bare 64-digit key is key 1.

use super::VaultError;
use super::data_key::DataKey;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use ostrog_store::WrappedKey;
use rand::RngCore;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;
pub const ENV: &str = "OSTROG_MASTER_KEY";

/// Where the master keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    File(PathBuf),
    Environment,
}

#[derive(Clone)]
pub struct MasterKeys {
    /// By id, ascending; never empty.
    keys: Vec<(u32, Zeroizing<[u8; 32]>)>,
}

impl MasterKeys {
    pub fn single(id: u32, key: [u8; 32]) -> Self {
        Self { keys: vec![(id, Zeroizing::new(key))] }
    }

    pub fn parse(text: &str) -> Result<Self, VaultError> {
        let mut keys = Vec::new();
        for entry in text.split(|c: char| c.is_whitespace() || c == ',').filter(|e| !e.is_empty()) {
            let (id, hex_key) = match entry.split_once(':') {
                Some((id, key)) => (id.parse::<u32>().map_err(|_| VaultError::Key(format!("bad key id {id:?}")))?, key),
                None => (1, entry),
            };
            let bytes = Zeroizing::new(hex::decode(hex_key).map_err(|_| VaultError::Key("not hex".into()))?);
            let key: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| VaultError::Key("each key must be 32 bytes (64 hex digits)".into()))?;
            if id == 0 || keys.iter().any(|(k, _)| *k == id) {
                return Err(VaultError::Key(format!("key id {id} is zero or repeated")));
            }
            keys.push((id, Zeroizing::new(key)));
        }
        keys.sort_by_key(|(id, _)| *id);
        if keys.is_empty() {
            return Err(VaultError::Key("no key".into()));
        }
        Ok(Self { keys })
    }

    pub fn text(&self) -> Zeroizing<String> {
        let lines: Vec<String> = self.keys.iter().map(|(id, k)| format!("{id}:{}", hex::encode(k.as_ref()))).collect();
        Zeroizing::new(lines.join("\n") + "\n")
    }

    pub fn current_id(&self) -> u32 {
        self.keys.last().map_or(0, |(id, _)| *id)
    }

    pub fn ids(&self) -> Vec<u32> {
        self.keys.iter().map(|(id, _)| *id).collect()
    }

    /// These keys and a new random one after them, which becomes current.
    pub fn with_new_key(&self) -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let mut keys: Vec<_> = self.keys.iter().map(|(id, k)| (*id, k.clone())).collect();
        keys.push((self.current_id() + 1, Zeroizing::new(key)));
        Self { keys }
    }

    /// The current key alone: what is left once the others are retired.
    pub fn current_only(&self) -> Self {
        Self { keys: self.keys.last().map(|(id, k)| (*id, k.clone())).into_iter().collect() }
    }

    /// The bytes of master key `id`, for adopting the first master key as
    /// the secrets key of an installation that predates the key store.
    pub(crate) fn key_bytes(&self, id: u32) -> Option<Zeroizing<[u8; 32]>> {
        self.keys.iter().find(|(k, _)| *k == id).map(|(_, key)| key.clone())
    }

    fn cipher(&self, id: u32) -> Option<ChaCha20Poly1305> {
        self.keys.iter().find(|(k, _)| *k == id).map(|(_, key)| ChaCha20Poly1305::new(Key::from_slice(key.as_ref())))
    }

    /// Wraps `key` by the current master key; the name is bound in, so a
    /// wrapped key opens only under its own name.
    pub fn wrap(&self, name: &str, key: &DataKey) -> WrappedKey {
        let id = self.current_id();
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher(id)
            .and_then(|c| c.encrypt(Nonce::from_slice(&nonce), Payload { msg: key.bytes(), aad: name.as_bytes() }).ok())
            .unwrap_or_default();
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&sealed);
        WrappedKey { name: name.to_string(), master_key_id: id, wrapped }
    }

    pub fn unwrap(&self, key: &WrappedKey) -> Result<DataKey, VaultError> {
        let cipher = self.cipher(key.master_key_id).ok_or(VaultError::UnknownMasterKey(key.master_key_id))?;
        if key.wrapped.len() < NONCE_LEN {
            return Err(VaultError::Decrypt);
        }
        let (nonce, body) = key.wrapped.split_at(NONCE_LEN);
        let bytes = Zeroizing::new(
            cipher
                .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: key.name.as_bytes() })
                .map_err(|_| VaultError::Decrypt)?,
        );
        DataKey::from_slice(&bytes)
    }
}

/// The master keys from `OSTROG_MASTER_KEY`, else from
/// `<data_dir>/master.key`, which is created on first run.
pub fn load(data_dir: &Path) -> Result<(MasterKeys, KeySource), VaultError> {
    if let Ok(text) = std::env::var(ENV) {
        return Ok((MasterKeys::parse(&Zeroizing::new(text))?, KeySource::Environment));
    }
    let path = data_dir.join("master.key");
    if path.exists() {
        return Ok((read_file(&path)?, KeySource::File(path)));
    }
    std::fs::create_dir_all(data_dir).map_err(|e| VaultError::Key(format!("{}: {e}", data_dir.display())))?;
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let keys = MasterKeys::single(1, key);
    write_new(&path, &keys.text())?;
    Ok((keys, KeySource::File(path)))
}

pub fn read_file(path: &Path) -> Result<MasterKeys, VaultError> {
    check_permissions(path)?;
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| VaultError::Key(e.to_string()))?);
    MasterKeys::parse(&text)
}

/// Replaces the key file in one step (a new file renamed over the old one),
/// so a reader sees either the old keys or the new ones, never half.
pub fn replace_file(path: &Path, keys: &MasterKeys) -> Result<(), VaultError> {
    let fresh = path.with_extension("key.new");
    let _ = std::fs::remove_file(&fresh);
    write_new(&fresh, &keys.text())?;
    std::fs::rename(&fresh, path).map_err(|e| VaultError::Key(format!("{}: {e}", path.display())))
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), VaultError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).map_err(|e| VaultError::Key(e.to_string()))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(VaultError::Key(format!("{} must not be readable by group or others (chmod 600)", path.display())));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_: &Path) -> Result<(), VaultError> {
    Ok(())
}

fn write_new(path: &Path, text: &str) -> Result<(), VaultError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| VaultError::Key(format!("{}: {e}", path.display())))?;
    file.write_all(text.as_bytes()).map_err(|e| VaultError::Key(e.to_string()))?;
    file.sync_all().map_err(|e| VaultError::Key(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_in_both_forms_and_the_highest_id_is_current() {
        let bare = MasterKeys::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(bare.ids(), vec![1]);
        let two = MasterKeys::parse(&format!("2:{}, 1:{}", "cd".repeat(32), "ab".repeat(32))).unwrap();
        assert_eq!((two.ids(), two.current_id()), (vec![1, 2], 2));
        assert_eq!(MasterKeys::parse(&two.text()).unwrap().ids(), vec![1, 2], "the text form round-trips");
        for bad in ["", "1:00", "x:00", &format!("1:{0} 1:{0}", "ab".repeat(32))] {
            assert!(MasterKeys::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_wrapped_key_opens_under_its_master_key_and_name_only() {
        let old = MasterKeys::single(1, [1; 32]);
        let data = DataKey::random();
        let wrapped = old.wrap("subject:a", &data);
        assert_eq!(old.unwrap(&wrapped).unwrap().bytes(), data.bytes());
        let renamed = WrappedKey { name: "subject:b".into(), ..wrapped.clone() };
        assert!(old.unwrap(&renamed).is_err());
        let rotated = old.with_new_key();
        assert_eq!(rotated.wrap("subject:a", &data).master_key_id, 2);
        assert!(rotated.current_only().unwrap(&wrapped).is_err(), "retired key 1 no longer unwraps");
        assert!(!wrapped.wrapped.windows(8).any(|w| w == &data.bytes()[..8]));
    }
}
