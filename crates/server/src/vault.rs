//! Encryption of secrets at rest (TOTP secrets now; personal data later),
//! with ChaCha20-Poly1305 under a master key kept outside the database: a
//! key file with 0600 permissions in the data folder, or `OSTROG_MASTER_KEY`
//! (64 hex digits). Ciphertexts carry a key id so the key can be rotated.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use std::path::Path;
use zeroize::Zeroizing;

const KEY_ID: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("master key: {0}")]
    Key(String),
    #[error("a stored secret could not be decrypted")]
    Decrypt,
}

pub struct Vault {
    cipher: ChaCha20Poly1305,
}

impl Vault {
    pub fn from_key(key: &[u8; 32]) -> Self {
        Self { cipher: ChaCha20Poly1305::new(Key::from_slice(key)) }
    }

    /// The key from `OSTROG_MASTER_KEY`, else from `<data_dir>/master.key`,
    /// created on first run.
    pub fn open(data_dir: &Path) -> Result<Self, VaultError> {
        if let Ok(hex_key) = std::env::var("OSTROG_MASTER_KEY") {
            return Self::from_hex(hex_key.trim());
        }
        let path = data_dir.join("master.key");
        if path.exists() {
            check_permissions(&path)?;
            let text = Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| VaultError::Key(e.to_string()))?);
            return Self::from_hex(text.trim());
        }
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        write_private(&path, &hex::encode(key.as_ref()))?;
        Ok(Self::from_key(&key))
    }

    fn from_hex(text: &str) -> Result<Self, VaultError> {
        let bytes = Zeroizing::new(hex::decode(text).map_err(|_| VaultError::Key("not hex".into()))?);
        let key: [u8; 32] =
            bytes.as_slice().try_into().map_err(|_| VaultError::Key("must be 32 bytes (64 hex digits)".into()))?;
        Ok(Self::from_key(&key))
    }

    /// `purpose` is bound into the ciphertext (as associated data) so a
    /// secret cannot be moved to another row or field undetected.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: purpose.as_bytes() })
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(KEY_ID);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open_sealed(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let (&key_id, rest) = sealed.split_first().ok_or(VaultError::Decrypt)?;
        if key_id != KEY_ID || rest.len() < NONCE_LEN {
            return Err(VaultError::Decrypt);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: purpose.as_bytes() })
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Decrypt)
    }
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

fn write_private(path: &Path, text: &str) -> Result<(), VaultError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| VaultError::Key(format!("{}: {e}", path.display())))?;
    file.write_all(text.as_bytes()).map_err(|e| VaultError::Key(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_purpose() {
        let v = Vault::from_key(&[9; 32]);
        let sealed = v.seal("totp:1", b"secret");
        assert_eq!(v.open_sealed("totp:1", &sealed).unwrap().as_slice(), b"secret");
        assert!(v.open_sealed("totp:2", &sealed).is_err());
        assert!(Vault::from_key(&[8; 32]).open_sealed("totp:1", &sealed).is_err());
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
    }
}
