//! What makes a password acceptable: length, not among the 10,000 most common
//! passwords, not built from the employee's own name or e-mail. No composition
//! rules and no forced rotation (NIST SP 800-63B, ASVS 6.2).

use crate::error::DomainError;
use std::collections::HashSet;
use std::sync::LazyLock;

static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("../data/common-passwords.txt").lines().collect());

/// The shortest minimum an administrator may configure.
pub const MIN_LENGTH_FLOOR: usize = 8;
/// Longest accepted password; far above the 128 that must be accepted, low
/// enough that hashing it costs nothing extra.
pub const MAX_LENGTH: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_length: 15 }
    }
}

impl PasswordPolicy {
    /// A policy whose minimum is never below the floor, whatever was configured.
    pub fn new(min_length: usize) -> Self {
        Self { min_length: min_length.max(MIN_LENGTH_FLOOR) }
    }

    pub fn check(&self, password: &str, name: &str, email: &str) -> Result<(), DomainError> {
        let length = password.chars().count();
        if length < self.min_length {
            return Err(DomainError::WeakPassword("too_short"));
        }
        if length > MAX_LENGTH {
            return Err(DomainError::WeakPassword("too_long"));
        }
        let lower = password.to_lowercase();
        if COMMON.contains(lower.as_str()) {
            return Err(DomainError::WeakPassword("too_common"));
        }
        if built_from_identity(&lower, name, email) {
            return Err(DomainError::WeakPassword("contains_identity"));
        }
        Ok(())
    }
}

/// Does the (lower-cased) password contain the e-mail's local part or the
/// name, with or without its spaces? Pieces shorter than 3 characters are
/// ignored: they would reject half of all passwords.
fn built_from_identity(lower: &str, name: &str, email: &str) -> bool {
    let email = email.to_lowercase();
    let local = email.split('@').next().unwrap_or_default().to_string();
    let name = name.to_lowercase();
    let joined: String = name.split_whitespace().collect();
    [local, email.clone(), name.clone(), joined]
        .iter()
        .any(|piece| piece.chars().count() >= 3 && lower.contains(piece.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "Anna Petrova";
    const EMAIL: &str = "anna.petrova@example.com";

    #[test]
    fn a_long_unusual_password_passes() {
        assert_eq!(PasswordPolicy::default().check("correct horse battery staple", NAME, EMAIL), Ok(()));
        let long: String = "ж".repeat(128);
        assert_eq!(PasswordPolicy::default().check(&long, NAME, EMAIL), Ok(()));
    }

    #[test]
    fn length_is_counted_in_characters_and_bounded() {
        let p = PasswordPolicy::default();
        assert_eq!(p.check("ёжик в тумане", NAME, EMAIL), Err(DomainError::WeakPassword("too_short")));
        assert_eq!(p.check(&"x".repeat(MAX_LENGTH + 1), NAME, EMAIL), Err(DomainError::WeakPassword("too_long")));
        assert_eq!(PasswordPolicy::new(3).min_length, MIN_LENGTH_FLOOR);
    }

    #[test]
    fn common_passwords_are_refused_whatever_the_case() {
        let p = PasswordPolicy::new(8);
        assert_eq!(p.check("PASSWORD", NAME, EMAIL), Err(DomainError::WeakPassword("too_common")));
        assert_eq!(p.check("iloveyou", NAME, EMAIL), Err(DomainError::WeakPassword("too_common")));
        assert!(COMMON.len() >= 9_900, "the list has {} entries", COMMON.len());
    }

    #[test]
    fn own_name_and_email_are_refused() {
        let p = PasswordPolicy::default();
        for pw in ["anna.petrova-forever-2026", "xxAnnaPetrova-forever", "my anna petrova password"] {
            assert_eq!(p.check(pw, NAME, EMAIL), Err(DomainError::WeakPassword("contains_identity")), "{pw}");
        }
    }
}
