//! Configuration: one struct, loaded from a TOML file, then `OSTROG_*`
//! environment variables (nested keys joined by `__`, e.g.
//! `OSTROG_AUTH__PASSWORD_MIN_LENGTH`), then command-line flags; later
//! sources win. Validated once at start-up with errors that name the setting.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod scanner;
pub use scanner::{IcapConfig, IcapMethod, ScanPolicy, ScannerConfig, icap_address};

/// `Debug` shows no credential: the database and bus addresses (which may
/// hold a password) and the metrics token are redacted (`redacted`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Folder for the SQLite database, the key file and (later) files.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means `sqlite://<data_dir>/ostrog.db`.
    pub database_url: String,
    /// Where data keys are kept, apart from the data: `sqlite://…` or
    /// `postgres://…`; empty means `sqlite://<data_dir>/keys.db` beside a
    /// SQLite database, or the database `<name>_keys` beside a PostgreSQL one.
    pub keys_database_url: String,
    /// The address employees open in the browser, e.g. `https://chat.example.com`.
    /// Used for set-up and invitation links and the CSRF origin check; empty
    /// means `http://<listen>`.
    pub public_url: String,
    /// Addresses of reverse proxies in front of Ostrog. Only from these is
    /// `X-Forwarded-For` believed for the client's address (audit log,
    /// sessions, per-IP throttling); from anyone else it is ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub log: LogConfig,
    pub limits: LimitsConfig,
    pub files: FilesConfig,
    pub scanner: ScannerConfig,
    pub metrics: MetricsConfig,
    pub backup: BackupConfig,
    pub channels: ChannelsConfig,
    pub cluster: ClusterConfig,
    pub doctor: DoctorConfig,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A separate address for `GET /metrics` without a token, e.g.
    /// `127.0.0.1:9464`: bind it where only the monitoring system reaches.
    pub listen: Option<SocketAddr>,
    /// Or `GET /metrics` on the main address, for `Authorization: Bearer <token>`
    /// (at least 32 characters). Neither set: no metrics are served.
    pub token: String,
}

/// Several nodes on one PostgreSQL database. On SQLite Ostrog is one node
/// and none of this applies.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// How nodes tell each other of new messages, assignments, presence and
    /// revocations: `postgres` (LISTEN/NOTIFY on the database, no other
    /// service), `nats` (a NATS server at `nats_url`) or `none` (one node
    /// on PostgreSQL). Ignored on SQLite.
    pub bus: String,
    /// `nats://host:4222`, or `tls://host:4222` for TLS; a user and
    /// password may be given as `nats://user:password@host:4222`.
    pub nats_url: String,
    /// The NATS subject and the PostgreSQL notification channel: the same
    /// on every node of one installation, different between installations
    /// sharing a NATS server. Letters, digits and `_`.
    pub subject: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.clone();
        shown.database_url = redacted(&shown.database_url);
        shown.keys_database_url = redacted(&shown.keys_database_url);
        shown.cluster.nats_url = redacted(&shown.cluster.nats_url);
        shown.metrics.token = redacted(&shown.metrics.token);
        match serde_json::to_string(&shown) {
            Ok(text) => write!(f, "Config {text}"),
            Err(_) => f.write_str("Config { .. }"),
        }
    }
}

impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig").field("listen", &self.listen).field("token", &redacted(&self.token)).finish()
    }
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("bus", &self.bus)
            .field("nats_url", &redacted(&self.nats_url))
            .field("subject", &self.subject)
            .finish()
    }
}

