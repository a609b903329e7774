//! The one behaviour suite every Store backend must pass. Each check is a
//! `Case` in `CASES` (or `KEY_CASES`, for the key store); a backend's tests
//! run every case on a fresh store of its own, so one failure hides no
//! other, and `run_all` runs them all, one after the other, on one store.
//! A check left out of the lists is dead code, which the lints refuse.
//!
//! Every check makes its own employees, e-mails and keys, so the checks do
//! not depend on each other (the Administrator is the one thing a store
//! holds only once). This is test code: it panics on the first failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod channels;
mod cluster;
mod contacts;
mod conversations;
mod keys;
mod labels;
mod quick_replies;
mod subjects;
mod teams;

use crate::{
    AuditFilter, EmployeeFilter, KeyStore, LinkKind, NewEmployee, OneTimeLink, SessionRecord, Store, StoreError,
    StoreResult,
};
use futures_util::future::{BoxFuture, join_all};
use ostrog_domain::access::{Effect, Override};
use ostrog_domain::audit::{AuditEntry, AuditEvent, GENESIS, Outcome, verify};
use ostrog_domain::clock::Millis;
use ostrog_domain::employee::{Employee, EmployeeStatus};
use ostrog_domain::ids::{EmployeeId, SessionId};
use ostrog_domain::lockout::Failures;
use ostrog_domain::permission::Permission;
use ostrog_domain::role::Role;
use ostrog_domain::session::Stage;

pub(crate) const T0: Millis = 1_700_000_000_000;

pub(crate) fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn new_employee(role: Role, name: &str, email: &str) -> NewEmployee {
    NewEmployee {
        employee: Employee {
            id: EmployeeId::random(),
            email: email.to_string(),
            name: name.to_string(),
            role,
            status: EmployeeStatus::Active,
            created_at: T0,
        },
        password_hash: Some("$argon2id$v=19$hash".into()),
        must_change_password: false,
    }
}

pub(crate) async fn operator(store: &dyn Store) -> EmployeeId {
    let t = tag();
    let e = new_employee(Role::Operator, &format!("Operator {t}"), &format!("op-{t}@example.com"));
    store.create_employee(&e).await.expect("create operator");
    e.employee.id
}

fn session(employee: EmployeeId, created_at: Millis) -> SessionRecord {
    SessionRecord {
        id: SessionId::random(),
        employee_id: employee,
        token_hash: format!("token-{}", tag()),
        csrf_hash: format!("csrf-{}", tag()),
        stage: Stage::Full,
        created_at,
        last_seen_at: created_at,
        authenticated_at: created_at,
        ip: Some("192.0.2.1".into()),
        user_agent: None,
    }
}

pub(crate) fn conflict_on<T: std::fmt::Debug>(r: StoreResult<T>, subject: &str, what: &str) {
    match r {
        Err(StoreError::Conflict(s)) if s == subject => {}
        other => panic!("{what}: expected Conflict({subject:?}), got {other:?}"),
    }
}

pub(crate) fn not_found<T: std::fmt::Debug>(r: StoreResult<T>, what: &str) {
    assert!(matches!(r, Err(StoreError::NotFound)), "{what}: expected NotFound, got {r:?}");
}

/// One check of the suite on a store of kind `S` (`dyn Store` or `dyn KeyStore`).
pub struct Case<S: ?Sized + 'static> {
    /// Unique across the suite; the backends name their tests after it.
    pub name: &'static str,
    pub run: for<'a> fn(&'a S) -> BoxFuture<'a, ()>,
}

/// `module: [check, …]` for each module of checks, in the order `run_all` runs them.
macro_rules! cases {
    ($($module:ident: [$($check:ident),* $(,)?]),* $(,)?) => {
        &[$($(Case { name: stringify!($check), run: |store| Box::pin($module::$check(store)) }),*),*]
    };
}

