//! Attempts to get around the defences — a CSRF token missing, an address
//! throttled, a website the widget does not allow, frames over a socket's
//! budget — are refused where they happen, and counted here, per kind and
//! address, to be written to the audit log once a minute (ASVS 16.3.3): a
//! security officer sees an attack in the log without one entry per
//! request flooding it. Nothing of the request is kept but its kind and
//! address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Kinds and addresses counted before new addresses are counted together
/// under no address (a flood from many addresses must not grow memory).
const MAX_KEYS: usize = 10_000;

/// The refusals (by their error code) that are attempts around a defence.
pub const BYPASS_CODES: &[&str] =
    &["csrf_rejected", "too_many_attempts", "too_many_connections", "origin_not_allowed", "rate_limited"];

#[derive(Default)]
pub struct Refusals {
    counts: Mutex<HashMap<(&'static str, Option<IpAddr>), u64>>,
}

impl Refusals {
    /// Counts one refusal of `kind` (one of `BYPASS_CODES`) from `ip`.
    pub fn record(&self, kind: &'static str, ip: Option<IpAddr>) {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = if counts.len() < MAX_KEYS || counts.contains_key(&(kind, ip)) { (kind, ip) } else { (kind, None) };
        *counts.entry(key).or_default() += 1;
    }

    /// What was counted since the last call, in a stable order.
    pub fn drain(&self) -> Vec<(&'static str, Option<IpAddr>, u64)> {
        let counts = std::mem::take(&mut *self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let mut out: Vec<_> = counts.into_iter().map(|((kind, ip), n)| (kind, ip, n)).collect();
        out.sort();
        out
    }
}

/// Whether an error code is counted here, as the `'static` name to count it by.
pub fn bypass_kind(code: &str) -> Option<&'static str> {
    BYPASS_CODES.iter().copied().find(|c| *c == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_per_kind_and_address_and_bounded() {
        let r = Refusals::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            r.record("csrf_rejected", Some(a));
        }
        r.record("rate_limited", Some(a));
        assert_eq!(r.drain(), [("csrf_rejected", Some(a), 3), ("rate_limited", Some(a), 1)]);
        assert!(r.drain().is_empty(), "drained");
        for i in 0..(MAX_KEYS as u32 + 5) {
            r.record("too_many_attempts", Some(IpAddr::from(i.to_be_bytes())));
        }
        let drained = r.drain();
        assert_eq!(drained.len(), MAX_KEYS + 1, "the rest counted together");
        assert!(drained.contains(&("too_many_attempts", None, 5)));
        assert_eq!(bypass_kind("csrf_rejected"), Some("csrf_rejected"));
        assert_eq!(bypass_kind("not_found"), None);
    }
}
