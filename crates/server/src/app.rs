//! The application: the services every edge (HTTP, CLI) calls. It owns the
//! store, the clock, the vault and the policies, and the auditor.

use crate::config::Config;
use crate::error::AppResult;
use crate::keys::{Ledger, Vault};
use crate::realtime::Realtime;
use crate::services::account::Account;
use crate::services::auditor::Auditor;
use crate::services::employees::Employees;
use crate::services::keys::KeyAdmin;
use crate::services::maintenance::Maintenance;
use crate::services::sessions::Sessions;
use crate::services::settings::Settings;
use crate::services::setup::Setup;
use crate::services::sign_in::{Defences, SignIn};
use crate::services::upgrade::LegacySealing;
use crate::services::widgets::Widgets;
use ostrog_domain::clock::Clock;
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
    pub public_url: String,
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    pub realtime: Realtime,
    /// This node among the others on the same database.
    pub cluster: Arc<crate::cluster::Cluster>,
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
    pub refusals: Arc<crate::auth::refusals::Refusals>,
    pub settings: Arc<Settings>,
    pub sessions: Arc<Sessions>,
    pub sign_in: Arc<SignIn>,
    pub setup: Arc<Setup>,
    pub account: Account,
    pub employees: Employees,
    pub key_admin: KeyAdmin,
    pub legacy_sealing: Arc<LegacySealing>,
    pub maintenance: Arc<Maintenance>,
}

impl App {
    /// Builds the services; nothing runs until `jobs::start`.
    pub fn new(config: &Config, store: Arc<dyn Store>, clock: Arc<dyn Clock>, vault: Arc<Vault>) -> Self {
        let ledger = Arc::new(Ledger::new(store.clone(), vault.clone(), clock.clone()));
        let auditor = Arc::new(Auditor::new(store.clone(), clock.clone(), config.log.audit));
        let realtime = Realtime::new(ledger.clone());
        let people = People::new(config, &store, &clock, &vault, &ledger, &auditor, &realtime);
        Self {
            widgets: Widgets::new(store.clone(), vault.clone(), auditor.clone(), clock.clone()),
            realtime,
            cluster: Arc::new(crate::cluster::Cluster::new(config)),
            ledger,
            store,
            clock,
            vault,
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
            settings: people.settings,
            sessions: people.sessions,
            sign_in: people.sign_in,
            setup: people.setup,
            account: people.account,
            employees: people.employees,
            key_admin: people.key_admin,
            legacy_sealing: people.legacy_sealing,
            maintenance: people.maintenance,
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

/// The services of the people who work in Ostrog (sessions, signing in,
/// accounts, employees, set-up, settings) and of the installation's upkeep,
/// built in the order they depend on each other.
struct People {
    settings: Arc<Settings>,
    sessions: Arc<Sessions>,
    sign_in: Arc<SignIn>,
    setup: Arc<Setup>,
    account: Account,
    employees: Employees,
    key_admin: KeyAdmin,
    legacy_sealing: Arc<LegacySealing>,
    maintenance: Arc<Maintenance>,
}

impl People {
    fn new(
        config: &Config,
        store: &Arc<dyn Store>,
        clock: &Arc<dyn Clock>,
        vault: &Arc<Vault>,
        ledger: &Arc<Ledger>,
        auditor: &Arc<Auditor>,
        realtime: &Realtime,
    ) -> Self {
        let auth = &config.auth;
        let policy = SessionPolicy::bounded(auth.session_idle_minutes, auth.session_lifetime_hours);
        let settings = Arc::new(Settings::new(store.clone(), auditor.clone()));
        let sessions =
            Arc::new(Sessions::new(store.clone(), store.clone(), clock.clone(), policy, realtime.hub.clone()));
        let defences = Defences::new(auth);
        let (hasher, password_policy) = (defences.hasher.clone(), defences.password_policy);
        let sign_in = Arc::new(SignIn::new(
            store.clone(),
            store.clone(),
            vault.clone(),
            auditor.clone(),
            clock.clone(),
            sessions.clone(),
            settings.clone(),
            defences,
        ));
        let setup = Arc::new(Setup::new(
            store.clone(),
            store.clone(),
            auditor.clone(),
            clock.clone(),
            hasher,
            password_policy,
            config.public_url(),
        ));
        let account = Account::new(
            store.clone(),
            vault.clone(),
            auditor.clone(),
            clock.clone(),
            sessions.clone(),
            sign_in.clone(),
            settings.clone(),
        );
        let employees = Employees::new(
            store.clone(),
            store.clone(),
            auditor.clone(),
            clock.clone(),
            sessions.clone(),
            sign_in.clone(),
            setup.clone(),
            realtime.signals.clone(),
        );
        Self {
            key_admin: KeyAdmin::new(vault.clone(), auditor.clone()),
            legacy_sealing: Arc::new(LegacySealing::new(
                store.clone(),
                ledger.clone(),
                vault.clone(),
                auditor.clone(),
                clock.clone(),
            )),
            maintenance: Arc::new(Maintenance::new(store.clone(), vault.clone())),
            settings,
            sessions,
            sign_in,
            setup,
            account,
            employees,
        }
    }
}

impl App {
    /// The effective permissions of `e`, for the services still written as
    /// `impl App` (conversations) until they hold `Employees` themselves.
    pub(crate) async fn permissions_of(
        &self,
        e: &ostrog_domain::employee::Employee,
    ) -> AppResult<ostrog_domain::permission::PermissionSet> {
        self.employees.permissions_of(e).await
    }
}
