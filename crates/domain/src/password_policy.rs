//! What makes a password acceptable: length, not among the 10,000 most common
//! passwords, not built from the employee's own name or e-mail, and not
//! mostly predictable parts. No composition rules and no forced rotation
//! (NIST SP 800-63B, ASVS 6.2).
//!
//! Length alone is not enough: `passwordpassword`, `password12345678` or
//! `qwertyuiopasdfgh` are long but among an attacker's first guesses
//! (ASVS 6.2.4, 6.2.12). So `weak` finds the predictable parts — list
//! words (also behind leetspeak), years, repeats, alphabet sequences and
//! keyboard walks, Latin and Cyrillic — and prices the password in units of
//! about ten guesses, one unit per unpredictable character, as zxcvbn does.
//!
//! The bar is [`MIN_LENGTH_FLOOR`] units, raised to half the configured
//! minimum when that is higher: what is left after discounting the patterns
//! must be worth at least the shortest password we ever accept, about 10^8
//! guesses (zxcvbn's score 3). A passphrase of ordinary words keeps almost
//! all of its characters; one of only the list's most common words does not.
//! The refusal names the kind of weakness that covers most of the password.

mod weak;

use crate::error::DomainError;
use std::collections::HashMap;
use std::sync::LazyLock;

/// Each common password with its rank, 1 for the most frequent: the weak
/// rules price a list word by how early an attacker tries it.
static COMMON: LazyLock<HashMap<&'static str, usize>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt").lines().enumerate().map(|(i, word)| (word, i + 1)).collect()
});

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
            return Err(DomainError::PasswordTooShort(self.min_length));
        }
        if length > MAX_LENGTH {
            return Err(DomainError::WeakPassword("too_long"));
        }
        let lower = password.to_lowercase();
        if COMMON.contains_key(lower.as_str()) {
            return Err(DomainError::WeakPassword("too_common"));
        }
        if built_from_identity(&lower, name, email) {
            return Err(DomainError::WeakPassword("contains_identity"));
        }
        match weak::refusal(password, self.required_strength()) {
            Some(weakness) => Err(DomainError::WeakPassword(weakness.code())),
            None => Ok(()),
        }
    }

    /// Units of unpredictability a password must keep; never above the
    /// minimum length, so a password with no patterns always clears it.
    fn required_strength(&self) -> usize {
        (self.min_length / 2).max(MIN_LENGTH_FLOOR)
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

    /// Printable ASCII from a fixed xorshift, the same on every run.
    fn pseudo_random(len: usize) -> String {
        let mut state: u32 = 0x9E37_79B9;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        (0..len).filter_map(|_| char::from_u32(33 + next() % 94)).collect()
    }

    fn verdict(password: &str) -> Result<(), DomainError> {
        PasswordPolicy::default().check(password, NAME, EMAIL)
    }

    #[test]
    fn passphrases_and_random_strings_pass() {
        for pw in [
            "correct horse battery staple",
            "ёжик в тумане ищет лошадку",
            "summer coffee purple garden",
            "съешь же ещё этих мягких французских булок",
            "kT9vR2mQ8xW4pL7z",
            "G7#vQ2!mZp9%Lx4&",
            "ш4Юк9Ьр2Гм7Жт1Ц",
        ] {
            assert_eq!(verdict(pw), Ok(()), "{pw}");
        }
        assert_eq!(verdict(&pseudo_random(128)), Ok(()));
        assert_eq!(verdict(&pseudo_random(MAX_LENGTH)), Ok(()));
    }

    #[test]
    fn long_but_predictable_passwords_are_refused_with_a_reason() {
        for (pw, reason) in [
            ("passwordpassword", "repeated"),
            ("password12345678", "too_common"),
            ("1234567890123456", "sequence"),
            ("qwertyuiopasdfgh", "keyboard_walk"),
            ("iloveyouiloveyou", "repeated"),
            ("aaaaaaaaaaaaaaaa", "repeated"),
            ("abcdefghijklmnop", "sequence"),
        ] {
            assert_eq!(verdict(pw), Err(DomainError::WeakPassword(reason)), "{pw}");
        }
        assert_eq!(verdict(&"ж".repeat(128)), Err(DomainError::WeakPassword("repeated")));
        assert_eq!(verdict("abcabcabcabcabc"), Err(DomainError::WeakPassword("repeated")));
    }

    #[test]
    fn cyrillic_sequences_and_russian_keyboard_walks_are_refused() {
        assert_eq!(verdict("абвгдеёжзийклмн"), Err(DomainError::WeakPassword("sequence")));
        assert_eq!(verdict("ЯЮЭЬЫЪЩШЧЦХФУТС"), Err(DomainError::WeakPassword("sequence")));
        assert_eq!(verdict("йцукенгшщзфывап"), Err(DomainError::WeakPassword("keyboard_walk")));
        assert_eq!(verdict("ячсмитьбюфывапр"), Err(DomainError::WeakPassword("keyboard_walk")));
    }

    #[test]
    fn keyboard_rows_and_columns_are_refused() {
        for pw in ["7ujm8ik,9ol.0p;/", "4rfv3edc2wsx1qaz", "zxcvbnm,./asdfgh", "poiuytrewqlkjhgf"] {
            assert_eq!(verdict(pw), Err(DomainError::WeakPassword("keyboard_walk")), "{pw}");
        }
    }

    #[test]
    fn common_words_padded_disguised_or_combined_are_refused() {
        for pw in ["P@$$w0rd!!!!!!!!", "Dragon1987!!!!!!", "monkey2024shadow", "iloveyou1234!!!!", "m0nk3y2024dr4g0n"] {
            assert_eq!(verdict(pw), Err(DomainError::WeakPassword("too_common")), "{pw}");
        }
    }

    #[test]
    fn the_bar_rises_with_the_configured_minimum() {
        assert_eq!(PasswordPolicy::default().required_strength(), MIN_LENGTH_FLOOR);
        assert_eq!(PasswordPolicy::new(24).required_strength(), 12);
        assert_eq!(PasswordPolicy::new(8).check("kT9vR2mQ", NAME, EMAIL), Ok(()));
        assert_eq!(
            PasswordPolicy::new(8).check("kT9vqwer", NAME, EMAIL),
            Err(DomainError::WeakPassword("keyboard_walk"))
        );
    }

    #[test]
    fn length_is_counted_in_characters_and_bounded() {
        let p = PasswordPolicy::default();
        assert_eq!(p.check("ёжик в тумане", NAME, EMAIL), Err(DomainError::PasswordTooShort(15)));
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
