//! What a service's unit test stands on: a fresh in-memory SQLite store, a
//! manual clock and a vault with a throwaway master key. Services take only
//! what they use, so a test builds the one it tests from these parts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::keys::master::{KeySource, MasterKeys};
use crate::keys::{Ledger, Vault};
use crate::services::caller::Caller;
use ostrog_domain::access::{Actor, effective};
use ostrog_domain::clock::{Clock, ManualClock};
use ostrog_domain::employee::{Employee, EmployeeStatus};
use ostrog_domain::ids::{EmployeeId, SessionId};
use ostrog_domain::role::Role;
use ostrog_domain::session::Stage;
use ostrog_store::Store;
use ostrog_store::{NewEmployee, SessionRecord};
use std::sync::Arc;

/// 2026-01-01T00:00:00Z, in milliseconds: tests start on a known day.
pub const START: i64 = 1_767_225_600_000;

pub struct Harness {
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub vault: Arc<Vault>,
}

impl Harness {
    pub async fn new() -> Self {
        let store = ostrog_store_sql::connect("sqlite::memory:").await.unwrap();
        let keys = ostrog_store_sql::connect_keys("sqlite::memory:").await.unwrap();
        let vault =
            Vault::with_keys(MasterKeys::single(1, [7; 32]), KeySource::Environment, keys, START, false).await.unwrap();
        Self { store, clock: Arc::new(ManualClock::new(START)), vault: Arc::new(vault) }
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub fn ledger(&self) -> Arc<Ledger> {
        Arc::new(Ledger::new(self.store.clone(), self.vault.clone(), self.clock()))
    }

    pub fn auditor(&self) -> Arc<super::auditor::Auditor> {
        Arc::new(super::auditor::Auditor::new(self.store.clone(), self.clock(), false))
    }
}

impl Harness {
    /// An active employee of `role`, stored, signed in fully just now from
    /// 192.0.2.1, with the role's permissions.
    pub async fn caller(&self, role: Role) -> Caller {
        let id = EmployeeId::random();
        let employee = Employee {
            id,
            email: format!("{id}@example.test"),
            name: format!("{role:?}"),
            role,
            status: EmployeeStatus::Active,
            created_at: START,
        };
        let new = NewEmployee { employee: employee.clone(), password_hash: None, must_change_password: false };
        self.store.create_employee(&new).await.unwrap();
        let now = self.clock.now();
        let session = SessionRecord {
            id: SessionId::random(),
            employee_id: id,
            token_hash: String::new(),
            csrf_hash: String::new(),
            stage: Stage::Full,
            created_at: now,
            last_seen_at: now,
            authenticated_at: now,
            ip: None,
            user_agent: None,
        };
        let actor = Actor { id, role, permissions: effective(role, &[]) };
        Caller { employee, actor, session, ip: "192.0.2.1".parse().ok() }
    }
}

// Chat: conversations, visitors, presence, consent, files and channels,
// built as `App::new` builds them, with the writer's loops running.
pub struct Chat {
    pub hub: Arc<crate::realtime::hub::Hub>,
    pub signals: Arc<crate::realtime::Signals>,
    pub presence: Arc<super::presence::Presence>,
    pub consent: Arc<super::consent::Consent>,
    pub conversations: Arc<super::conversations::Conversations>,
    pub contacts: Arc<super::contacts::Contacts>,
    pub visitors: Arc<super::visitors::Visitors>,
    pub files: Arc<super::files::Files>,
    pub channels: Arc<super::channels::ChannelAdmin>,
    /// A widget, and its identity secret (hex).
    pub widget: ostrog_store::WidgetRecord,
    pub widget_secret: String,
    /// The one Administrator (there can be only one), who made the widget.
    pub admin: Caller,
}

impl Harness {
    /// The chat services on this harness's store, clock and vault; without
    /// a virus scanner (so every upload is refused), on one node.
    pub async fn chat(&self) -> Chat {
        let config = crate::config::Config::default();
        let (ledger, auditor, clock) = (self.ledger(), self.auditor(), self.clock());
        let realtime = crate::realtime::Realtime::new(ledger.clone());
        let loops = realtime.take_writer().unwrap();
        // Aborted when the test's runtime ends.
        for lane in loops.storing {
            tokio::spawn(lane.run(std::future::pending()));
        }
        tokio::spawn(loops.publishing.run());
        let store = &self.store;
        let built = super::chat::Chat::build(super::chat::Base {
            store,
            clock: &clock,
            vault: &self.vault,
            ledger: &ledger,
            auditor: &auditor,
            realtime: &realtime,
            cluster: &Arc::new(crate::cluster::Cluster::new(&config)),
            connectors: &Arc::new(crate::channels::Channels::new(&config.channels)),
            scanner: None,
            limits: config.files.clone(),
            archive_limits: config.archive_limits(),
            data_dir: std::env::temp_dir().join(format!("ostrog-test-{}", uuid::Uuid::new_v4())),
            public_url: config.public_url(),
        });
        let (hub, signals) = (realtime.hub.clone(), realtime.signals.clone());
        let super::chat::Chat {
            presence,
            consent,
            conversations,
            contacts,
            visitors,
            files,
            channel_admin: channels,
            ..
        } = built;
        let widgets = super::widgets::Widgets::new(store.clone(), self.vault.clone(), auditor, clock);
        let admin = self.caller(Role::Administrator).await;
        let settings = ostrog_domain::widget::WidgetSettings {
            name: "Shop".into(),
            greeting: "Hello".into(),
            working_hours: Default::default(),
            allowed_origins: vec!["https://shop.example".into()],
            language: Default::default(),
        };
        let (widget, widget_secret) = widgets.create(&admin, settings).await.unwrap();
        Chat {
            hub,
            signals,
            presence,
            consent,
            conversations,
            contacts,
            visitors,
            files,
            channels,
            widget,
            widget_secret,
            admin,
        }
    }
}

impl Chat {
    /// A new visitor with a queued conversation.
    pub async fn queued(&self) -> ostrog_store::ConversationRecord {
        let visitor = self.visitors.visitor_hello(&self.widget, None, None).await.unwrap();
        self.visitors
            .open_conversation_of(visitor.record.id, &ostrog_domain::rule::Start::through("widget"))
            .await
            .unwrap()
    }

