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
