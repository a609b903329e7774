//! VK community messages: events arrive through the Callback API
//! (https://dev.vk.com/ru/api/callback/getting-started), replies go out
//! with `messages.send` (https://dev.vk.com/ru/method/messages.send).
//!
//! Every event carries the community's `secret`, checked in constant time.
//! A reply's `random_id` is derived from the reply's own id, so a retry
//! after a lost answer is recognised by VK and not sent twice.

use super::{Inbound, Location, OutBody, Outgoing, RemoteFile, SendError, transport};
use ostrog_domain::ids::ChannelId;
use serde_json::Value;

pub struct Community {
    pub id: ChannelId,
    pub api_base: String,
    pub group_id: i64,
    pub api_version: String,
    pub file_hosts: Vec<String>,
    pub access_token: String,
    pub secret: String,
    pub confirmation: String,
}

/// What a Callback API event asks of the server.
#[derive(Debug, PartialEq, Eq)]
pub enum Callback {
    /// Answer with the confirmation string.
    Confirmation,
    Message(Inbound),
    /// Anything else: answered `ok`, nothing stored.
    Ignored,
}

/// Peer ids from here on are group chats (https://dev.vk.com/ru/reference/objects/message).
const CHAT_PEERS: i64 = 2_000_000_000;

impl Community {
    /// Checks the event's community and secret; `None` when it is not
    /// ours or the secret is wrong.
    pub fn read_event(&self, event: &Value) -> Option<Callback> {
        let secret = event["secret"].as_str().unwrap_or_default();
        let ours = event["group_id"].as_i64() == Some(self.group_id);
        if !crate::secrets_equal(secret.as_bytes(), self.secret.as_bytes()) || !ours {
            return None;
        }
        Some(match event["type"].as_str() {
            Some("confirmation") => Callback::Confirmation,
            Some("message_new") => parse_message(self.id, event).map_or(Callback::Ignored, Callback::Message),
            _ => Callback::Ignored,
        })
    }

    async fn call(&self, http: &reqwest::Client, method: &str, params: &[(&str, String)]) -> Result<Value, SendError> {
        let mut form: Vec<(&str, String)> =
            vec![("access_token", self.access_token.clone()), ("v", self.api_version.clone())];
        form.extend_from_slice(params);
        let url = format!("{}/method/{method}", self.api_base);
        let response = http.post(url).form(&form).send().await.map_err(|e| transport(&e))?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.map_err(|_| SendError::retry(format!("VK answered HTTP {status}")))?;
        match body.get("error") {
            None => Ok(body["response"].clone()),
            Some(error) => Err(classify(error)),
        }
    }

    /// Checks the token against the community (`groups.getById`).
    pub async fn check(&self, http: &reqwest::Client) -> Result<(), SendError> {
        self.call(http, "groups.getById", &[("group_id", self.group_id.to_string())]).await.map(|_| ())
    }

    pub async fn send(&self, http: &reqwest::Client, out: &Outgoing) -> Result<(), SendError> {
        let text = match &out.body {
            OutBody::Text(text) => text.clone(),
            // Documents go through VK's upload servers; until then the
            // contact is told a file is waiting rather than sent nothing.
            OutBody::File { name, .. } => format!("[file: {name}]"),
        };
        let params = [
            ("peer_id", out.contact.clone()),
            ("random_id", random_id(out.message_id).to_string()),
            ("message", text),
            ("group_id", self.group_id.to_string()),
        ];
        self.call(http, "messages.send", &params).await.map(|_| ())
    }

    /// Downloads an attachment, only from the API's host or the hosts
    /// the channel allows (VK keeps files on its own servers).
    pub async fn fetch(&self, http: &reqwest::Client, url: &str) -> Result<reqwest::Response, SendError> {
        if !self.may_fetch(url) {
            return Err(SendError::Permanent("an attachment on a host this channel does not allow".into()));
        }
        let response = http.get(url).send().await.map_err(|e| transport(&e))?;
        if !response.status().is_success() {
            return Err(SendError::retry(format!("VK answered HTTP {} for a file", response.status().as_u16())));
        }
        Ok(response)
    }

    fn may_fetch(&self, url: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(url) else { return false };
        let Ok(api) = reqwest::Url::parse(&self.api_base) else { return false };
        let host = url.host_str().unwrap_or_default();
        if url.origin() == api.origin() {
            return true;
        }
        url.scheme() == "https"
            && url.username().is_empty()
            && self.file_hosts.iter().any(|allowed| host == allowed || host.ends_with(&format!(".{allowed}")))
    }
}

/// A positive int32 from the reply's id: the same reply, the same
/// `random_id`, however often it is tried.
pub fn random_id(message: uuid::Uuid) -> i32 {
    let b = message.as_bytes();
    i32::from_be_bytes([b[0] & 0x7f, b[1], b[2], b[3]])
}

/// VK's error codes (https://dev.vk.com/ru/reference/errors): rate limits
/// and VK's own failures are tried again; refusals are shown as they are.
fn classify(error: &Value) -> SendError {
    let code = error["error_code"].as_i64().unwrap_or(0);
    let text = error["error_msg"].as_str().unwrap_or("no description").chars().take(200).collect::<String>();
    let reason = format!("VK error {code}: {text}");
    match code {
        // Unknown error, too many requests per second, flood control, internal error.
        1 | 6 | 9 | 10 => SendError::retry(reason),
        _ => SendError::Permanent(reason),
    }
}

