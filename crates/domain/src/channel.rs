//! Messenger channels: which kinds exist, what an administrator configures
//! for each (settings in the clear, secrets apart), and the rules of
//! delivery — when a failed reply is tried again and when it is given up.
//! The secrets here are only checked for shape: they are sealed and kept
//! by the server, never shown back.

use crate::clock::Millis;
use crate::error::DomainError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Telegram,
    Vk,
    Webhook,
}

impl ChannelKind {
    /// The name stored with each conversation of the channel.
    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::Telegram => "telegram",
            ChannelKind::Vk => "vk",
            ChannelKind::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<ChannelKind> {
        [ChannelKind::Telegram, ChannelKind::Vk, ChannelKind::Webhook].into_iter().find(|k| k.name() == s)
    }

    /// The secrets a connected channel of this kind holds, by name (what
    /// the administrator gave, and what the server made): shown as "set"
    /// without opening them.
    pub fn secret_names(self) -> &'static [&'static str] {
        match self {
            ChannelKind::Telegram => &["bot_token", "webhook_secret"],
            ChannelKind::Vk => &["access_token", "secret", "confirmation"],
            ChannelKind::Webhook => &["signing_key"],
        }
    }
}

/// Where the server reaches the messenger, and how. Secrets never go here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelSettings {
    Telegram {
        #[serde(default = "telegram_api")]
        api_base: String,
        #[serde(default)]
        mode: TelegramMode,
    },
    Vk {
        #[serde(default = "vk_api")]
        api_base: String,
        group_id: i64,
        #[serde(default = "vk_version")]
        api_version: String,
        /// Hosts (and their subdomains) attachments may be fetched from,
        /// besides the API's own host.
        #[serde(default = "vk_file_hosts")]
        file_hosts: Vec<String>,
    },
    Webhook {
        /// Where replies are POSTed.
        url: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TelegramMode {
    /// Telegram calls the server (it must be reachable over https).
    #[default]
    Webhook,
    /// The server asks Telegram (`getUpdates`), for servers it cannot reach.
    Polling,
}

fn telegram_api() -> String {
    "https://api.telegram.org".into()
}
fn vk_api() -> String {
    "https://api.vk.com".into()
}
fn vk_version() -> String {
    "5.199".into()
}
fn vk_file_hosts() -> Vec<String> {
    ["vk.com", "userapi.com", "vk-cdn.net"].map(String::from).to_vec()
}

impl ChannelSettings {
    pub fn kind(&self) -> ChannelKind {
        match self {
            ChannelSettings::Telegram { .. } => ChannelKind::Telegram,
            ChannelSettings::Vk { .. } => ChannelKind::Vk,
            ChannelSettings::Webhook { .. } => ChannelKind::Webhook,
        }
    }

    /// The one address outbound calls may go to (for the webhook channel,
    /// the company's URL).
    pub fn api_base(&self) -> &str {
        match self {
            ChannelSettings::Telegram { api_base, .. } | ChannelSettings::Vk { api_base, .. } => api_base,
            ChannelSettings::Webhook { url } => url,
        }
    }

    pub fn validated(mut self) -> Result<Self, DomainError> {
        match &mut self {
            ChannelSettings::Telegram { api_base, .. } => *api_base = base_url(api_base, "settings.api_base")?,
            ChannelSettings::Vk { api_base, group_id, api_version, file_hosts } => {
                *api_base = base_url(api_base, "settings.api_base")?;
                let version_ok = !api_version.is_empty()
                    && api_version.len() <= 10
                    && api_version.chars().all(|c| c.is_ascii_digit() || c == '.');
                if *group_id <= 0 {
                    return Err(DomainError::Invalid("settings.group_id"));
                }
                if !version_ok {
                    return Err(DomainError::Invalid("settings.api_version"));
                }
                let host_ok = |h: &String| {
                    !h.is_empty()
                        && h.len() <= 100
                        && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
                };
                if file_hosts.len() > 20 || !file_hosts.iter().all(host_ok) {
                    return Err(DomainError::Invalid("settings.file_hosts"));
                }
            }
            ChannelSettings::Webhook { url } => {
                check_url(url, "settings.url")?;
            }
        }
        Ok(self)
    }
}

/// An http(s) address without credentials, query or fragment, with no
/// trailing slash (paths are appended to it).
fn base_url(url: &str, field: &'static str) -> Result<String, DomainError> {
    check_url(url, field)?;
    if url.contains(['?', '#']) {
        return Err(DomainError::Invalid(field));
    }
    Ok(url.trim_end_matches('/').to_string())
}

fn check_url(url: &str, field: &'static str) -> Result<(), DomainError> {
    let rest =
        url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).ok_or(DomainError::Invalid(field))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let clean = url.len() <= 500 && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !clean || authority.is_empty() || authority.contains('@') {
        return Err(DomainError::Invalid(field));
    }
    Ok(())
}

