//! The application: the services every edge (HTTP, CLI) calls. It owns the
//! store, the clock, the vault and the policies, and the auditor.

use crate::auth::password::Hasher;
use crate::auth::throttle::IpThrottle;
use crate::config::Config;
use crate::error::AppResult;
use crate::keys::{Ledger, Vault};
use crate::realtime::Realtime;
use crate::services::auditor::Auditor;
use crate::services::widgets::Widgets;
use ostrog_domain::clock::Clock;
use ostrog_domain::password_policy::PasswordPolicy;
use ostrog_domain::session::SessionPolicy;
use ostrog_store::Store;
use std::net::IpAddr;
use std::sync::Arc;

pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub vault: Arc<Vault>,
    /// The store's message operations, sealed by the visitors' keys.
    pub ledger: Arc<Ledger>,
    pub hasher: Hasher,
    pub ip_throttle: IpThrottle,
    pub password_policy: PasswordPolicy,
    pub session_policy: SessionPolicy,
    pub public_url: String,
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    pub realtime: Realtime,
    /// This node among the others on the same database.
    pub cluster: crate::cluster::Cluster,
    pub scanner: Option<crate::files::scanner::Scanner>,
    pub files: crate::config::FilesConfig,
    /// What an uploaded archive may hold (files and scanner settings).
    pub archive_limits: ostrog_domain::archive::Limits,
    /// Where files are kept: `<data_dir>/files` and `<data_dir>/quarantine`.
    pub data_dir: std::path::PathBuf,
    /// The consent settings, read at start and kept as they change: every
    /// visitor message is checked against them.
    pub consent: std::sync::RwLock<ostrog_domain::privacy::ConsentSettings>,
    /// Content-Security-Policy violations browsers reported since start.
    pub csp_violations: std::sync::atomic::AtomicU64,
    /// SHA-256 of `metrics.token`: /metrics on the main address admits it.
    pub metrics_token_hash: Option<String>,
    /// Appends to the audit trails; every service records through it.
    pub auditor: Arc<Auditor>,
    pub widgets: Widgets,
    /// Open visitor sockets per address (`limits.visitor_sockets_per_ip`).
    pub visitor_sockets: Arc<crate::realtime::limits::SocketsPerIp>,
    pub channels: crate::channels::Channels,
    /// Per-address limits on what needs no sign-in.
    pub public_limits: crate::auth::throttle::PublicLimits,
    /// Refusals of attempts around a defence, counted for the audit log.
    pub refusals: crate::auth::refusals::Refusals,
    pub audit_log: crate::services::audit::AuditLog,
    pub reports: crate::services::reports::Reports,
    pub personal_data: crate::services::personal_data::PersonalData,
    pub subjects: Arc<crate::services::subjects::Subjects>,
    pub erasure: Arc<crate::services::erasure::Erasure>,
    pub retention: Arc<crate::services::retention::Retention>,
}

