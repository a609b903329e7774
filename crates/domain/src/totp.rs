//! Time-based one-time passwords, RFC 6238: SHA-1, 6 digits, 30-second steps
//! from T0 = 0, one step of drift either way, and each step accepted at most
//! once per employee (the caller stores the last step used).

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

pub const STEP_SECONDS: u64 = 30;
pub const DIGITS: usize = 6;
/// 160 bits, the size RFC 4226 recommends for SHA-1.
pub const SECRET_BYTES: usize = 20;

fn totp(secret: &[u8], issuer: &str, account: &str) -> TOTP {
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP_SECONDS,
        secret.to_vec(),
        Some(issuer.replace(':', "")),
        account.replace(':', ""),
    )
}

/// The code shown by an authenticator at `unix_seconds`.
pub fn code_at(secret: &[u8], unix_seconds: u64) -> String {
    totp(secret, "", "").generate(unix_seconds)
}

/// If `code` is valid at `unix_seconds` (±1 step) for a step later than
/// `last_used_step`, the step it matched; the caller must store it so the
/// same code is never accepted twice.
pub fn verify(secret: &[u8], code: &str, unix_seconds: u64, last_used_step: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now_step = i64::try_from(unix_seconds / STEP_SECONDS).ok()?;
    let t = totp(secret, "", "");
    let mut matched = None;
    // Check every candidate so the time taken does not depend on which matched.
    for step in [now_step - 1, now_step, now_step + 1] {
        let Ok(at) = u64::try_from(step) else { continue };
        let expected = t.generate(at * STEP_SECONDS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            matched = Some(step);
        }
    }
    matched.filter(|step| last_used_step.is_none_or(|last| *step > last))
}

/// The `otpauth://` URI an authenticator app scans.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    totp(secret, issuer, account).get_url()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, 8 digits, each algorithm with its own seed length.
    #[test]
    fn rfc6238_appendix_b_vectors() {
        let seed = |len: usize| b"1234567890".iter().copied().cycle().take(len).collect::<Vec<u8>>();
        let cases: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        let make = |alg, len| TOTP::new_unchecked(alg, 8, 0, 30, seed(len), None, String::new());
        let (s1, s256, s512) = (make(Algorithm::SHA1, 20), make(Algorithm::SHA256, 32), make(Algorithm::SHA512, 64));
        for (t, sha1, sha256, sha512) in cases {
            assert_eq!(s1.generate(t), sha1, "SHA-1 at {t}");
            assert_eq!(s256.generate(t), sha256, "SHA-256 at {t}");
            assert_eq!(s512.generate(t), sha512, "SHA-512 at {t}");
        }
    }

    /// RFC 4226 Appendix D: HOTP is TOTP with the counter as the step.
    #[test]
    fn rfc4226_hotp_vectors() {
        let expected =
            ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(code_at(b"12345678901234567890", counter as u64 * STEP_SECONDS), *code);
        }
    }

    #[test]
    fn accepts_one_step_of_drift_and_each_step_once() {
        let secret = [7u8; SECRET_BYTES];
        let now = 1_700_000_000;
        let step = (now / STEP_SECONDS) as i64;
        let code = code_at(&secret, now);
        assert_eq!(verify(&secret, &code, now, None), Some(step));
        assert_eq!(verify(&secret, &code, now + STEP_SECONDS, None), Some(step));
        assert_eq!(verify(&secret, &code, now + 2 * STEP_SECONDS, None), None);
        // Replay of the step just used is refused.
        assert_eq!(verify(&secret, &code, now, Some(step)), None);
        assert_eq!(verify(&secret, "12345", now, None), None);
        assert_eq!(verify(&secret, "abcdef", now, None), None);
    }

    #[test]
    fn uri_names_issuer_and_account() {
        let uri = otpauth_uri(&[1u8; SECRET_BYTES], "Ostrog", "anna@example.com");
        assert!(uri.starts_with("otpauth://totp/Ostrog:anna%40example.com?"), "{uri}");
        assert!(uri.contains("secret=") && uri.contains("issuer=Ostrog"), "{uri}");
    }
}
