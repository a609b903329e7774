//! A company's endpoint for the generic webhook channel: it receives
//! Ostrog's outbound replies at `{base}/ostrog`, checks their signature
//! and answers the statuses a test asks for, so retries and signing can
//! be tested end to end. [`sign`] is the scheme in both directions, for
//! tests that post inbound events to Ostrog too.

use super::Served;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

pub struct FakeWebhookTarget {
    shared: Arc<Shared>,
    served: Served,
}

#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    /// The body as JSON; `Null` when it is not JSON.
    pub body: serde_json::Value,
    pub raw: Vec<u8>,
    /// The `X-Ostrog-Timestamp` header; empty when missing.
    pub timestamp: String,
    /// The `X-Ostrog-Signature` header; empty when missing.
    pub signature: String,
    pub signature_valid: bool,
    /// What we answered.
    pub status: u16,
}

struct Shared {
    key: Vec<u8>,
    state: Mutex<Target>,
}

#[derive(Default)]
struct Target {
    statuses: VecDeque<u16>,
    received: Vec<WebhookDelivery>,
}

impl FakeWebhookTarget {
    /// `key`: the channel's signing secret (raw bytes).
    pub async fn start(key: &[u8]) -> FakeWebhookTarget {
        let shared = Arc::new(Shared { key: key.to_vec(), state: Mutex::default() });
        let router = Router::new().route("/ostrog", post(receive)).with_state(shared.clone());
        FakeWebhookTarget { shared, served: Served::start(router).await }
    }

    /// The full URL, e.g. http://127.0.0.1:PORT/ostrog.
    pub fn url(&self) -> String {
        format!("{}/ostrog", self.served.base_url)
    }

    /// Answers these statuses to the next requests, in order, then 200 for the rest.
    pub fn respond_with(&self, statuses: &[u16]) {
        self.shared.state.lock().unwrap().statuses.extend(statuses);
    }

    /// Every request, in order.
    pub fn received(&self) -> Vec<WebhookDelivery> {
        self.shared.state.lock().unwrap().received.clone()
    }

    /// The requests answered 2xx, in order.
    pub fn delivered(&self) -> Vec<WebhookDelivery> {
        self.received().into_iter().filter(|d| (200..300).contains(&d.status)).collect()
    }
}

/// The signature scheme of the webhook channel, both directions: header `X-Ostrog-Timestamp: <unix seconds>`
/// and `X-Ostrog-Signature: v1=<lowercase hex of HMAC-SHA256(key, "<timestamp>.<raw body bytes>")>`.
/// Returns "v1=<hex>".
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("v1={}", hex::encode(mac(key, &timestamp.to_string(), body).finalize().into_bytes()))
}

fn mac(key: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Checks the headers as a careful receiver would: a numeric timestamp,
/// `v1=` and lowercase hex, compared in constant time (`verify_slice`).
/// The timestamp's age is not checked: tests run on a clock they move.
fn verify(key: &[u8], timestamp: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex) = signature.strip_prefix("v1=") else { return false };
    let lowercase = hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let Ok(tag) = hex::decode(hex) else { return false };
    lowercase && timestamp.parse::<i64>().is_ok() && mac(key, timestamp, body).verify_slice(&tag).is_ok()
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, raw: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (timestamp, signature) = (header("x-ostrog-timestamp"), header("x-ostrog-signature"));
    let signature_valid = verify(&shared.key, &timestamp, &raw, &signature);
    let mut state = shared.state.lock().unwrap();
    let status = state.statuses.pop_front().unwrap_or(200);
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    state.received.push(WebhookDelivery { body, raw: raw.to_vec(), timestamp, signature, signature_valid, status });
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn deliver(target: &FakeWebhookTarget, timestamp: &str, signature: &str, body: &[u8]) -> u16 {
        let request = reqwest::Client::new().post(target.url()).header("content-type", "application/json");
        let request = request.header("X-Ostrog-Timestamp", timestamp).header("X-Ostrog-Signature", signature);
        request.body(body.to_vec()).send().await.unwrap().status().as_u16()
    }

    #[test]
    fn sign_is_hmac_sha256_of_timestamp_dot_body() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"secret", b"1700000000.{\"a\":1}", hashlib.sha256).hexdigest())'
        let expected = "v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686";
        assert_eq!(sign(b"secret", 1_700_000_000, br#"{"a":1}"#), expected);
    }

    #[tokio::test]
    async fn checks_signatures_and_answers_as_told() {
        let target = FakeWebhookTarget::start(b"secret").await;
        target.respond_with(&[503, 500]);
        let body = br#"{"text":"hello"}"#;
        let good = sign(b"secret", 1_700_000_000, body);
        assert_eq!(deliver(&target, "1700000000", &good, body).await, 503);
        assert_eq!(deliver(&target, "1700000001", &good, body).await, 500);
        assert_eq!(deliver(&target, "1700000000", &format!("v1={}", good[3..].to_uppercase()), body).await, 200);
        assert_eq!(deliver(&target, "1700000000", &good, body).await, 200);
        let received = target.received();
        let seen: Vec<(u16, bool)> = received.iter().map(|d| (d.status, d.signature_valid)).collect();
        assert_eq!(seen, [(503, true), (500, false), (200, false), (200, true)]);
        assert_eq!((&received[0].body["text"], received[0].raw.as_slice()), (&json!("hello"), &body[..]));
        assert_eq!((received[0].timestamp.as_str(), received[0].signature.as_str()), ("1700000000", good.as_str()));
        let delivered = target.delivered();
        assert_eq!(delivered.iter().map(|d| d.signature_valid).collect::<Vec<_>>(), [false, true]);
    }
}