/// The secrets an administrator gives for a channel. The webhook channel
/// takes none: its signing key is made by the server.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ChannelSecrets {
    /// Telegram: the bot's token from @BotFather.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_token: Option<String>,
    /// Telegram: the `secret_token` the server registered with the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// VK: the community's access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// VK: the Callback API secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// VK: the confirmation string the Callback API expects back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<String>,
    /// Webhook channel: the HMAC key, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
}

/// Secrets never print, even by accident in a debug line.
impl std::fmt::Debug for ChannelSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChannelSecrets(…)")
    }
}

impl ChannelSecrets {
    /// Checks that the administrator gave what `kind` needs, and nothing
    /// the server makes itself.
    pub fn validate_given(&self, kind: ChannelKind) -> Result<(), DomainError> {
        if self.webhook_secret.is_some() || self.signing_key.is_some() {
            return Err(DomainError::Invalid("secrets"));
        }
        let token_like = |v: &Option<String>, field: &'static str| match v {
            Some(s) if !s.is_empty() && s.len() <= 512 && s.chars().all(|c| c.is_ascii_graphic()) => Ok(()),
            _ => Err(DomainError::Invalid(field)),
        };
        let none = |v: &Option<String>, field| if v.is_some() { Err(DomainError::Invalid(field)) } else { Ok(()) };
        match kind {
            ChannelKind::Telegram => {
                // "123456789:AA…": the bot's id, a colon, the key.
                let ok = self.bot_token.as_deref().and_then(|t| t.split_once(':')).is_some_and(|(id, key)| {
                    !id.is_empty()
                        && id.chars().all(|c| c.is_ascii_digit())
                        && key.len() >= 20
                        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                });
                if !ok || self.bot_token.as_ref().is_some_and(|t| t.len() > 200) {
                    return Err(DomainError::Invalid("secrets.bot_token"));
                }
                none(&self.access_token, "secrets.access_token")?;
                none(&self.secret, "secrets.secret")?;
                none(&self.confirmation, "secrets.confirmation")
            }
            ChannelKind::Vk => {
                none(&self.bot_token, "secrets.bot_token")?;
                token_like(&self.access_token, "secrets.access_token")?;
                token_like(&self.secret, "secrets.secret")?;
                token_like(&self.confirmation, "secrets.confirmation")
            }
            ChannelKind::Webhook => {
                for (v, field) in [
                    (&self.bot_token, "secrets.bot_token"),
                    (&self.access_token, "secrets.access_token"),
                    (&self.secret, "secrets.secret"),
                    (&self.confirmation, "secrets.confirmation"),
                ] {
                    none(v, field)?;
                }
                Ok(())
            }
        }
    }
}

/// Where a reply stands on its way to the messenger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Sent,
    /// Given up: the reason is kept and shown; it waits in the dead letters.
    Failed,
}

impl DeliveryStatus {
    pub fn name(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [DeliveryStatus::Pending, DeliveryStatus::Sent, DeliveryStatus::Failed].into_iter().find(|d| d.name() == s)
    }
}

/// When a reply that could not be sent is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base_ms: i64,
    pub max_ms: i64,
    /// Counted from when the reply was written.
    pub give_up_after_ms: i64,
}

impl RetryPolicy {
    /// The next attempt after `attempts` failed ones (1 = the first
    /// failed), or `None` to give up. The messenger's own "retry after"
    /// wins when it asks for longer.
    pub fn next_attempt(&self, attempts: u32, now: Millis, created_at: Millis, asked: Option<i64>) -> Option<Millis> {
        let doubling = self.base_ms.saturating_mul(1i64 << attempts.saturating_sub(1).min(30));
        let wait = doubling.min(self.max_ms).max(asked.unwrap_or(0));
        let at = now.saturating_add(wait);
        (at <= created_at.saturating_add(self.give_up_after_ms)).then_some(at)
    }
}