    /// Connects `caller` here as an operator who chose `online`; the
    /// connection lasts while its outbox is kept.
    pub fn online(&self, caller: &Caller) -> crate::realtime::hub::Outbox {
        let who = crate::realtime::hub::Who::Employee {
            id: caller.employee.id,
            session: caller.session.id,
            sees_all: caller.actor.holds(ostrog_domain::permission::Permission::ConversationsAll),
            takes_chats: ostrog_domain::conversation::takes_chats(&caller.actor.permissions),
            alerted: false,
        };
        let (_, outbox) = self.hub.connect(who);
        self.presence.choose(caller.employee.id, ostrog_domain::routing::Presence::Online);
        outbox
    }
}

// Privacy (subjects, erasure, retention, personal data): a data subject
// and what they wrote, stored as the chat area stores them.
impl Harness {
    /// A widget's visitor who came at `at`.
    pub async fn subject(&self, at: i64) -> ostrog_domain::ids::VisitorId {
        use ostrog_store::{Source, VisitorRecord, WidgetRecord};
        let widget = WidgetRecord {
            id: ostrog_domain::ids::WidgetId::random(),
            settings: serde_json::from_value(serde_json::json!({"name": "W", "greeting": "", "allowed_origins": []}))
                .unwrap(),
            secret: vec![1],
            created_at: START,
        };
        self.store.create_widget(&widget).await.unwrap();
        let id = ostrog_domain::ids::VisitorId::random();
        let visitor = VisitorRecord { id, source: Source::Widget(widget.id), external: None, created_at: at };
        self.store.create_visitor(&visitor, Some(&format!("token-{id}"))).await.unwrap();
        id
    }

    /// The visitor's conversation, in `state` since `at`, with `operator`.
    pub async fn subject_conversation(
        &self,
        visitor: ostrog_domain::ids::VisitorId,
        state: ostrog_domain::conversation::State,
        operator: Option<EmployeeId>,
        at: i64,
    ) -> ostrog_store::ConversationRecord {
        let c = ostrog_store::ConversationRecord {
            id: ostrog_domain::ids::ConversationId::random(),
            visitor_id: visitor,
            channel: "widget".into(),
            state,
            operator,
            last_seq: 0,
            created_at: at,
            updated_at: at,
        };
        self.store.create_conversation(&c).await.unwrap();
        c
    }

