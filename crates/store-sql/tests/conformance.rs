//! Both backends against the one conformance suite, one test per case and
//! backend (`sqlite::<case>`, `postgres::<case>`), plus re-opening a
//! database that already holds data. The PostgreSQL tests need a server:
//! `OSTROG_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! they fail, not skip, when it is unreachable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ostrog_domain::employee::{Employee, EmployeeStatus};
use ostrog_domain::ids::EmployeeId;
use ostrog_domain::role::Role;
use ostrog_store::{NewEmployee, conformance};
use ostrog_store_sql::{
    connect, connect_keys, create_fresh_postgres_database, drop_postgres_database, keys_url_beside,
};
use std::path::PathBuf;

fn postgres_admin_url() -> String {
    std::env::var("OSTROG_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A database file that does not exist yet, in a folder that does not either.
fn fresh_sqlite_path() -> PathBuf {
    std::env::temp_dir().join(format!("ostrog-test-{}", uuid::Uuid::new_v4().simple())).join("ostrog.db")
}

fn remove_sqlite(path: &std::path::Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Runs the conformance case `name` on a fresh SQLite database.
async fn on_fresh_sqlite(name: &str) {
    let case = conformance::CASES.iter().find(|c| c.name == name).expect("a case of that name");
    let path = fresh_sqlite_path();
    let store = connect(&format!("sqlite:{}", path.display())).await.expect("open SQLite");
    assert_eq!(store.backend(), "sqlite");
    (case.run)(store.as_ref()).await;
    drop(store);
    remove_sqlite(&path);
}

/// Runs the key store's conformance case `name` on a fresh SQLite key store.
async fn keys_on_fresh_sqlite(name: &str) {
    let case = conformance::KEY_CASES.iter().find(|c| c.name == name).expect("a key case of that name");
    let path = fresh_sqlite_path();
    let keys = connect_keys(&format!("sqlite:{}", path.with_file_name("keys.db").display())).await.expect("key store");
    (case.run)(keys.as_ref()).await;
    drop(keys);
    remove_sqlite(&path);
}

/// Runs `check` against a fresh PostgreSQL database, on its own task, so
/// that the database is dropped even when a check fails.
async fn on_fresh_postgres<F, Fut>(check: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let admin = postgres_admin_url();
    let url = create_fresh_postgres_database(&admin, "ostrog_t").await.expect("create a PostgreSQL database");
    let checked = tokio::spawn(check(url.clone())).await;
    drop_postgres_database(&admin, &url).await.expect("drop the database");
    if let Err(failure) = checked {
        std::panic::resume_unwind(failure.into_panic());
    }
}

/// Runs the conformance case `name` on a fresh PostgreSQL database.
async fn on_postgres(name: &'static str) {
    let case = conformance::CASES.iter().find(|c| c.name == name).expect("a case of that name");
    on_fresh_postgres(|url| async move {
        let store = connect(&url).await.expect("open PostgreSQL");
        assert_eq!(store.backend(), "postgres");
        (case.run)(store.as_ref()).await;
    })
    .await;
}

/// Runs the key store's conformance case `name` on a fresh key store beside
/// a fresh PostgreSQL database.
async fn keys_on_postgres(name: &'static str) {
    let case = conformance::KEY_CASES.iter().find(|c| c.name == name).expect("a key case of that name");
    on_fresh_postgres(|url| async move {
        let keys = connect_keys(&keys_url_beside(&url).unwrap()).await.expect("open the key store beside it");
        (case.run)(keys.as_ref()).await;
    })
    .await;
}

/// One test per conformance case and backend, `sqlite::<case>` and
/// `postgres::<case>`, each on a fresh database of its own.
macro_rules! cases {
    (store: [$($case:ident),* $(,)?], keys: [$($key_case:ident),* $(,)?] $(,)?) => {
        /// Every case given a test here, by name.
        const LISTED: &[&str] = &[$(stringify!($case),)* $(stringify!($key_case),)*];

        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::on_fresh_sqlite(stringify!($case)).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $key_case() {
                    super::keys_on_fresh_sqlite(stringify!($key_case)).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::on_postgres(stringify!($case)).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $key_case() {
                    super::keys_on_postgres(stringify!($key_case)).await;
                }
            )*
        }
    };
}

cases! {
    store: [
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
        every_visitor_gets_a_numbered_contact,
        contact_names_keep_their_strongest_source,
        contact_details_and_visits_are_replaced_and_erased,
        the_access_trail_is_a_chain_of_its_own,
        consents_and_requests,
        retention_finds_what_is_due,
        channels_are_kept_and_disconnected,
        contacts_are_unique_per_channel,
        replies_to_contacts_are_queued_with_them,
        deliveries_go_in_order_and_are_retried,
        erasing_a_contact_removes_its_deliveries,
        a_lease_goes_to_one_holder_until_it_runs_out,
        of_many_racing_for_a_free_lease_exactly_one_wins,
        nodes_are_listed_while_they_are_seen,
        quick_replies_are_unique_per_scope_and_seen_by_their_owner,
        quick_reply_uses_are_counted_by_period_and_employee,
        label_names_are_unique_and_deletion_frees_them,
        conversation_labels_are_replaced_whole_and_filter_the_list,
        team_names_are_unique_and_members_are_replaced_whole,
        the_queue_is_read_by_priority_then_by_time_queued,
    ],
    keys: [keys_are_kept_once_rewrapped_by_compare_and_set_and_destroyed],
}

/// A case added to the suite but not to `cases!` above would never run here.
#[test]
fn every_case_has_its_tests() {
    let mut suite: Vec<&str> = conformance::CASES.iter().map(|c| c.name).collect();
    suite.extend(conformance::KEY_CASES.iter().map(|c| c.name));
    suite.sort_unstable();
    let before = suite.len();
    suite.dedup();
    assert_eq!(suite.len(), before, "case names are unique");
    let mut listed = LISTED.to_vec();
    listed.sort_unstable();
    let missing: Vec<&&str> = suite.iter().filter(|c| !listed.contains(c)).collect();
    let unknown: Vec<&&str> = listed.iter().filter(|c| !suite.contains(c)).collect();
    assert!(missing.is_empty(), "cases without tests: {missing:?}");
    assert!(unknown.is_empty(), "tests of no case: {unknown:?}");
}

async fn reopening_keeps_rows(url: &str) {
    let e = NewEmployee {
        employee: Employee {
            id: EmployeeId::random(),
            email: "kept@example.com".into(),
            name: "Kept".into(),
            role: Role::Manager,
            status: EmployeeStatus::Active,
            created_at: 1,
        },
        password_hash: Some("hash".into()),
        must_change_password: false,
    };
    let first = connect(url).await.expect("first open");
    first.create_employee(&e).await.expect("create");
    first.put_setting("k", &serde_json::json!(1)).await.expect("setting");
    drop(first);

    let second = connect(url).await.expect("a migrated database holding rows opens again");
    let got = second.employee(e.employee.id).await.expect("read").expect("the row survived");
    assert_eq!(got.employee, e.employee);
    assert_eq!(second.setting("k").await.expect("read"), Some(serde_json::json!(1)));
}

#[tokio::test]
async fn sqlite_reopens_a_migrated_database() {
    let path = fresh_sqlite_path();
    reopening_keeps_rows(&format!("sqlite:{}", path.display())).await;
    remove_sqlite(&path);
}

#[tokio::test]
async fn postgres_reopens_a_migrated_database() {
    on_fresh_postgres(|url| async move { reopening_keeps_rows(&url).await }).await;
}

#[tokio::test]
async fn sqlite_in_memory() {
    let store = connect("sqlite::memory:").await.expect("open in-memory SQLite");
    conformance::run_all(store.as_ref()).await;
}

/// A database a newer Ostrog migrated: an older binary refuses it, saying why.
async fn refuses_a_newer_schema(url: &str) {
    drop(connect(url).await.expect("first open"));
    let insert = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                  VALUES (9999, 'from the future', TRUE, X'00', 0)";
    if url.starts_with("sqlite:") {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(insert).execute(&mut c).await.unwrap();
    } else {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(&insert.replace("X'00'", "'\\x00'::bytea")).execute(&mut c).await.unwrap();
    }
    let refused = connect(url).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("migrated by a newer Ostrog") && refused.contains("9999"), "{refused}");
}

#[tokio::test]
async fn sqlite_refuses_a_schema_from_a_newer_version() {
    let path = fresh_sqlite_path();
    refuses_a_newer_schema(&format!("sqlite:{}", path.display())).await;
    remove_sqlite(&path);
}

#[tokio::test]
async fn postgres_refuses_a_schema_from_a_newer_version() {
    on_fresh_postgres(|url| async move { refuses_a_newer_schema(&url).await }).await;
}

/// `sslmode=require` in the URL encrypts the connection (the driver is
/// built with rustls): the server itself reports the session as TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_can_be_encrypted() {
    on_fresh_postgres(|url| async move {
        let separator = if url.contains('?') { '&' } else { '?' };
        let tls_url = format!("{url}{separator}sslmode=require");
        let store = connect(&tls_url).await.expect("open PostgreSQL over TLS");
        store.ping().await.unwrap();
        let pool = sqlx::PgPool::connect(&tls_url).await.unwrap();
        let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(ssl, "the connection is encrypted");
        pool.close().await;
    })
    .await;
}