/// How far a signed webhook's timestamp may be from the server's clock.
pub const WEBHOOK_TOLERANCE_MS: i64 = 5 * 60 * 1000;

/// Whether a signed request's timestamp (Unix seconds) is recent enough:
/// an older one is a replay, a much newer one a forgery or a broken clock.
pub fn timestamp_is_fresh(timestamp_seconds: i64, now: Millis) -> bool {
    timestamp_seconds.checked_mul(1000).is_some_and(|t| (now - t).abs() <= WEBHOOK_TOLERANCE_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: &str) -> Result<ChannelSettings, DomainError> {
        serde_json::from_str::<ChannelSettings>(json).map_err(|_| DomainError::Invalid("json"))?.validated()
    }

    #[test]
    fn settings_take_defaults_and_refuse_odd_addresses() {
        let s = settings(r#"{"kind":"telegram"}"#).unwrap();
        assert_eq!(s.api_base(), "https://api.telegram.org");
        let s = settings(r#"{"kind":"vk","group_id":5,"api_base":"http://127.0.0.1:9/"}"#).unwrap();
        assert_eq!(s.api_base(), "http://127.0.0.1:9");
        for bad in [
            r#"{"kind":"telegram","api_base":"ftp://x"}"#,
            r#"{"kind":"telegram","api_base":"https://user:pw@evil"}"#,
            r#"{"kind":"telegram","api_base":"https://x/?a=1"}"#,
            r#"{"kind":"vk","group_id":0}"#,
            r#"{"kind":"vk","group_id":1,"file_hosts":["a b"]}"#,
            r#"{"kind":"webhook","url":"https://"}"#,
            r#"{"kind":"webhook","url":"javascript:alert(1)"}"#,
        ] {
            assert!(settings(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_must_fit_the_kind() {
        let tg = |t: &str| ChannelSecrets { bot_token: Some(t.into()), ..Default::default() };
        assert!(tg("123456:AAbbCCddEEffGGhhIIjjKKll_-").validate_given(ChannelKind::Telegram).is_ok());
        for bad in ["123456", ":AAbbCCddEEffGGhhIIjjKK", "12a:AAbbCCddEEffGGhhIIjjKK", "1:short"] {
            assert!(tg(bad).validate_given(ChannelKind::Telegram).is_err(), "{bad}");
        }
        let given_key = ChannelSecrets { signing_key: Some("00".into()), ..Default::default() };
        assert!(given_key.validate_given(ChannelKind::Webhook).is_err());
        assert!(ChannelSecrets::default().validate_given(ChannelKind::Webhook).is_ok());
        assert!(ChannelSecrets::default().validate_given(ChannelKind::Vk).is_err());
        assert_eq!(format!("{:?}", tg("123456:AAbbCCddEEffGGhhIIjjKKll")), "ChannelSecrets(…)");
    }

    #[test]
    fn retries_double_up_to_the_cap_and_give_up_in_time() {
        let p = RetryPolicy { base_ms: 1000, max_ms: 8000, give_up_after_ms: 60_000 };
        let waits: Vec<i64> = (1..=6).map(|n| p.next_attempt(n, 0, 0, None).unwrap()).collect();
        assert_eq!(waits, [1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(p.next_attempt(1, 0, 0, Some(30_000)), Some(30_000), "the messenger's retry_after wins");
        assert_eq!(p.next_attempt(1, 59_500, 0, None), None, "past the give-up time");
        assert_eq!(p.next_attempt(u32::MAX, 0, 0, None), Some(8000));
    }

    #[test]
    fn webhook_timestamps_older_than_five_minutes_are_replays() {
        let now = 1_700_000_000_000;
        assert!(timestamp_is_fresh(now / 1000, now));
        assert!(timestamp_is_fresh(now / 1000 - 299, now));
        assert!(!timestamp_is_fresh(now / 1000 - 301, now));
        assert!(!timestamp_is_fresh(now / 1000 + 301, now));
        assert!(!timestamp_is_fresh(i64::MAX, now));
    }
}