/// A credential or an address that may hold one, for `Debug`: only its
/// scheme is shown, and whether it is set at all.
fn redacted(value: &str) -> String {
    match value.split_once("://") {
        _ if value.is_empty() => String::new(),
        Some((scheme, _)) => format!("{scheme}://[redacted]"),
        None => "[redacted]".into(),
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self { bus: "postgres".into(), nats_url: "nats://127.0.0.1:4222".into(), subject: "ostrog".into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelsConfig {
    /// First wait before a reply that could not be sent is tried again;
    /// it doubles with each failure…
    pub retry_base_seconds: u64,
    /// …up to this.
    pub retry_max_seconds: u64,
    /// A reply still not delivered this long after it was written is given
    /// up (shown as failed, kept in the channel's dead letters).
    pub give_up_after_hours: u64,
    /// Every call to a messenger's API (downloads of files included).
    pub request_timeout_seconds: u64,
    /// Whether channels may call this host or the private network (a local
    /// Bot API server, an app on the intranet). Off: a channel's address
    /// cannot be used to reach inside the company's network.
    pub allow_private_addresses: bool,
}

impl Default for ChannelsConfig {
    fn default() -> Self {
        Self {
            retry_base_seconds: 2,
            retry_max_seconds: 600,
            give_up_after_hours: 24,
            request_timeout_seconds: 30,
            allow_private_addresses: false,
        }
    }
}

/// The security checks the server runs every six hours (`ostrog doctor`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DoctorConfig {
    /// A copy of the RustSec advisory database (a folder) that the
    /// scheduled checks, and `ostrog doctor` without `--advisories`, read;
    /// whoever carries updates to the server refreshes it. Unset: the
    /// crates are checked only when `--advisories` is given.
    pub advisories: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Folder for scheduled backups; empty means no scheduled backups.
    pub dir: String,
    /// The age public key (`age1…`) scheduled backups are encrypted to; its
    /// private key stays off the server.
    pub recipient: String,
    /// Hour of the day (UTC) from which the daily backup is taken.
    pub hour: u8,
    /// The newest backup of each of this many recent days is kept…
    pub keep_daily: u32,
    /// …and the newest of each of this many recent weeks.
    pub keep_weekly: u32,
    /// `ostrog doctor` finds the newest backup too old beyond this many
    /// hours: a daily schedule and two hours' slack by default.
    pub max_age_hours: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// Largest file accepted, in bytes; clamd's `StreamMaxLength` must be at least this.
    pub max_bytes: u64,
    /// Types accepted, decided from the content (magic bytes), never from the name.
    pub allowed_types: Vec<String>,
    /// Seconds an upload may take from its first byte to the answer (other
    /// requests have `limits.request_timeout_seconds`): 25 MiB at 1 Mbit/s takes 210 s.
    pub upload_timeout_seconds: u64,
    /// Archives inside an upload (a zip in a zip is 1); deeper ones are refused.
    pub archive_max_depth: u32,
    /// Entries in an archive and all the archives inside it.
    pub archive_max_entries: u64,
    /// Accept archives with encrypted entries, which no scanner can open.
    pub allow_encrypted_archives: bool,
    /// Accept archives holding programs and scripts (.exe, .sh, ELF, …).
    pub allow_executables_in_archives: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain; TLS is on when both this and `key` are set.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Minimum password length (never below 8).
    pub password_min_length: usize,
    /// Minutes without a request after which a session ends (at most 60).
    pub session_idle_minutes: u32,
    /// Hours after sign-in after which a session ends whatever happens (at most 24).
    pub session_lifetime_hours: u32,
    /// Failed sign-ins from one IP address within 15 minutes before that
    /// address is throttled.
    pub ip_failures_per_15_min: u32,
    /// Argon2 hashes computed at once; more wait, so a sign-in flood cannot exhaust memory.
    pub max_concurrent_hashes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info,ostrog_server=debug`.
    pub level: String,
    /// `text` for people, `json` for log collectors.
    pub format: String,
    /// `stderr`, `stdout`, or a file the lines are appended to.
    pub output: String,
    /// Also send every event as RFC 5424 syslog to `udp://HOST:PORT` or
    /// `unix:///dev/log` (e.g. towards the company's SIEM); empty: no syslog.
    pub syslog: String,
    /// Forward each audit-log entry, as it is appended, to the same places
    /// (as events of target `ostrog::audit`).
    pub audit: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest JSON request body in bytes.
    pub json_body_bytes: usize,
    /// Seconds a request may take before the server answers 408.
    pub request_timeout_seconds: u64,
    /// Seconds a client has to send its request headers before the connection is closed.
    pub header_read_timeout_seconds: u64,
    /// On SIGTERM, seconds in-flight requests may take before the process exits anyway.
    pub shutdown_seconds: u64,
    /// Visitor WebSockets open at once from one address (behind a company's
    /// NAT, many visitors share one); more are refused with 429.
    pub visitor_sockets_per_ip: usize,
    /// What anyone may do without signing in, per address and minute, each
    /// on its own: visitor connections, visitor uploads, CSP reports,
    /// refused hook calls. Generous: visitors behind one office NAT share it.
    pub public_requests_per_minute: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: String::new(),
            keys_database_url: String::new(),
            public_url: String::new(),
            trusted_proxies: Vec::new(),
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            log: LogConfig::default(),
            limits: LimitsConfig::default(),
            files: FilesConfig::default(),
            scanner: ScannerConfig::default(),
            metrics: MetricsConfig::default(),
            backup: BackupConfig::default(),
            channels: ChannelsConfig::default(),
            cluster: ClusterConfig::default(),
            doctor: DoctorConfig::default(),
        }
    }
}