/// Every check of a `Store`.
pub const CASES: &[Case<dyn Store>] = cases!(
    self: [
        ping,
        employees_are_created_found_and_listed,
        e_mails_are_unique,
        there_is_at_most_one_administrator,
        permission_overrides,
        leaving_active_status_ends_sessions,
        deletion_leaves_a_tombstone,
        totp_enrolment_and_replay,
        recovery_codes_work_once,
        sessions,
        one_time_links,
        sign_in_failures,
        audit_chain_survives_concurrent_appends,
        audit_filters,
        settings,
    ],
    conversations: [
        widgets,
        visitors_and_tokens,
        appends_number_messages_and_ignore_resends,
        events_and_files_are_read_without_the_texts,
        concurrent_batches_never_share_a_sequence_number,
        state_changes_are_compare_and_set,
        history_pages_and_listing,
        loads_and_activity,
        unattended_assignments_are_found_until_attended,
        erasing_a_visitor_leaves_a_tombstone,
    ],
    contacts: [
        every_visitor_gets_a_numbered_contact,
        contact_names_keep_their_strongest_source,
        contact_details_and_visits_are_replaced_and_erased,
    ],
    subjects: [the_access_trail_is_a_chain_of_its_own, consents_and_requests, retention_finds_what_is_due],
    channels: [
        channels_are_kept_and_disconnected,
        contacts_are_unique_per_channel,
        replies_to_contacts_are_queued_with_them,
        deliveries_go_in_order_and_are_retried,
        erasing_a_contact_removes_its_deliveries,
    ],
    cluster: [
        a_lease_goes_to_one_holder_until_it_runs_out,
        of_many_racing_for_a_free_lease_exactly_one_wins,
        nodes_are_listed_while_they_are_seen,
    ],
    labels: [label_names_are_unique_and_deletion_frees_them, conversation_labels_are_replaced_whole_and_filter_the_list],
    quick_replies: [
        quick_replies_are_unique_per_scope_and_seen_by_their_owner,
        quick_reply_uses_are_counted_by_period_and_employee,
    ],
    teams: [team_names_are_unique_and_members_are_replaced_whole, the_queue_is_read_by_priority_then_by_time_queued],
);

/// Every check of a `KeyStore`.
pub const KEY_CASES: &[Case<dyn KeyStore>] =
    cases!(keys: [keys_are_kept_once_rewrapped_by_compare_and_set_and_destroyed]);