    /// Stores a text of the conversation's visitor, sealed by their key; its sequence number.
    pub async fn subject_says(&self, c: &ostrog_store::ConversationRecord, text: &str) -> i64 {
        use ostrog_domain::message::{Author, Body};
        let m = ostrog_store::NewMessage {
            id: ostrog_domain::ids::MessageId::random(),
            conversation_id: c.id,
            client_key: None,
            author: Author::Visitor(c.visitor_id),
            body: Body::Text(text.into()),
            at: self.clock.now(),
        };
        let stored = self.ledger().append_messages(vec![m]).await.unwrap().remove(0).unwrap();
        stored.message().seq
    }
}

// People: sessions, signing in, accounts, employees, set-up and settings,
// wired as `App::new` wires them, over the harness's store, clock and vault.
pub struct People {
    pub settings: Arc<super::settings::Settings>,
    pub sessions: Arc<super::sessions::Sessions>,
    pub sign_in: Arc<super::sign_in::SignIn>,
    pub setup: Arc<super::setup::Setup>,
    pub account: super::account::Account,
    pub employees: super::employees::Employees,
}

/// The password every `Harness::employee_with_password` gets.
pub const PASSWORD: &str = "correct horse battery staple";

impl Harness {
    pub fn people(&self) -> People {
        use crate::services::sign_in::{Defences, SignIn};
        use crate::services::{account, employees, sessions, settings, setup};
        let (store, clock, auditor) = (&self.store, self.clock(), self.auditor());
        // Built as the server builds it; nothing runs until jobs take it.
        let realtime = crate::realtime::Realtime::new(self.ledger());
        let hub = realtime.hub.clone();
        let policy = ostrog_domain::session::SessionPolicy::default();
        let settings = Arc::new(settings::Settings::new(store.clone(), auditor.clone()));
        let sessions = Arc::new(sessions::Sessions::new(store.clone(), store.clone(), clock.clone(), policy, hub));
        let defences = Defences {
            hasher: crate::auth::password::Hasher::new(2),
            ip_throttle: crate::auth::throttle::IpThrottle::new(20),
            password_policy: ostrog_domain::password_policy::PasswordPolicy::new(12),
        };
        let (hasher, password_policy) = (defences.hasher.clone(), defences.password_policy);
        let sign_in = Arc::new(SignIn::new(
            store.clone(),
            store.clone(),
            self.vault.clone(),
            auditor.clone(),
            clock.clone(),
            sessions.clone(),
            settings.clone(),
            defences,
        ));
        let public_url = "https://chat.example.test".to_string();
        let setup = Arc::new(setup::Setup::new(
            store.clone(),
            store.clone(),
            auditor.clone(),
            clock.clone(),
            hasher,
            password_policy,
            public_url,
        ));
        let account = account::Account::new(
            store.clone(),
            self.vault.clone(),
            auditor.clone(),
            clock.clone(),
            sessions.clone(),
            sign_in.clone(),
            settings.clone(),
        );
        let employees = employees::Employees::new(
            store.clone(),
            store.clone(),
            auditor,
            clock,
            sessions.clone(),
            sign_in.clone(),
            setup.clone(),
            realtime.signals.clone(),
        );
        People { settings, sessions, sign_in, setup, account, employees }
    }

    /// An active employee of `role` whose password is `PASSWORD` (and who
    /// must not change it), without 2FA.
    pub async fn employee_with_password(&self, people: &People, role: Role) -> Employee {
        let id = EmployeeId::random();
        let employee = Employee {
            id,
            email: format!("{id}@example.test"),
            name: format!("{role:?}"),
            role,
            status: EmployeeStatus::Active,
            created_at: START,
        };
        let hash = people.sign_in.hasher().hash(PASSWORD).await.unwrap();
        let new = NewEmployee { employee: employee.clone(), password_hash: Some(hash), must_change_password: false };
        self.store.create_employee(&new).await.unwrap();
        employee
    }

    /// The security audit log's action names, oldest first.
    pub async fn audited(&self) -> Vec<String> {
        let log = self.store.audit_entries(&ostrog_store::AuditFilter::default(), 0, 1000).await.unwrap();
        log.into_iter().map(|e| e.event.action).collect()
    }
}