fn parse_message(channel: ChannelId, event: &Value) -> Option<Inbound> {
    let message = &event["object"]["message"];
    let peer = message["peer_id"].as_i64()?;
    let from = message["from_id"].as_i64()?;
    // Users write with positive ids; communities and group chats are left out.
    if from <= 0 || peer >= CHAT_PEERS {
        return None;
    }
    let event_id = event["event_id"].as_str().map_or_else(|| format!("m{}", message["id"]), str::to_string);
    let text = message["text"].as_str().filter(|t| !t.is_empty()).map(str::to_string);
    let mut files = Vec::new();
    for attachment in message["attachments"].as_array().into_iter().flatten() {
        match attachment["type"].as_str() {
            Some("doc") => {
                let doc = &attachment["doc"];
                let (title, ext) = (doc["title"].as_str().unwrap_or("document"), doc["ext"].as_str().unwrap_or(""));
                let name = if ext.is_empty() || title.ends_with(&format!(".{ext}")) {
                    title.to_string()
                } else {
                    format!("{title}.{ext}")
                };
                if let Some(url) = doc["url"].as_str() {
                    files.push(RemoteFile { name, size: doc["size"].as_u64(), location: Location::Url(url.into()) });
                }
            }
            Some("photo") => {
                let largest = attachment["photo"]["sizes"]
                    .as_array()
                    .and_then(|sizes| sizes.iter().max_by_key(|s| s["width"].as_u64().unwrap_or(0)));
                if let Some(url) = largest.and_then(|s| s["url"].as_str()) {
                    files.push(RemoteFile {
                        name: "photo.jpg".into(),
                        size: None,
                        location: Location::Url(url.into()),
                    });
                }
            }
            _ => {}
        }
    }
    if text.is_none() && files.is_empty() {
        return None;
    }
    // A VK message names no one: the name would take a `users.get` call.
    Some(Inbound { key: format!("vk:{channel}:{event_id}"), contact: peer.to_string(), name: None, text, files })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn community() -> Community {
        Community {
            id: ChannelId::random(),
            api_base: "http://127.0.0.1:7".into(),
            group_id: 5,
            api_version: "5.199".into(),
            file_hosts: vec!["userapi.com".into()],
            access_token: "t".into(),
            secret: "s3cret".into(),
            confirmation: "abc".into(),
        }
    }

    fn event(kind: &str, secret: &str, object: Value) -> Value {
        json!({"type": kind, "group_id": 5, "event_id": "e1", "v": "5.199", "secret": secret, "object": object})
    }

    #[test]
    fn events_need_the_secret_and_the_community() {
        let c = community();
        assert_eq!(c.read_event(&event("confirmation", "s3cret", json!({}))), Some(Callback::Confirmation));
        assert_eq!(c.read_event(&event("confirmation", "wrong", json!({}))), None);
        assert_eq!(c.read_event(&json!({"type": "confirmation", "group_id": 5})), None);
        let mut other = event("confirmation", "s3cret", json!({}));
        other["group_id"] = json!(6);
        assert_eq!(c.read_event(&other), None);
        assert_eq!(c.read_event(&event("wall_post_new", "s3cret", json!({}))), Some(Callback::Ignored));
    }

    #[test]
    fn messages_of_users_with_their_attachments() {
        let c = community();
        let object = json!({"message": {"id": 9, "peer_id": 77, "from_id": 77, "text": "hi", "attachments": [
            {"type": "doc", "doc": {"title": "scan", "ext": "pdf", "url": "https://x.userapi.com/d", "size": 4}},
            {"type": "photo", "photo": {"sizes": [{"width": 10, "url": "https://a/s"}, {"width": 90, "url": "https://a/b"}]}},
            {"type": "sticker", "sticker": {}}]}});
        let Some(Callback::Message(m)) = c.read_event(&event("message_new", "s3cret", object)) else { panic!() };
        assert_eq!((m.key, m.contact, m.text), (format!("vk:{}:e1", c.id), "77".into(), Some("hi".into())));
        let names: Vec<_> = m.files.iter().map(|f| (f.name.as_str(), &f.location)).collect();
        assert_eq!(
            names,
            [
                ("scan.pdf", &Location::Url("https://x.userapi.com/d".into())),
                ("photo.jpg", &Location::Url("https://a/b".into()))
            ]
        );
        let chat = json!({"message": {"id": 1, "peer_id": 2_000_000_001i64, "from_id": 77, "text": "hi"}});
        assert_eq!(c.read_event(&event("message_new", "s3cret", chat)), Some(Callback::Ignored));
    }

    #[test]
    fn random_ids_are_stable_positive_int32() {
        let id = uuid::Uuid::new_v4();
        assert_eq!(random_id(id), random_id(id));
        assert!(random_id(uuid::Uuid::from_bytes([0xff; 16])) > 0);
    }

    #[test]
    fn errors_are_retried_or_shown() {
        let e = |code: i64| classify(&json!({"error_code": code, "error_msg": "m"}));
        assert!(matches!(e(6), SendError::Retry { .. }) && matches!(e(9), SendError::Retry { .. }));
        assert_eq!(e(901), SendError::Permanent("VK error 901: m".into()));
    }

    #[test]
    fn files_only_from_allowed_hosts() {
        let c = community();
        assert!(c.may_fetch("https://sun9-1.userapi.com/x"));
        assert!(c.may_fetch("http://127.0.0.1:7/files/a"));
        for bad in [
            "http://sun9-1.userapi.com/x",
            "https://evil.com/x",
            "https://userapi.com.evil.com/",
            "http://127.0.0.1:8/",
        ] {
            assert!(!c.may_fetch(bad), "{bad}");
        }
    }
}
