//! Messenger channels: Telegram, VK and the generic webhook channel.
//!
//! Every messenger is one module that translates between its API and the
//! conversation model: an inbound update becomes an `Inbound` (who wrote,
//! what, which files, and a key that makes it happen once), and a reply
//! becomes one call to the messenger (`Outgoing`), which either succeeds,
//! fails for now (`SendError::Retry`) or fails for good. What the modules
//! share — contacts, conversations, the scan of every file, the durable
//! outbox, the retry policy — lives in `services::channels` and
//! `jobs::outbox`.
//! The widget is the one channel without a module: its visitors hold a
//! WebSocket, so replies reach them through the hub, not an outbox.
//!
//! Tokens never leave this layer: not in a response, a log line or an
//! error message. Calls go only to the channel's configured API base (no
//! redirects are followed), and every call has a timeout.

pub mod address;
pub mod telegram;
pub mod vk;
pub mod webhook;

use ostrog_config::ChannelsConfig;
use ostrog_domain::channel::{ChannelKind, ChannelSecrets, ChannelSettings, RetryPolicy};
use ostrog_domain::ids::ChannelId;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Two secrets compared in constant time, their lengths included (both are
/// hashed first, so the comparison always runs over 32 bytes).
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    Sha256::digest(a).ct_eq(&Sha256::digest(b)).into()
}

/// What the channels share at run time.
pub struct Channels {
    pub http: reqwest::Client,
    /// `channels.allow_private_addresses`: may channels call this host or the private network?
    pub allow_private: bool,
    pub policy: RetryPolicy,
    /// A polling channel was connected, changed or disconnected.
    pub pollers: Notify,
    /// When a refused hook call was last audited, by channel: a flood of
    /// forged calls makes one entry a minute, not one each.
    refusals: std::sync::Mutex<std::collections::HashMap<ChannelId, i64>>,
}

impl Channels {
    pub fn new(config: &ChannelsConfig) -> Channels {
        let secs = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        Channels {
            http: http_client(Duration::from_secs(config.request_timeout_seconds), config.allow_private_addresses),
            allow_private: config.allow_private_addresses,
            policy: RetryPolicy {
                base_ms: secs(config.retry_base_seconds),
                max_ms: secs(config.retry_max_seconds),
                give_up_after_ms: secs(config.give_up_after_hours.saturating_mul(3600)),
            },
            pollers: Notify::new(),
            refusals: Default::default(),
        }
    }

    /// Whether a refused hook call of `channel` at `now` is to be audited.
    pub fn audit_refusal(&self, channel: ChannelId, now: i64) -> bool {
        let mut last = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        if last.get(&channel).is_some_and(|at| now - at < 60_000) {
            return false;
        }
        last.insert(channel, now);
        true
    }

    /// Refuses an address on this host or the private network, unless allowed.
    pub fn check_address(&self, url: &str) -> Result<(), SendError> {
        if !self.allow_private && address::names_private_ip(url) {
            return Err(SendError::Permanent(
                "the address is on a private network, which channels may not call (channels.allow_private_addresses)"
                    .into(),
            ));
        }
        Ok(())
    }

    pub fn pollers_changed(&self) {
        self.pollers.notify_one();
    }
}

/// One message from a messenger's user, as the channel module read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// Unique per update of this channel (`telegram:<channel>:<update_id>`…):
    /// the same update delivered twice stores nothing twice.
    pub key: String,
    /// The messenger's id of the user; replies go back to it.
    pub contact: String,
    /// The user's name as the messenger's profile gives it, when it does
    /// (Telegram: first and last name, else @username).
    pub name: Option<String>,
    pub text: Option<String>,
    pub files: Vec<RemoteFile>,
}

/// A file a messenger holds for us, fetched by the server (never by the
/// operator's browser) and scanned before anyone sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    pub name: String,
    pub size: Option<u64>,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Telegram: a `file_id` to resolve with `getFile`.
    TelegramFile(String),
    /// VK: a download address from the event.
    Url(String),
}

/// A reply on its way out.
pub struct Outgoing {
    pub contact: String,
    /// The reply's id: idempotency keys are derived from it.
    pub message_id: uuid::Uuid,
    pub conversation_id: uuid::Uuid,
    pub at: i64,
    pub body: OutBody,
}

