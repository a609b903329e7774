//! The audit log's hash chain. Each entry stores the SHA-256 of the previous
//! entry and of its own content, so editing, removing or reordering any row
//! breaks every link after it, and `verify` names the first broken one.
//! Entries never hold personal data beyond the actor's id and IP address.

mod action;

use crate::clock::Millis;
pub use action::Action;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Success, Self::Failure, Self::Denied].into_iter().find(|o| o.name() == s)
    }
}

/// An event to record; the store gives it its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: Millis,
    /// Employee id of whoever acted; `None` for the system or an unknown caller.
    pub actor: Option<String>,
    pub ip: Option<String>,
    /// A stable dotted name, e.g. `auth.sign_in`, `employee.blocked`.
    pub action: String,
    /// What was acted on, e.g. an employee id.
    pub target: Option<String>,
    pub outcome: Outcome,
    /// Extra facts (reason codes, changed fields); never secrets or personal data.
    pub details: serde_json::Value,
}

/// An event in its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    #[serde(flatten)]
    pub event: AuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an entry: SHA-256 over the previous hash and a canonical JSON
/// encoding of the sequence number and the event.
pub fn entry_hash(seq: i64, prev_hash: &str, event: &AuditEvent) -> String {
    // serde_json writes struct fields in declaration order and maps sorted,
    // so the same event always encodes to the same bytes.
    let content = serde_json::json!([seq, prev_hash, event]);
    let mut h = Sha256::new();
    h.update(content.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// Chains `event` after the entry whose hash is `prev_hash`.
pub fn chain(seq: i64, prev_hash: &str, event: AuditEvent) -> AuditEntry {
    let hash = entry_hash(seq, prev_hash, &event);
    AuditEntry { seq, event, prev_hash: prev_hash.to_string(), hash }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry {seq}: {reason}")]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: &'static str,
}

/// Checks entries in sequence order, continuing from `(seq, hash)` of the
/// last entry already verified (`(0, GENESIS)` from the start). Returns the
/// new position, so a long log can be verified in pages.
pub fn verify<'a>(
    from: (i64, String),
    entries: impl IntoIterator<Item = &'a AuditEntry>,
) -> Result<(i64, String), BrokenLink> {
    let (mut seq, mut prev) = from;
    for e in entries {
        if e.seq != seq + 1 {
            return Err(BrokenLink { seq: seq + 1, reason: "entry missing or out of order" });
        }
        if e.prev_hash != prev {
            return Err(BrokenLink { seq: e.seq, reason: "does not link to the previous entry" });
        }
        if entry_hash(e.seq, &e.prev_hash, &e.event) != e.hash {
            return Err(BrokenLink { seq: e.seq, reason: "content does not match its hash" });
        }
        seq = e.seq;
        prev = e.hash.clone();
    }
    Ok((seq, prev))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str) -> AuditEvent {
        AuditEvent {
            at: 1,
            actor: Some("a".into()),
            ip: None,
            action: action.into(),
            target: None,
            outcome: Outcome::Success,
            details: serde_json::json!({"z": 1, "a": 2}),
        }
    }

    fn log(n: i64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = vec![];
        for seq in 1..=n {
            let prev = out.last().map_or(GENESIS.to_string(), |e| e.hash.clone());
            out.push(chain(seq, &prev, event(&format!("e{seq}"))));
        }
        out
    }

    #[test]
    fn an_intact_chain_verifies() {
        let l = log(5);
        assert_eq!(verify((0, GENESIS.into()), &l).map(|p| p.0), Ok(5));
    }

    #[test]
    fn an_edit_names_the_edited_entry() {
        let mut l = log(5);
        l[2].event.action = "tampered".into();
        assert_eq!(verify((0, GENESIS.into()), &l).map_err(|e| e.seq), Err(3));
    }

    #[test]
    fn a_removed_entry_is_found() {
        let mut l = log(5);
        l.remove(1);
        assert_eq!(verify((0, GENESIS.into()), &l).map_err(|e| e.seq), Err(2));
    }

    #[test]
    fn a_rehashed_edit_breaks_the_next_link() {
        let mut l = log(5);
        l[2].event.action = "tampered".into();
        l[2].hash = entry_hash(3, &l[2].prev_hash.clone(), &l[2].event);
        assert_eq!(verify((0, GENESIS.into()), &l).map_err(|e| e.seq), Err(4));
    }
}
