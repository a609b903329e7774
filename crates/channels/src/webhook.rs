//! The generic webhook channel, for a company's own apps and for
//! messengers Ostrog has no module for. Both directions are signed the same
//! way: `X-Ostrog-Timestamp: <unix seconds>` and
//! `X-Ostrog-Signature: v1=<hex HMAC-SHA256(key, "<timestamp>.<body>")>`.
//! A signature binds the timestamp, and a timestamp more than five minutes
//! away from the server's clock is refused, so a captured call cannot be
//! replayed later; within the window, the event id makes it happen once.

use super::{Inbound, OutBody, Outgoing, SendError, transport};
use hmac::{Hmac, Mac};
use ostrog_domain::ids::ChannelId;
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

pub const TIMESTAMP_HEADER: &str = "x-ostrog-timestamp";
pub const SIGNATURE_HEADER: &str = "x-ostrog-signature";

pub struct Endpoint {
    pub url: String,
    pub key: Vec<u8>,
}

/// Why an inbound call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    BadSignature,
    StaleTimestamp,
}

/// What a company's app POSTs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundBody {
    pub event_id: String,
    pub contact: Contact,
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub id: String,
    /// How the company names the user: the contact's display name.
    #[serde(default)]
    pub name: Option<String>,
}

pub fn signature(key: &[u8], timestamp: &str, body: &[u8]) -> String {
    format!("v1={}", hex::encode(mac(key, timestamp, body).finalize().into_bytes()))
}

fn mac(key: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

impl Endpoint {
    /// Checks the signature (in constant time) first, then the timestamp
    /// against `now`: an unsigned caller learns nothing about the clock.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), Refusal> {
        let (Some(timestamp), Some(signature)) = (timestamp, signature) else { return Err(Refusal::BadSignature) };
        let given = signature.strip_prefix("v1=").and_then(|h| hex::decode(h).ok()).ok_or(Refusal::BadSignature)?;
        mac(&self.key, timestamp, body).verify_slice(&given).map_err(|_| Refusal::BadSignature)?;
        let seconds = timestamp.parse::<i64>().map_err(|_| Refusal::StaleTimestamp)?;
        if !ostrog_domain::channel::timestamp_is_fresh(seconds, now) {
            return Err(Refusal::StaleTimestamp);
        }
        Ok(())
    }

    pub async fn send(&self, http: &reqwest::Client, out: &Outgoing) -> Result<(), SendError> {
        let text = match &out.body {
            OutBody::Text(text) => text.clone(),
            OutBody::File { name, .. } => format!("[file: {name}]"),
        };
        let body = json!({
            "event_id": out.message_id, "conversation_id": out.conversation_id,
            "contact_id": out.contact, "text": text, "sent_at": out.at,
        });
        let body = serde_json::to_vec(&body).map_err(|e| SendError::Permanent(e.to_string()))?;
        let timestamp = (out_now() / 1000).to_string();
        let response = http
            .post(&self.url)
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, signature(&self.key, &timestamp, &body))
            .header("idempotency-key", out.message_id.to_string())
            .body(body)
            .send()
            .await
            .map_err(|e| transport(&e))?;
        let status = response.status().as_u16();
        match status {
            200..=299 => Ok(()),
            408 | 429 | 500.. => {
                let after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i64>().ok())
                    .map(|s| s.clamp(0, 86_400) * 1000);
                Err(SendError::Retry { reason: format!("the endpoint answered HTTP {status}"), after_ms: after })
            }
            _ => Err(SendError::Permanent(format!("the endpoint refused the reply with HTTP {status}"))),
        }
    }
}

/// The signing time of an outbound call is the wall clock: the receiver
/// compares it with its own.
fn out_now() -> i64 {
    use ostrog_domain::clock::{Clock, SystemClock};
    SystemClock.now()
}

/// A verified body as a message of a contact.
pub fn parse(channel: ChannelId, body: &[u8]) -> Result<Inbound, &'static str> {
    let b: InboundBody = serde_json::from_slice(body).map_err(|_| "body")?;
    let id_ok = |s: &str| !s.trim().is_empty() && s.len() <= 200 && !s.chars().any(char::is_control);
    if !id_ok(&b.event_id) {
        return Err("event_id");
    }
    if !id_ok(&b.contact.id) {
        return Err("contact.id");
    }
    Ok(Inbound {
        key: format!("webhook:{channel}:{}", b.event_id),
        contact: b.contact.id,
        name: b.contact.name,
        text: Some(b.text),
        files: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn endpoint() -> Endpoint {
        Endpoint { url: "http://127.0.0.1:1/".into(), key: b"key".to_vec() }
    }

    #[test]
    fn a_signed_fresh_call_passes_and_nothing_else() {
        let e = endpoint();
        let ts = (NOW / 1000).to_string();
        let body = br#"{"a":1}"#;
        let good = signature(b"key", &ts, body);
        assert_eq!(e.verify(Some(&ts), Some(&good), body, NOW), Ok(()));
        assert_eq!(e.verify(Some(&ts), Some(&good), br#"{"a":2}"#, NOW), Err(Refusal::BadSignature));
        assert_eq!(e.verify(Some(&ts), Some(&signature(b"other", &ts, body)), body, NOW), Err(Refusal::BadSignature));
        assert_eq!(e.verify(None, Some(&good), body, NOW), Err(Refusal::BadSignature));
        assert_eq!(e.verify(Some(&ts), Some("v1=zz"), body, NOW), Err(Refusal::BadSignature));
        let old = (NOW / 1000 - 301).to_string();
        assert_eq!(e.verify(Some(&old), Some(&signature(b"key", &old, body)), body, NOW), Err(Refusal::StaleTimestamp));
        // The timestamp is signed: moving it breaks the signature.
        assert_eq!(e.verify(Some(&old), Some(&good), body, NOW), Err(Refusal::BadSignature));
    }

    #[test]
    fn bodies_are_strict() {
        let ch = ChannelId::random();
        let ok = parse(ch, br#"{"event_id":"e1","contact":{"id":"u1"},"text":"hi"}"#).unwrap();
        assert_eq!((ok.key, ok.contact, ok.text), (format!("webhook:{ch}:e1"), "u1".into(), Some("hi".into())));
        assert_eq!(parse(ch, br#"{"event_id":"","contact":{"id":"u"},"text":"x"}"#).unwrap_err(), "event_id");
        assert_eq!(parse(ch, br#"{"event_id":"e","contact":{"id":" "},"text":"x"}"#).unwrap_err(), "contact.id");
        assert_eq!(parse(ch, br#"{"event_id":"e","contact":{"id":"u"},"text":"x","extra":1}"#).unwrap_err(), "body");
    }
}
