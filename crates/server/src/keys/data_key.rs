//! A 256-bit data key and the AEAD (ChaCha20-Poly1305, random 96-bit
//! nonces) that seals values with it. `purpose` is bound into every
//! ciphertext as associated data, so a sealed value cannot be moved to
//! another row or field and still open.

use super::VaultError;
use super::purpose::Purpose;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use zeroize::Zeroizing;

/// Format of a sealed value: this byte, the nonce, the ciphertext with its tag.
const FORMAT: u8 = 1;
const NONCE_LEN: usize = 12;

pub struct DataKey {
    bytes: Zeroizing<[u8; 32]>,
    cipher: ChaCha20Poly1305,
}

impl DataKey {
    pub fn random() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Self::from_bytes(bytes)
    }

    pub fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Self {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(bytes.as_ref()));
        Self { bytes, cipher }
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Result<Self, VaultError> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| VaultError::Decrypt)?;
        Ok(Self::from_bytes(Zeroizing::new(array)))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    pub fn seal(&self, purpose: &Purpose, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption fails only for inputs beyond 256 GiB.
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: purpose.to_string().as_bytes() })
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, purpose: &Purpose, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let purpose = purpose.to_string();
        let (&format, rest) = sealed.split_first().ok_or(VaultError::Decrypt)?;
        if format != FORMAT || rest.len() < NONCE_LEN {
            return Err(VaultError::Decrypt);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: purpose.as_bytes() })
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Decrypt)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_purpose() {
        use ostrog_domain::ids::MessageId;
        let [one, two] = [1, 2].map(|n| Purpose::Message(MessageId(uuid::Uuid::from_u128(n))));
        let key = DataKey::random();
        let sealed = key.seal(&one, b"4276 1600 0000 1234");
        assert_eq!(key.open(&one, &sealed).unwrap().as_slice(), b"4276 1600 0000 1234");
        assert!(key.open(&two, &sealed).is_err(), "moved to another row");
        assert!(DataKey::random().open(&one, &sealed).is_err(), "another subject's key");
        let mut flipped = sealed.clone();
        if let Some(last) = flipped.last_mut() {
            *last ^= 1;
        }
        assert!(key.open(&one, &flipped).is_err(), "tampered");
        assert!(!sealed.windows(4).any(|w| w == b"4276"));
        assert_ne!(key.seal(&one, b"x"), key.seal(&one, b"x"), "a fresh nonce each time");
    }
}