impl Default for FilesConfig {
    fn default() -> Self {
        let allowed_types = ostrog_domain::file::DEFAULT_ALLOWED_TYPES.iter().map(|t| t.to_string()).collect();
        Self {
            max_bytes: 25 * 1024 * 1024,
            allowed_types,
            upload_timeout_seconds: 300,
            archive_max_depth: 4,
            archive_max_entries: 10_000,
            allow_encrypted_archives: false,
            allow_executables_in_archives: false,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            password_min_length: 15,
            session_idle_minutes: 30,
            session_lifetime_hours: 12,
            ip_failures_per_15_min: 100,
            max_concurrent_hashes: 4,
        }
    }
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self { dir: String::new(), recipient: String::new(), hour: 3, keep_daily: 7, keep_weekly: 4, max_age_hours: 26 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: "text".into(),
            output: "stderr".into(),
            syslog: String::new(),
            audit: false,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            json_body_bytes: 64 * 1024,
            request_timeout_seconds: 30,
            header_read_timeout_seconds: 10,
            shutdown_seconds: 10,
            visitor_sockets_per_ip: 200,
            public_requests_per_minute: 120,
        }
    }
}

/// `OSTROG_*` variables that are not settings of this struct: read
/// elsewhere (the config path, the master key).
const NOT_SETTINGS: &[&str] = &["config", "master_key", "backup_passphrase"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration setting `{0}`: {1}")]
    Invalid(&'static str, String),
}

impl Config {
    /// File (if given or `./ostrog.toml` exists), then environment, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: impl Serialize) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => fig = fig.merge(Toml::file_exact(path)),
            None => fig = fig.merge(Toml::file("ostrog.toml")),
        }
        let config: Config = fig
            .merge(
                // `OSTROG_TEST_*` belong to the test tools (database, browser, screenshots).
                Env::prefixed("OSTROG_")
                    .filter(|k| !k.as_str().to_ascii_lowercase().starts_with("test_"))
                    .split("__")
                    .ignore(NOT_SETTINGS),
            )
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    /// The configuration a TOML text alone gives (no environment, no flags),
    /// validated: what the fuzz target feeds, and what a file check needs.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(text))
            .extract()
            .map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.auth.password_min_length < ostrog_domain::password_policy::MIN_LENGTH_FLOOR {
            return Err(ConfigError::Invalid("auth.password_min_length", "must be at least 8".into()));
        }
        if !(1..=60).contains(&self.auth.session_idle_minutes) {
            return Err(ConfigError::Invalid("auth.session_idle_minutes", "must be 1–60".into()));
        }
        if !(1..=24).contains(&self.auth.session_lifetime_hours) {
            return Err(ConfigError::Invalid("auth.session_lifetime_hours", "must be 1–24".into()));
        }
        if self.limits.header_read_timeout_seconds == 0 || self.limits.request_timeout_seconds == 0 {
            return Err(ConfigError::Invalid("limits", "timeouts must be at least 1 second".into()));
        }
        if self.limits.public_requests_per_minute == 0 {
            return Err(ConfigError::Invalid("limits.public_requests_per_minute", "must be at least 1".into()));
        }
        if self.auth.max_concurrent_hashes == 0 {
            return Err(ConfigError::Invalid("auth.max_concurrent_hashes", "must be at least 1".into()));
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return Err(ConfigError::Invalid("tls", "set both cert and key, or neither".into()));
        }
        if self.files.max_bytes == 0 || self.files.max_bytes > 1024 * 1024 * 1024 {
            return Err(ConfigError::Invalid("files.max_bytes", "must be 1 byte to 1 GiB".into()));
        }
        if self.files.upload_timeout_seconds == 0 {
            return Err(ConfigError::Invalid("files.upload_timeout_seconds", "must be at least 1 second".into()));
        }
        let c = &self.channels;
        if c.retry_base_seconds == 0 || c.retry_max_seconds < c.retry_base_seconds || c.request_timeout_seconds == 0 {
            return Err(ConfigError::Invalid(
                "channels",
                "retry_base_seconds and request_timeout_seconds must be at least 1, retry_max_seconds at least retry_base_seconds".into(),
            ));
        }
        if !(1..=24 * 30).contains(&c.give_up_after_hours) {
            return Err(ConfigError::Invalid("channels.give_up_after_hours", "must be 1–720".into()));
        }
        if self.scanner.max_scan_bytes < self.files.max_bytes {
            return Err(ConfigError::Invalid("scanner.max_scan_bytes", "must be at least files.max_bytes".into()));
        }
        self.scanner.validate()?;
        if !["text", "json"].contains(&self.log.format.as_str()) {
            return Err(ConfigError::Invalid("log.format", "must be `text` or `json`".into()));
        }
        if !(self.log.syslog.is_empty()
            || self.log.syslog.starts_with("udp://")
            || self.log.syslog.starts_with("unix://"))
        {
            return Err(ConfigError::Invalid("log.syslog", "must be empty, udp://HOST:PORT or unix:///dev/log".into()));
        }
        if !self.metrics.token.is_empty() && self.metrics.token.len() < 32 {
            return Err(ConfigError::Invalid("metrics.token", "must be at least 32 characters".into()));
        }
        if self.limits.visitor_sockets_per_ip == 0 {
            return Err(ConfigError::Invalid("limits.visitor_sockets_per_ip", "must be at least 1".into()));
        }
        if !(1..=300).contains(&self.limits.shutdown_seconds) {
            return Err(ConfigError::Invalid("limits.shutdown_seconds", "must be 1–300".into()));
        }
        self.validate_backup()?;
        self.validate_cluster()?;
        let url = self.database_url();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::Invalid("database_url", "must start with sqlite: or postgres://".into()));
        }
        let public = self.public_url();
        if !(public.starts_with("http://") || public.starts_with("https://")) {
            return Err(ConfigError::Invalid("public_url", "must start with http:// or https://".into()));
        }
        Ok(())
    }

    fn validate_cluster(&self) -> Result<(), ConfigError> {
        let c = &self.cluster;
        if !["postgres", "nats", "none"].contains(&c.bus.as_str()) {
            return Err(ConfigError::Invalid("cluster.bus", "must be `postgres`, `nats` or `none`".into()));
        }
        let plain = |ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_';
        if c.subject.is_empty() || c.subject.len() > 63 || !c.subject.chars().all(plain) {
            return Err(ConfigError::Invalid("cluster.subject", "1–63 of a–z, 0–9 and _".into()));
        }
        if c.bus == "nats" && !(c.nats_url.starts_with("nats://") || c.nats_url.starts_with("tls://")) {
            return Err(ConfigError::Invalid("cluster.nats_url", "must start with nats:// or tls://".into()));
        }
        Ok(())
    }

    /// Whether this is (or may be) one node of several: PostgreSQL only.
    pub fn clustered(&self) -> bool {
        !self.database_url().starts_with("sqlite:")
    }

    fn validate_backup(&self) -> Result<(), ConfigError> {
        let b = &self.backup;
        if b.hour > 23 {
            return Err(ConfigError::Invalid("backup.hour", "must be 0–23 (UTC)".into()));
        }
        // Before the early return: a wrong value is named even while backups are off.
        if !(1..=24 * 30).contains(&b.max_age_hours) {
            return Err(ConfigError::Invalid("backup.max_age_hours", "must be 1–720".into()));
        }
        if b.dir.is_empty() {
            return Ok(());
        }
        if !b.recipient.starts_with("age1") || b.recipient.trim().parse::<age::x25519::Recipient>().is_err() {
            return Err(ConfigError::Invalid(
                "backup.recipient",
                "scheduled backups need an age public key (age1…); make one with `age-keygen` and keep its private key off this server".into(),
            ));
        }
        if b.keep_daily == 0 && b.keep_weekly == 0 {
            return Err(ConfigError::Invalid(
                "backup.keep_daily",
                "keep at least one backup (keep_daily or keep_weekly)".into(),
            ));
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("ostrog.db").display())
        } else {
            self.database_url.clone()
        }
    }

    /// Archives are refused past what clamd is configured to read whole.
    pub fn archive_limits(&self) -> ostrog_domain::archive::Limits {
        ostrog_domain::archive::Limits {
            entry_bytes: self.scanner.max_scan_bytes,
            total_bytes: self.scanner.max_scan_bytes,
            depth: self.files.archive_max_depth,
            entries: self.files.archive_max_entries,
            allow_encrypted: self.files.allow_encrypted_archives,
            allow_executables: self.files.allow_executables_in_archives,
        }
    }

    pub fn tls_enabled(&self) -> bool {
        self.tls.cert.is_some() && self.tls.key.is_some()
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        if self.public_url.is_empty() {
            let scheme = if self.tls_enabled() { "https" } else { "http" };
            format!("{scheme}://{}", self.listen)
        } else {
            self.public_url.trim_end_matches('/').to_string()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_credential() {
        let mut c = Config { database_url: "postgres://ostrog:db-secret@db/ostrog".into(), ..Default::default() };
        c.keys_database_url = "postgres://keys:keys-secret@db/keys".into();
        c.cluster.nats_url = "nats://bus:nats-secret@nats:4222".into();
        c.metrics.token = "metrics-secret-metrics-secret-123".into();
        for shown in [format!("{c:?}"), format!("{:?}", c.cluster), format!("{:?}", c.metrics)] {
            assert!(!shown.contains("secret"), "{shown}");
        }
        let shown = format!("{c:?}");
        assert!(shown.contains("postgres://[redacted]") && shown.contains("listen"), "{shown}");
    }

    #[test]
    fn flags_override_environment_which_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "o.toml",
                "listen = \"127.0.0.1:1000\"\n[auth]\npassword_min_length = 20\nsession_idle_minutes = 10\n",
            )?;
            jail.set_env("OSTROG_LISTEN", "127.0.0.1:2000");
            jail.set_env("OSTROG_AUTH__SESSION_IDLE_MINUTES", "20");
            jail.set_env("OSTROG_MASTER_KEY", "00");
            jail.set_env("OSTROG_TEST_POSTGRES_URL", "postgres://x");
            jail.set_env("OSTROG_TEST_SCREENSHOTS", "/tmp/x");
            let flags = serde_json::json!({ "listen": "127.0.0.1:3000" });
            let c = Config::load(Some(Path::new("o.toml")), flags).unwrap();
            assert_eq!(c.listen.port(), 3000);
            assert_eq!(c.auth.session_idle_minutes, 20);
            assert_eq!(c.auth.password_min_length, 20);
            Ok(())
        });
    }

    #[test]
    fn the_sample_config_is_valid_and_shows_the_defaults() {
        let sample = include_str!("../../../ostrog.example.toml");
        figment::Jail::expect_with(|jail| {
            jail.create_file("sample.toml", sample)?;
            let c = Config::load(Some(Path::new("sample.toml")), serde_json::json!({})).unwrap();
            assert_eq!(format!("{c:?}"), format!("{:?}", Config::default()));
            let alone = Config::from_toml(sample).unwrap();
            assert_eq!(format!("{alone:?}"), format!("{:?}", Config::default()));
            Ok(())
        });
    }

    #[test]
    fn invalid_settings_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("o.toml", "[auth]\npassword_min_length = 6\n")?;
            let err = Config::load(Some(Path::new("o.toml")), serde_json::json!({})).unwrap_err();
            assert!(err.to_string().contains("auth.password_min_length"), "{err}");
            for hours in [0, 721] {
                let err = Config::from_toml(&format!("[backup]\nmax_age_hours = {hours}\n")).unwrap_err();
                assert!(err.to_string().contains("backup.max_age_hours"), "{err}");
            }
            assert_eq!(Config::from_toml("[backup]\nmax_age_hours = 720\n").unwrap().backup.max_age_hours, 720);
            jail.create_file("u.toml", "lisen = \"x\"\n")?;
            let err = Config::load(Some(Path::new("u.toml")), serde_json::json!({})).unwrap_err();
            assert!(err.to_string().contains("lisen"), "{err}");
            Ok(())
        });
    }
}