impl App {
    /// Builds the services; nothing runs until `jobs::start`.
    pub fn new(config: &Config, store: Arc<dyn Store>, clock: Arc<dyn Clock>, vault: Arc<Vault>) -> Self {
        let ledger = Arc::new(Ledger::new(store.clone(), vault.clone(), clock.clone()));
        let auditor = Arc::new(Auditor::new(store.clone(), clock.clone(), config.log.audit));
        let realtime = Realtime::new(ledger.clone());
        let privacy = privacy(config, &store, &clock, &vault, &ledger, &realtime, &auditor);
        Self {
            widgets: Widgets::new(store.clone(), vault.clone(), auditor.clone(), clock.clone()),
            realtime,
            cluster: crate::cluster::Cluster::new(config),
            ledger,
            store,
            clock,
            vault,
            hasher: Hasher::new(config.auth.max_concurrent_hashes),
            ip_throttle: IpThrottle::new(config.auth.ip_failures_per_15_min),
            password_policy: PasswordPolicy::new(config.auth.password_min_length),
            session_policy: SessionPolicy::bounded(
                config.auth.session_idle_minutes,
                config.auth.session_lifetime_hours,
            ),
            public_url: config.public_url(),
            secure_cookies: config.tls_enabled() || config.public_url().starts_with("https://"),
            trusted_proxies: config.trusted_proxies.clone(),
            scanner: config
                .scanner
                .enabled
                .then(|| crate::files::scanner::Scanner::new(&config.scanner, &config.files)),
            files: config.files.clone(),
            archive_limits: config.archive_limits(),
            data_dir: config.data_dir.clone(),
            consent: Default::default(),
            csp_violations: Default::default(),
            metrics_token_hash: (!config.metrics.token.is_empty())
                .then(|| crate::auth::tokens::hash_token(&config.metrics.token)),
            auditor,
            visitor_sockets: crate::realtime::limits::SocketsPerIp::new(config.limits.visitor_sockets_per_ip),
            channels: crate::channels::Channels::new(&config.channels),
            public_limits: crate::auth::throttle::PublicLimits::new(config.limits.public_requests_per_minute),
            refusals: Default::default(),
            audit_log: privacy.audit_log,
            reports: privacy.reports,
            personal_data: privacy.personal_data,
            subjects: privacy.subjects,
            erasure: privacy.erasure,
            retention: privacy.retention,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Counts one request of `ip` against `limit`; refused past it.
    pub fn admit(&self, limit: &crate::auth::throttle::IpThrottle, ip: Option<IpAddr>) -> AppResult<()> {
        let now = self.now();
        refused_until(ip.and_then(|ip| limit.admit(ip, now)), now)
    }

    /// Refused while `ip` is over `limit`, without counting this request.
    pub fn not_held_back(&self, limit: &crate::auth::throttle::IpThrottle, ip: Option<IpAddr>) -> AppResult<()> {
        let now = self.now();
        refused_until(ip.and_then(|ip| limit.blocked_until(ip, now)), now)
    }
}

fn refused_until(until: Option<i64>, now: i64) -> AppResult<()> {
    match until {
        Some(until) => Err(crate::error::AppError::TooManyAttempts { retry_after_seconds: (until - now + 999) / 1000 }),
        None => Ok(()),
    }
}

/// The privacy area's services, built in their order: erasure answers
/// requests (subjects), retention erases.
struct Privacy {
    audit_log: crate::services::audit::AuditLog,
    reports: crate::services::reports::Reports,
    personal_data: crate::services::personal_data::PersonalData,
    subjects: Arc<crate::services::subjects::Subjects>,
    erasure: Arc<crate::services::erasure::Erasure>,
    retention: Arc<crate::services::retention::Retention>,
}

fn privacy(
    config: &Config,
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    vault: &Arc<Vault>,
    ledger: &Arc<Ledger>,
    realtime: &Realtime,
    auditor: &Arc<Auditor>,
) -> Privacy {
    use crate::services::{audit, erasure, personal_data, reports, retention, subjects};
    let (store, clock, hub) = (store.clone(), clock.clone(), realtime.hub.clone());
    let subjects = Arc::new(subjects::Subjects::new(
        store.clone(),
        store.clone(),
        store.clone(),
        vault.clone(),
        ledger.clone(),
        auditor.clone(),
        clock.clone(),
    ));
    let erasure = Arc::new(erasure::Erasure::new(
        store.clone(),
        store.clone(),
        vault.clone(),
        ledger.clone(),
        hub.clone(),
        config.data_dir.clone(),
        subjects.clone(),
        auditor.clone(),
        clock.clone(),
    ));
    Privacy {
        audit_log: audit::AuditLog::new(store.clone(), auditor.clone()),
        reports: reports::Reports::new(store.clone(), ledger.clone(), auditor.clone()),
        personal_data: personal_data::PersonalData::new(
            store.clone(),
            store.clone(),
            ledger.clone(),
            hub,
            auditor.clone(),
        ),
        retention: Arc::new(retention::Retention::new(store.clone(), store, erasure.clone(), auditor.clone(), clock)),
        subjects,
        erasure,
    }
}

/// What an export gathers from the consent and files areas, as they keep it.
impl crate::services::subjects::Holdings for App {
    fn shown_consent(&self, version: u32) -> futures_util::future::BoxFuture<'_, AppResult<Option<String>>> {
        Box::pin(self.consent_text(version))
    }

    fn uploaded_files(
        &self,
        conversation: ostrog_domain::ids::ConversationId,
    ) -> futures_util::future::BoxFuture<'_, AppResult<crate::services::subjects::Uploaded>> {
        use futures_util::StreamExt;
        Box::pin(async move {
            let mut files = vec![];
            for f in self.store.files_of(conversation).await? {
                let (f, mut stream) = self.open_file(f, crate::files::cipher::Part::Original).await?;
                let mut bytes = vec![];
                while let Some(chunk) = stream.next().await {
                    bytes.extend_from_slice(&chunk.map_err(|e| crate::error::AppError::Internal(e.to_string()))?);
                }
                files.push((f, bytes));
            }
            Ok(files)
        })
    }
}
