//! Argon2id password hashing (m = 19 MiB, t = 2, p = 1, the OWASP minimum),
//! on the blocking pool and at most N at once, so a flood of sign-ins can
//! neither stall the async runtime nor exhaust memory.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use tokio::sync::{Semaphore, SemaphorePermit};

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A valid hash of a random password, verified against when the account does
/// not exist, so that unknown and known accounts take the same time.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2().hash_password(super::tokens::new_token().as_bytes(), &salt).ok().map(|h| h.to_string())
});

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// Hashes running now, and the most that ever ran at once (for
    /// `/metrics`, and for the test that a sign-in flood stays bounded).
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

/// A turn at hashing: at most `max_concurrent` exist at once.
struct Turn<'a> {
    _permit: SemaphorePermit<'a>,
    running: &'a AtomicUsize,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hasher {
    pub fn new(max_concurrent: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(max_concurrent.max(1))), running: Arc::default(), peak: Arc::default() }
    }

    /// Waits for a turn (a flood queues here instead of taking memory).
    async fn turn(&self) -> Option<Turn<'_>> {
        let permit = self.permits.acquire().await.ok()?;
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        Some(Turn { _permit: permit, running: &self.running })
    }

    /// The most hashes that ever ran at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let _turn = self.turn().await.ok_or(HashError)?;
        let password = zeroize::Zeroizing::new(password.to_string());
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| HashError)
        })
        .await
        .map_err(|_| HashError)?
    }

    /// Verifies against `hash`, or against a dummy hash when `None`, so the
    /// answer takes as long either way; a `None` hash never verifies.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let Some(_turn) = self.turn().await else { return false };
        let known = hash.is_some();
        let Some(hash) = hash.map(str::to_string).or_else(|| DUMMY_HASH.clone()) else { return false };
        let password = zeroize::Zeroizing::new(password.to_string());
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .unwrap_or(false);
        ok && known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters() {
        let h = Hasher::new(1);
        let hash = h.hash("correct horse battery staple").await.unwrap_or_default();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(h.verify("correct horse battery staple", Some(&hash)).await);
        assert!(!h.verify("correct horse battery stapler", Some(&hash)).await);
        assert!(!h.verify("anything", None).await);
    }

    /// Sign-in timing reveals no account: an unknown e-mail is checked
    /// against a hash with the very parameters of real ones, so both cost
    /// one Argon2id run of the same memory and passes.
    #[tokio::test]
    async fn an_unknown_account_costs_the_same_argon2_work_as_a_known_one() {
        let real = Hasher::new(1).hash("a password").await.unwrap_or_default();
        let parameters = |hash: &str| hash.rsplitn(3, '$').nth(2).map(str::to_string);
        let dummy = DUMMY_HASH.as_deref().unwrap_or_default();
        assert_eq!(parameters(dummy), parameters(&real));
        assert_eq!(parameters(&real).as_deref(), Some("$argon2id$v=19$m=19456,t=2,p=1"));
    }
}
