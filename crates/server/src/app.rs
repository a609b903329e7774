//! The application: the services every edge (HTTP, CLI) calls. It owns the
//! store, the clock, the vault and the policies, and the auditor.

use crate::config::Config;
use crate::error::AppResult;
use crate::keys::{Ledger, Vault};
use crate::realtime::Realtime;
use crate::services::account::Account;
use crate::services::auditor::Auditor;
use crate::services::chat::Chat;
use crate::services::employees::Employees;
use crate::services::keys::KeyAdmin;
use crate::services::maintenance::Maintenance;
use crate::services::nodes::Nodes;
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
    /// Content-Security-Policy violations browsers reported since start.
    pub csp_violations: std::sync::atomic::AtomicU64,
    /// SHA-256 of `metrics.token`: /metrics on the main address admits it.
    pub metrics_token_hash: Option<String>,
    /// Appends to the audit trails; every service records through it.
    pub auditor: Arc<Auditor>,
    pub widgets: Widgets,
    /// Open visitor sockets per address (`limits.visitor_sockets_per_ip`).
    pub visitor_sockets: Arc<crate::realtime::limits::SocketsPerIp>,
    pub channels: Arc<crate::channels::Channels>,
    /// Per-address limits on what needs no sign-in.
    pub public_limits: crate::auth::throttle::PublicLimits,
    /// Refusals of attempts around a defence, counted for the audit log.
    pub presence: Arc<crate::services::presence::Presence>,
    /// The consent settings, kept in memory as they change.
    pub consent: Arc<crate::services::consent::Consent>,
    pub conversations: Arc<crate::services::conversations::Conversations>,
    pub visitors: Arc<crate::services::visitors::Visitors>,
    /// Who each conversation is with: names and details, sealed.
    pub contacts: Arc<crate::services::contacts::Contacts>,
    /// The contact's earlier conversations and files, for the panel.
    pub contact_history: Arc<crate::services::contact_history::ContactHistory>,
    /// Uploads and downloads, the scanner and the file storage.
    pub files: Arc<crate::services::files::Files>,
    /// Messenger channels: connecting them, what they bring and what goes out.
    pub channel_admin: Arc<crate::services::channels::ChannelAdmin>,
    /// This node's lease and row among the others.
    pub nodes: Arc<Nodes>,
    pub audit_log: Arc<crate::services::audit::AuditLog>,
    pub reports: crate::services::reports::Reports,
    pub personal_data: crate::services::personal_data::PersonalData,
    pub subjects: Arc<crate::services::subjects::Subjects>,
    pub erasure: Arc<crate::services::erasure::Erasure>,
    pub retention: Arc<crate::services::retention::Retention>,
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
    /// The security checks' runs and their last report.
    pub doctor: Arc<crate::doctor::runs::Doctor>,
    /// Labels and the conversations they are on.
    pub labels: crate::services::labels::Labels,
    /// Texts operators insert by typing `/code`.
    pub quick_replies: crate::services::quick_replies::QuickReplies,
    /// Teams and the rules that route conversations to them.
    pub teams: crate::services::teams::Teams,
    pub rules: Arc<crate::services::routing_rules::RoutingRules>,
    /// Ratings by team and label.
    pub satisfaction: crate::services::satisfaction::Satisfaction,
}