pub enum OutBody {
    Text(String),
    File { name: String, content_type: String, bytes: Vec<u8> },
}

/// Why a call to a messenger failed. The reason is shown to the operator:
/// it never holds a token or an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again (an outage, a rate limit); `after_ms` when the
    /// messenger said how long to wait.
    #[error("{reason}")]
    Retry { reason: String, after_ms: Option<i64> },
    /// The messenger refused for good (the user blocked the bot, a token
    /// was revoked, the message is not allowed).
    #[error("{0}")]
    Permanent(String),
}

impl SendError {
    pub fn retry(reason: impl Into<String>) -> SendError {
        SendError::Retry { reason: reason.into(), after_ms: None }
    }
}

/// A transport failure, described without the address (which may hold a
/// token, as Telegram's does).
pub fn transport(e: &reqwest::Error) -> SendError {
    let reason = if e.is_timeout() {
        "the messenger did not answer in time"
    } else if e.is_connect() {
        "the messenger could not be reached"
    } else if e.is_redirect() {
        "the messenger answered with a redirect, which is not followed"
    } else if e.is_decode() || e.is_body() {
        "the messenger's answer could not be read"
    } else {
        "the call to the messenger failed"
    };
    SendError::retry(reason)
}

/// The HTTP client of every channel: no redirects (an API that redirects
/// elsewhere could carry a token off), timeouts on connecting and on the
/// whole call, no cookies, and names resolved to public addresses only
/// unless private ones are allowed.
pub fn http_client(request_timeout: Duration, allow_private: bool) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(request_timeout)
        .user_agent(concat!("Ostrog/", env!("CARGO_PKG_VERSION")));
    let builder = if allow_private { builder } else { builder.dns_resolver(Arc::new(address::PublicOnly)) };
    builder.build().unwrap_or_default()
}

/// A connected channel, ready to talk to its messenger.
pub enum Connector {
    Telegram(telegram::Bot),
    Vk(vk::Community),
    Webhook(webhook::Endpoint),
}

impl Connector {
    /// `None` when the secrets the kind needs are missing (never, for a
    /// channel connected through the API).
    pub fn new(id: ChannelId, settings: &ChannelSettings, secrets: &ChannelSecrets) -> Option<Connector> {
        Some(match settings {
            ChannelSettings::Telegram { api_base, .. } => Connector::Telegram(telegram::Bot::new(
                id,
                api_base,
                secrets.bot_token.as_deref()?,
                secrets.webhook_secret.as_deref(),
            )),
            ChannelSettings::Vk { api_base, group_id, api_version, file_hosts } => Connector::Vk(vk::Community {
                id,
                api_base: api_base.clone(),
                group_id: *group_id,
                api_version: api_version.clone(),
                file_hosts: file_hosts.clone(),
                access_token: secrets.access_token.clone()?,
                secret: secrets.secret.clone()?,
                confirmation: secrets.confirmation.clone()?,
            }),
            ChannelSettings::Webhook { url } => Connector::Webhook(webhook::Endpoint {
                url: url.clone(),
                key: hex::decode(secrets.signing_key.as_deref()?).ok()?,
            }),
        })
    }

    pub fn kind(&self) -> ChannelKind {
        match self {
            Connector::Telegram(_) => ChannelKind::Telegram,
            Connector::Vk(_) => ChannelKind::Vk,
            Connector::Webhook(_) => ChannelKind::Webhook,
        }
    }

    pub async fn send(&self, http: &reqwest::Client, out: &Outgoing) -> Result<(), SendError> {
        match self {
            Connector::Telegram(bot) => bot.send(http, out).await,
            Connector::Vk(community) => community.send(http, out).await,
            Connector::Webhook(endpoint) => endpoint.send(http, out).await,
        }
    }

    /// Starts downloading a file the messenger holds; the response streams.
    pub async fn fetch(&self, http: &reqwest::Client, file: &RemoteFile) -> Result<reqwest::Response, SendError> {
        match (self, &file.location) {
            (Connector::Telegram(bot), Location::TelegramFile(id)) => bot.fetch(http, id).await,
            (Connector::Vk(community), Location::Url(url)) => community.fetch(http, url).await,
            _ => Err(SendError::Permanent("this channel holds no such file".into())),
        }
    }
}