/// Runs every check of `CASES`, one after the other, on one store.
pub async fn run_all(store: &(dyn Store + 'static)) {
    for case in CASES {
        (case.run)(store).await;
    }
}

async fn ping(store: &dyn Store) {
    store.ping().await.expect("ping");
    assert!(!store.backend().is_empty(), "backend names itself");
}

async fn employees_are_created_found_and_listed(store: &dyn Store) {
    let t = tag();
    let anna = new_employee(Role::Operator, &format!("anna {t}"), &format!("anna-{t}@example.com"));
    let mut boris = new_employee(Role::Manager, &format!("Boris {t}"), &format!("boris-{t}@example.com"));
    boris.password_hash = None;
    boris.must_change_password = true;
    let mut zhanna = new_employee(Role::Operator, &format!("Жанна {t}"), &format!("zh-{t}@example.com"));
    zhanna.employee.status = EmployeeStatus::Blocked;
    // Inserted out of order: the listing sorts.
    for e in [&zhanna, &boris, &anna] {
        store.create_employee(e).await.expect("create employee");
    }

    let got = store.employee(boris.employee.id).await.expect("employee").expect("boris exists");
    assert_eq!(got.employee, boris.employee, "employee round-trips");
    assert_eq!(got.password_hash, None, "no password yet");
    assert!(got.must_change_password, "must_change_password round-trips");
    assert_eq!((got.totp_secret, got.pending_totp_secret, got.totp_last_step), (None, None, None));
    let by_mail = store.employee_by_email(&anna.employee.email).await.expect("by email").expect("anna by e-mail");
    assert_eq!(by_mail.employee, anna.employee, "found by e-mail");
    assert_eq!(by_mail.password_hash, anna.password_hash, "password hash round-trips");
    assert!(store.employee(EmployeeId::random()).await.expect("employee").is_none(), "unknown id");
    let invited = store.invited_employees().await.expect("invited");
    assert!(invited.contains(&boris.employee.id), "without a password: invited");
    assert!(!invited.contains(&anna.employee.id) && !invited.contains(&zhanna.employee.id), "with one: not");
    assert!(store.employee_by_email("nobody@example.com").await.expect("by email").is_none(), "unknown e-mail");

    let list = |f: EmployeeFilter| async move { store.list_employees(&f).await.expect("list employees") };
    let names = |v: Vec<Employee>| v.into_iter().map(|e| e.name).collect::<Vec<_>>();
    let q = |s: &str| EmployeeFilter { query: Some(s.to_string()), ..Default::default() };

    assert_eq!(
        names(list(q(&t)).await),
        [&anna, &boris, &zhanna].map(|e| e.employee.name.clone()),
        "the query matches all three, sorted by name case-insensitively"
    );
    let all = list(EmployeeFilter::default()).await;
    for e in [&anna, &boris, &zhanna] {
        assert!(all.contains(&e.employee), "an unfiltered list holds every status");
    }
    assert_eq!(names(list(q(&t.to_uppercase())).await).len(), 3, "the query ignores case");
    assert_eq!(names(list(q(&format!("жАННА {t}"))).await), [zhanna.employee.name.as_str()], "non-ASCII case folds");
    assert_eq!(names(list(q(&format!("boris-{t}@"))).await), [boris.employee.name.as_str()], "matches e-mail");
    let f = EmployeeFilter { role: Some(Role::Operator), query: Some(t.clone()), ..Default::default() };
    assert_eq!(names(list(f).await).len(), 2, "role filter");
    let f = EmployeeFilter { status: Some(EmployeeStatus::Blocked), query: Some(t.clone()), ..Default::default() };
    assert_eq!(names(list(f).await), [zhanna.employee.name.as_str()], "status filter");
    let f = EmployeeFilter { role: Some(Role::Operator), status: Some(EmployeeStatus::Active), query: Some(t.clone()) };
    assert_eq!(names(list(f).await), [anna.employee.name.as_str()], "filters combine");
    for wildcard in ["%", "_", "\\"] {
        let ours = list(q(wildcard)).await.into_iter().filter(|e| e.name.contains(&t)).count();
        assert_eq!(ours, 0, "{wildcard:?} is matched literally, not as a wildcard");
    }

    let new_mail = format!("anna.k-{t}@example.com");
    store.update_profile(anna.employee.id, &format!("Anna K {t}"), &new_mail).await.expect("update profile");
    let got = store.employee(anna.employee.id).await.expect("employee").expect("anna");
    assert_eq!(
        (got.employee.name.as_str(), got.employee.email.as_str()),
        (format!("Anna K {t}").as_str(), new_mail.as_str())
    );
    assert!(store.employee_by_email(&anna.employee.email).await.expect("by email").is_none(), "old e-mail freed");
    not_found(store.update_profile(EmployeeId::random(), "X", &format!("x-{t}@example.com")).await, "update_profile");

    store.set_role(anna.employee.id, Role::SeniorOperator).await.expect("set role");
    store.set_password(anna.employee.id, "$argon2id$new", true).await.expect("set password");
    let got = store.employee(anna.employee.id).await.expect("employee").expect("anna");
    assert_eq!(got.employee.role, Role::SeniorOperator, "role changed");
    assert_eq!(got.password_hash.as_deref(), Some("$argon2id$new"), "password changed");
    assert!(got.must_change_password, "must change password");
    not_found(store.set_role(EmployeeId::random(), Role::Operator).await, "set_role");
    not_found(store.set_password(EmployeeId::random(), "h", false).await, "set_password");
    not_found(store.set_status(EmployeeId::random(), EmployeeStatus::Blocked, T0).await, "set_status");
}

async fn e_mails_are_unique(store: &dyn Store) {
    let t = tag();
    let first = new_employee(Role::Operator, "First", &format!("same-{t}@example.com"));
    store.create_employee(&first).await.expect("create");
    let second = new_employee(Role::Operator, "Second", &format!("same-{t}@example.com"));
    conflict_on(store.create_employee(&second).await, "email", "the same e-mail twice");
    let other = new_employee(Role::Operator, "Other", &format!("other-{t}@example.com"));
    store.create_employee(&other).await.expect("create");
    conflict_on(
        store.update_profile(other.employee.id, "Other", &first.employee.email).await,
        "email",
        "changing to a taken e-mail",
    );
}

async fn there_is_at_most_one_administrator(store: &dyn Store) {
    let t = tag();
    if !store.administrator_exists().await.expect("administrator_exists") {
        let admin = new_employee(Role::Administrator, "Admin", &format!("admin-{t}@example.com"));
        store.create_employee(&admin).await.expect("the first administrator");
    }
    assert!(store.administrator_exists().await.expect("administrator_exists"), "administrator exists");
    let second = new_employee(Role::Administrator, "Admin 2", &format!("admin2-{t}@example.com"));
    conflict_on(store.create_employee(&second).await, "administrator", "a second administrator");
    let op = operator(store).await;
    conflict_on(store.set_role(op, Role::Administrator).await, "administrator", "promoting to administrator");
}

async fn permission_overrides(store: &dyn Store) {
    let id = operator(store).await;
    assert!(store.overrides(id).await.expect("overrides").is_empty(), "none at first");
    store.set_override(id, Permission::AuditView, Some(Effect::Grant)).await.expect("grant");
    store.set_override(id, Permission::ConversationsOwn, Some(Effect::Revoke)).await.expect("revoke");
    store.set_override(id, Permission::AuditView, Some(Effect::Revoke)).await.expect("replace");
    let mut got = store.overrides(id).await.expect("overrides");
    got.sort_by_key(|o| o.permission);
    let mut want = vec![
        Override { permission: Permission::AuditView, effect: Effect::Revoke },
        Override { permission: Permission::ConversationsOwn, effect: Effect::Revoke },
    ];
    want.sort_by_key(|o| o.permission);
    assert_eq!(got, want, "set, replaced");
    store.set_override(id, Permission::AuditView, None).await.expect("remove");
    store.set_override(id, Permission::FinanceView, None).await.expect("removing an absent override");
    assert_eq!(
        store.overrides(id).await.expect("overrides"),
        [Override { permission: Permission::ConversationsOwn, effect: Effect::Revoke }],
        "removed"
    );
}

async fn leaving_active_status_ends_sessions(store: &dyn Store) {
    let id = operator(store).await;
    for status in [EmployeeStatus::Blocked, EmployeeStatus::Disabled] {
        let (a, b) = (session(id, T0), session(id, T0 + 1));
        store.create_session(&a).await.expect("session");
        store.create_session(&b).await.expect("session");
        store.set_status(id, EmployeeStatus::Active, T0).await.expect("active");
        assert_eq!(store.sessions_of(id).await.expect("sessions").len(), 2, "Active keeps sessions");
        store.set_status(id, status, T0).await.expect("set status");
        assert_eq!(store.employee(id).await.expect("employee").expect("exists").employee.status, status);
        assert!(store.sessions_of(id).await.expect("sessions").is_empty(), "{status:?} ends every session");
        assert!(store.session_by_token_hash(&a.token_hash).await.expect("by token").is_none(), "{status:?}");
        store.set_status(id, EmployeeStatus::Active, T0).await.expect("restore");
    }
}

async fn deletion_leaves_a_tombstone(store: &dyn Store) {
    let t = tag();
    let e = new_employee(Role::Operator, &format!("Leaving {t}"), &format!("leaving-{t}@example.com"));
    let id = e.employee.id;
    store.create_employee(&e).await.expect("create");
    store.set_pending_totp(id, Some(b"secret")).await.expect("pending");
    store.activate_totp(id, 10, &["r1".into(), "r2".into()]).await.expect("activate");
    store.set_pending_totp(id, Some(b"next")).await.expect("pending");
    store.set_override(id, Permission::AuditView, Some(Effect::Grant)).await.expect("override");
    store.create_session(&session(id, T0)).await.expect("session");
    let link = OneTimeLink {
        token_hash: format!("link-{t}"),
        kind: LinkKind::Invitation,
        employee_id: Some(id),
        expires_at: T0 + 1_000,
    };
    store.create_link(&link).await.expect("link");

    store.set_status(id, EmployeeStatus::Deleted, T0 + 5).await.expect("delete");
    let got = store.employee(id).await.expect("employee").expect("the tombstone stays");
    assert_eq!(got.employee.status, EmployeeStatus::Deleted);
    assert_eq!(got.employee.name, e.employee.name, "the name stays");
    assert_ne!(got.employee.email, e.employee.email, "the e-mail is gone");
    assert_eq!(got.password_hash, None, "password destroyed");
    assert_eq!((got.totp_secret, got.pending_totp_secret, got.totp_last_step), (None, None, None), "2FA destroyed");
    assert_eq!(store.unused_recovery_codes(id).await.expect("codes"), 0, "recovery codes destroyed");
    assert!(!store.use_recovery_code(id, "r1", T0).await.expect("use code"), "recovery codes destroyed");
    assert!(store.overrides(id).await.expect("overrides").is_empty(), "overrides destroyed");
    assert!(store.sessions_of(id).await.expect("sessions").is_empty(), "sessions ended");
    assert!(store.find_link(&link.token_hash, LinkKind::Invitation, T0).await.expect("find").is_none(), "links gone");
    assert!(store.employee_by_email(&e.employee.email).await.expect("by email").is_none(), "e-mail freed");
    let list = store
        .list_employees(&EmployeeFilter {
            status: Some(EmployeeStatus::Deleted),
            query: Some(t.clone()),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(list.len(), 1, "the tombstone is listed under Deleted");

    let again = new_employee(Role::Operator, "Returning", &e.employee.email);
    store.create_employee(&again).await.expect("a deleted employee's e-mail can be reused");
    not_found(store.set_status(id, EmployeeStatus::Active, T0).await, "a deleted employee stays deleted");
    not_found(store.set_password(id, "h", false).await, "a deleted employee gets no password");
}

async fn totp_enrolment_and_replay(store: &dyn Store) {
    let id = operator(store).await;
    not_found(store.activate_totp(id, 1, &[]).await, "activating with nothing pending");
    store.set_pending_totp(id, Some(b"encrypted")).await.expect("pending");
    let got = store.employee(id).await.expect("employee").expect("exists");
    assert_eq!((got.totp_secret, got.pending_totp_secret.as_deref()), (None, Some(&b"encrypted"[..])));

    store.activate_totp(id, 100, &["c1".into()]).await.expect("activate");
    let got = store.employee(id).await.expect("employee").expect("exists");
    assert_eq!(got.totp_secret.as_deref(), Some(&b"encrypted"[..]), "pending becomes active");
    assert_eq!(got.pending_totp_secret, None, "nothing pending");
    assert_eq!(got.totp_last_step, Some(100), "the enrolment code's step is used");

    assert!(!store.use_totp_step(id, 100).await.expect("step"), "the same step is a replay");
    assert!(!store.use_totp_step(id, 99).await.expect("step"), "an earlier step is a replay");
    assert!(store.use_totp_step(id, 101).await.expect("step"), "a later step is accepted");
    assert!(!store.use_totp_step(id, 101).await.expect("step"), "and only once");
    let racers = join_all((0..10).map(|_| store.use_totp_step(id, 200))).await;
    let winners = racers.into_iter().map(|r| r.expect("step")).filter(|won| *won).count();
    assert_eq!(winners, 1, "of concurrent uses of one step exactly one wins");

    store.clear_totp(id).await.expect("clear");
    let got = store.employee(id).await.expect("employee").expect("exists");
    assert_eq!((got.totp_secret, got.pending_totp_secret), (None, None), "secrets removed");
    assert_eq!(store.unused_recovery_codes(id).await.expect("codes"), 0, "codes removed");
    not_found(store.clear_totp(EmployeeId::random()).await, "clear_totp");
    not_found(store.set_pending_totp(EmployeeId::random(), None).await, "set_pending_totp");
}

async fn recovery_codes_work_once(store: &dyn Store) {
    let id = operator(store).await;
    store.set_pending_totp(id, Some(b"s")).await.expect("pending");
    store.activate_totp(id, 1, &["a".into(), "b".into(), "c".into()]).await.expect("activate");
    assert_eq!(store.unused_recovery_codes(id).await.expect("codes"), 3);
    assert!(store.use_recovery_code(id, "a", T0).await.expect("use"), "a fresh code works");
    assert!(!store.use_recovery_code(id, "a", T0).await.expect("use"), "a used code does not");
    assert!(!store.use_recovery_code(id, "zzz", T0).await.expect("use"), "an unknown code does not");
    let other = operator(store).await;
    assert!(!store.use_recovery_code(other, "b", T0).await.expect("use"), "codes belong to one employee");
    assert_eq!(store.unused_recovery_codes(id).await.expect("codes"), 2);
    let racers = join_all((0..5).map(|_| store.use_recovery_code(id, "b", T0))).await;
    assert_eq!(racers.into_iter().filter(|r| matches!(r, Ok(true))).count(), 1, "concurrent uses: one wins");

    store.set_pending_totp(id, Some(b"s2")).await.expect("pending");
    store.activate_totp(id, 2, &["d".into()]).await.expect("re-enrol");
    assert_eq!(store.unused_recovery_codes(id).await.expect("codes"), 1, "re-enrolment replaces the codes");
    assert!(!store.use_recovery_code(id, "c", T0).await.expect("use"), "old codes are gone");

    store.replace_recovery_codes(id, &["e".into(), "f".into()]).await.expect("replace");
    assert_eq!(store.unused_recovery_codes(id).await.expect("codes"), 2, "replaced");
    assert!(!store.use_recovery_code(id, "d", T0).await.expect("use"), "replaced codes are gone");
    assert!(store.use_recovery_code(id, "e", T0).await.expect("use"), "new codes work");
    not_found(store.replace_recovery_codes(other, &["x".into()]).await, "replacing codes without TOTP");
}

async fn sessions(store: &dyn Store) {
    let id = operator(store).await;
    let mut s = session(id, T0);
    s.stage = Stage::SecondFactor;
    store.create_session(&s).await.expect("create session");
    assert_eq!(store.session_by_token_hash(&s.token_hash).await.expect("by token"), Some(s.clone()), "round-trips");
    assert!(store.session_by_token_hash("nope").await.expect("by token").is_none());
    let mut dup = session(id, T0);
    dup.token_hash = s.token_hash.clone();
    assert!(matches!(store.create_session(&dup).await, Err(StoreError::Conflict(_))), "token hashes are unique");
    not_found(store.create_session(&session(EmployeeId::random(), T0)).await, "a session of nobody");

    store.touch_session(s.id, T0 + 10).await.expect("touch");
    store.set_session_stage(s.id, Stage::Full, T0 + 20).await.expect("stage");
    let got = store.session_by_token_hash(&s.token_hash).await.expect("by token").expect("exists");
    assert_eq!((got.last_seen_at, got.stage, got.authenticated_at), (T0 + 10, Stage::Full, T0 + 20));
    not_found(store.touch_session(SessionId::random(), T0).await, "touch_session");
    not_found(store.set_session_stage(SessionId::random(), Stage::Full, T0).await, "set_session_stage");

    let other = operator(store).await;
    assert!(!store.delete_session(other, s.id).await.expect("delete"), "only the owner's session is deleted");
    assert!(store.delete_session(id, s.id).await.expect("delete"), "deleted");
    assert!(!store.delete_session(id, s.id).await.expect("delete"), "already gone");

    for i in 0..3 {
        store.create_session(&session(id, T0 + i)).await.expect("session");
    }
    let listed = store.sessions_of(id).await.expect("sessions");
    assert_eq!(listed.iter().map(|s| s.created_at).collect::<Vec<_>>(), [T0, T0 + 1, T0 + 2], "oldest first");
    assert_eq!(store.delete_sessions_of(id).await.expect("delete all"), 3);

    // Expiry: idle too long, or alive too long.
    let fresh = session(id, T0 + 1_000_000);
    let mut idle = session(id, T0 + 1_000_000);
    idle.last_seen_at = T0 + 1_000_000 - 1;
    idle.created_at = T0 + 1_000_000 - 1;
    let old = session(id, T0 - 1);
    let mut old = old;
    old.last_seen_at = T0 + 2_000_000;
    for s in [&fresh, &idle, &old] {
        store.create_session(s).await.expect("session");
    }
    let removed = store.delete_expired_sessions(T0 + 1_000_000, T0).await.expect("expire");
    assert!(removed >= 2, "idle and old sessions expire");
    let left = store.sessions_of(id).await.expect("sessions");
    assert_eq!(left.into_iter().map(|s| s.id).collect::<Vec<_>>(), [fresh.id], "the live session stays");
}

async fn one_time_links(store: &dyn Store) {
    let t = tag();
    let id = operator(store).await;
    let invitation = OneTimeLink {
        token_hash: format!("invite-{t}"),
        kind: LinkKind::Invitation,
        employee_id: Some(id),
        expires_at: T0 + 1_000,
    };
    let setup =
        OneTimeLink { token_hash: format!("setup-{t}"), kind: LinkKind::Setup, employee_id: None, expires_at: T0 };
    store.create_link(&invitation).await.expect("link");
    store.create_link(&setup).await.expect("link");
    assert!(store.create_link(&setup).await.is_err(), "a token hash is stored once");

    let find = |h: String, kind, now| async move { store.find_link(&h, kind, now).await.expect("find link") };
    let consume = |h: String, kind, now| async move { store.consume_link(&h, kind, now).await.expect("consume link") };
    assert_eq!(find(invitation.token_hash.clone(), LinkKind::Invitation, T0).await, Some(invitation.clone()));
    assert!(find(invitation.token_hash.clone(), LinkKind::Setup, T0).await.is_none(), "find checks the kind");
    assert!(
        find(invitation.token_hash.clone(), LinkKind::Invitation, T0 + 1_000).await.is_none(),
        "find checks expiry"
    );
    assert!(consume(invitation.token_hash.clone(), LinkKind::Setup, T0).await.is_none(), "wrong kind refused");
    assert!(
        consume(invitation.token_hash.clone(), LinkKind::Invitation, T0 + 1_000).await.is_none(),
        "expired refused"
    );
    assert!(consume(setup.token_hash.clone(), LinkKind::Setup, T0).await.is_none(), "expired at its expiry time");
    assert!(consume("missing".into(), LinkKind::Setup, T0).await.is_none(), "unknown refused");
    assert_eq!(consume(invitation.token_hash.clone(), LinkKind::Invitation, T0 + 999).await, Some(invitation.clone()));
    assert!(consume(invitation.token_hash.clone(), LinkKind::Invitation, T0).await.is_none(), "works only once");
    assert!(find(invitation.token_hash.clone(), LinkKind::Invitation, T0).await.is_none(), "a used link is not found");

    // A resent or revoked invitation: every unused link of the employee goes, of that kind only.
    let (first, second) = (format!("first-{t}"), format!("second-{t}"));
    for h in [&first, &second] {
        let link = OneTimeLink {
            token_hash: h.clone(),
            kind: LinkKind::Invitation,
            employee_id: Some(id),
            expires_at: T0 + 1_000,
        };
        store.create_link(&link).await.expect("link");
    }
    assert_eq!(store.revoke_links(id, LinkKind::Setup).await.expect("revoke"), 0, "another kind stays");
    assert_eq!(store.revoke_links(id, LinkKind::Invitation).await.expect("revoke"), 2, "both unused links go");
    assert!(find(first.clone(), LinkKind::Invitation, T0).await.is_none(), "a revoked link is not found");
    assert!(consume(second.clone(), LinkKind::Invitation, T0).await.is_none(), "nor used");

    let raced = OneTimeLink {
        token_hash: format!("race-{t}"),
        kind: LinkKind::Setup,
        employee_id: None,
        expires_at: T0 + 1_000,
    };
    store.create_link(&raced).await.expect("link");
    let racers = join_all((0..10).map(|_| store.consume_link(&raced.token_hash, LinkKind::Setup, T0))).await;
    let winners = racers.into_iter().filter(|r| matches!(r, Ok(Some(_)))).count();
    assert_eq!(winners, 1, "of concurrent uses exactly one gets the link");
}

async fn sign_in_failures(store: &dyn Store) {
    let subject = tag();
    assert_eq!(store.failures("password", &subject).await.expect("failures"), Failures::default(), "none yet");
    let f = Failures { count: 3, next_attempt_at: T0 };
    store.set_failures("password", &subject, &f).await.expect("set");
    assert_eq!(store.failures("password", &subject).await.expect("failures"), f);
    assert_eq!(store.failures("totp", &subject).await.expect("failures"), Failures::default(), "scopes are apart");
    let f = Failures { count: u32::MAX, next_attempt_at: T0 + 60_000 };
    store.set_failures("password", &subject, &f).await.expect("overwrite");
    assert_eq!(store.failures("password", &subject).await.expect("failures"), f, "overwritten");
    store.clear_failures("password", &subject).await.expect("clear");
    assert_eq!(store.failures("password", &subject).await.expect("failures"), Failures::default(), "cleared");
    store.clear_failures("password", &subject).await.expect("clearing nothing is fine");
}

fn audit_event(action: &str, actor: Option<&str>, target: Option<&str>, at: Millis) -> AuditEvent {
    AuditEvent {
        at,
        actor: actor.map(str::to_string),
        ip: Some("198.51.100.7".into()),
        action: action.to_string(),
        target: target.map(str::to_string),
        outcome: Outcome::Success,
        details: serde_json::json!({ "reason": "test", "n": at, "nested": { "b": [1, 2], "a": null } }),
    }
}

async fn whole_audit_log(store: &dyn Store) -> Vec<AuditEntry> {
    let mut all: Vec<AuditEntry> = vec![];
    loop {
        let after = all.last().map_or(0, |e| e.seq);
        let page = store.audit_entries(&AuditFilter::default(), after, 17).await.expect("audit page");
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

async fn audit_chain_survives_concurrent_appends(store: &dyn Store) {
    let t = tag();
    let before = whole_audit_log(store).await.len();
    let events: Vec<AuditEvent> =
        (0..50).map(|i| audit_event(&format!("test.concurrent.{t}"), Some(&t), None, T0 + i)).collect();
    let appended = join_all(events.iter().map(|e| store.append_audit(e))).await;
    let appended: Vec<AuditEntry> = appended.into_iter().map(|r| r.expect("append audit")).collect();
    for (entry, event) in appended.iter().zip(&events) {
        assert_eq!(&entry.event, event, "append returns the event it stored");
    }

    let log = whole_audit_log(store).await;
    assert_eq!(log.len(), before + 50, "every append is stored");
    let end = verify((0, GENESIS.into()), &log).unwrap_or_else(|e| panic!("the chain verifies: {e}"));
    assert_eq!(end.0, i64::try_from(log.len()).expect("length"), "sequence numbers have no gaps");
    let mut seqs: Vec<i64> = appended.iter().map(|e| e.seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 50, "each append got its own place");
    for entry in &appended {
        let stored = log.iter().find(|e| e.seq == entry.seq).expect("stored entry");
        assert_eq!(stored, entry, "the stored entry is the one returned");
    }
}

async fn audit_filters(store: &dyn Store) {
    let t = tag();
    let (alice, bob) = (format!("alice-{t}"), format!("bob-{t}"));
    let (sign_in, block) = (format!("auth.sign_in.{t}"), format!("employee.blocked.{t}"));
    let target = format!("target-{t}");
    store.append_audit(&audit_event(&sign_in, Some(&alice), None, T0)).await.expect("append");
    store.append_audit(&audit_event(&sign_in, Some(&bob), None, T0 + 10)).await.expect("append");
    store.append_audit(&audit_event(&block, Some(&alice), Some(&target), T0 + 20)).await.expect("append");
    let mut system = audit_event(&block, None, Some(&target), T0 + 30);
    system.outcome = Outcome::Denied;
    system.ip = None;
    store.append_audit(&system).await.expect("append");

    let q = |f: AuditFilter, after: i64, limit: u32| async move {
        store.audit_entries(&f, after, limit).await.expect("audit entries")
    };
    let at = |v: Vec<AuditEntry>| v.into_iter().map(|e| e.event.at).collect::<Vec<_>>();
    let by_actor = |a: &str| AuditFilter { actor: Some(a.to_string()), ..Default::default() };
    assert_eq!(at(q(by_actor(&alice), 0, 100).await), [T0, T0 + 20], "by actor");
    let f = AuditFilter { action: Some(block.clone()), ..Default::default() };
    let blocked = q(f, 0, 100).await;
    assert_eq!(at(blocked.clone()), [T0 + 20, T0 + 30], "by action");
    assert_eq!(blocked[1].event, system, "an event without actor or ip round-trips");
    let f = AuditFilter { target: Some(target.clone()), actor: Some(alice.clone()), ..Default::default() };
    assert_eq!(at(q(f, 0, 100).await), [T0 + 20], "filters combine");
    let f = AuditFilter { action: Some(sign_in.clone()), since: Some(T0 + 10), ..Default::default() };
    assert_eq!(at(q(f, 0, 100).await), [T0 + 10], "since is inclusive");
    let f = AuditFilter { action: Some(block.clone()), until: Some(T0 + 30), ..Default::default() };
    assert_eq!(at(q(f, 0, 100).await), [T0 + 20], "until is exclusive");

    let f = || AuditFilter { target: None, ..by_actor(&alice) };
    let first = q(f(), 0, 1).await;
    assert_eq!(at(first.clone()), [T0], "limit");
    assert_eq!(at(q(f(), first[0].seq, 10).await), [T0 + 20], "after continues past a page");
    assert!(q(f(), 0, 0).await.is_empty(), "limit 0");
}

async fn settings(store: &dyn Store) {
    let key = format!("test.{}", tag());
    assert_eq!(store.setting(&key).await.expect("setting"), None, "unset");
    let v1 = serde_json::json!({ "idle_minutes": 30, "require_totp": true, "name": "Острог" });
    store.put_setting(&key, &v1).await.expect("put");
    assert_eq!(store.setting(&key).await.expect("setting"), Some(v1), "stored");
    let v2 = serde_json::json!([1, "two", null]);
    store.put_setting(&key, &v2).await.expect("overwrite");
    assert_eq!(store.setting(&key).await.expect("setting"), Some(v2), "overwritten");
}