impl App {
    /// Builds the services; nothing runs until `jobs::start`.
    pub fn new(config: &Config, store: Arc<dyn Store>, clock: Arc<dyn Clock>, vault: Arc<Vault>) -> Self {
        let ledger = Arc::new(Ledger::new(store.clone(), vault.clone(), clock.clone()));
        let auditor = Arc::new(Auditor::new(store.clone(), clock.clone(), config.log.audit));
        let realtime = Realtime::new(ledger.clone());
        let cluster = Arc::new(crate::cluster::Cluster::new(config));
        let channels = Arc::new(crate::channels::Channels::new(&config.channels));
        let nodes = Arc::new(Nodes::new(store.clone(), store.clone(), store.clone(), cluster.clone()));
        let chat = Chat::build(crate::services::chat::Base {
            store: &store,
            clock: &clock,
            vault: &vault,
            ledger: &ledger,
            auditor: &auditor,
            realtime: &realtime,
            cluster: &cluster,
            connectors: &channels,
            scanner: config
                .scanner
                .enabled
                .then(|| crate::files::scanner::Scanner::new(&config.scanner, &config.files)),
            limits: config.files.clone(),
            archive_limits: config.archive_limits(),
            data_dir: config.data_dir.clone(),
            public_url: config.public_url(),
        });
        let privacy = privacy(config, &store, &clock, &vault, &ledger, &realtime, &auditor);
        let people = People::new(config, &store, &clock, &vault, &ledger, &auditor, &realtime);
        let contact_history = Arc::new(crate::services::contact_history::ContactHistory::new(
            chat.conversations.clone(),
            ledger.clone(),
            store.clone(),
        ));
        let sources = crate::doctor::facts::Sources {
            store: store.clone(),
            clock: clock.clone(),
            settings: people.settings.clone(),
            audit_log: privacy.audit_log.clone(),
            scanner: chat.files.scanner().cloned(),
        };
        let doctor = Arc::new(crate::doctor::runs::Doctor::new(config.clone(), sources, auditor.clone()));
        let quick_replies = crate::services::quick_replies::QuickReplies::new(
            store.clone(),
            crate::services::quick_replies::Context {
                conversations: chat.conversations.clone(),
                contacts: chat.contacts.clone(),
                settings: people.settings.clone(),
                visitors: store.clone(),
                widgets: store.clone(),
            },
            auditor.clone(),
            clock.clone(),
        );
        let labels = crate::services::labels::Labels::new(
            store.clone(),
            chat.conversations.clone(),
            auditor.clone(),
            clock.clone(),
        );
        Self {
            labels,
            quick_replies,
            teams: crate::services::teams::Teams::new(store.clone(), auditor.clone(), clock.clone()),
            rules: chat.rules,
            satisfaction: crate::services::satisfaction::Satisfaction::new(
                ledger.clone(),
                store.clone(),
                store.clone(),
            ),
            doctor,
            widgets: Widgets::new(store.clone(), vault.clone(), auditor.clone(), clock.clone()),
            realtime,
            cluster,
            ledger,
            store,
            clock,
            vault,
            public_url: config.public_url(),
            secure_cookies: config.tls_enabled() || config.public_url().starts_with("https://"),
            trusted_proxies: config.trusted_proxies.clone(),
            csp_violations: Default::default(),
            metrics_token_hash: (!config.metrics.token.is_empty())
                .then(|| crate::auth::tokens::hash_token(&config.metrics.token)),
            auditor,
            visitor_sockets: crate::realtime::limits::SocketsPerIp::new(config.limits.visitor_sockets_per_ip),
            channels,
            public_limits: crate::auth::throttle::PublicLimits::new(config.limits.public_requests_per_minute),
            refusals: Default::default(),
            presence: chat.presence,
            consent: chat.consent,
            conversations: chat.conversations,
            visitors: chat.visitors,
            contact_history,
            contacts: chat.contacts,
            files: chat.files,
            channel_admin: chat.channel_admin,
            nodes,
            audit_log: privacy.audit_log,
            reports: privacy.reports,
            personal_data: privacy.personal_data,
            subjects: privacy.subjects,
            erasure: privacy.erasure,
            retention: privacy.retention,
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

/// The privacy area's services, built in their order: erasure answers
/// requests (subjects), retention erases.
struct Privacy {
    audit_log: Arc<crate::services::audit::AuditLog>,
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
        audit_log: Arc::new(audit::AuditLog::new(
            store.clone(),
            auditor.clone(),
            crate::services::audit_labels::AuditLabels::new(store.clone(), store.clone(), store.clone()),
        )),
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
        Box::pin(self.consent.consent_text(version))
    }

    fn uploaded_files(
        &self,
        conversation: ostrog_domain::ids::ConversationId,
    ) -> futures_util::future::BoxFuture<'_, AppResult<crate::services::subjects::Uploaded>> {
        Box::pin(self.files.originals_of(conversation))
    }

    fn contact(
        &self,
        visitor: ostrog_domain::ids::VisitorId,
    ) -> futures_util::future::BoxFuture<'_, AppResult<serde_json::Value>> {
        Box::pin(self.contacts.export_json(visitor))
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
