//! Both backends against the one conformance suite, plus re-opening a
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    let path = fresh_sqlite_path();
    let store = connect(&format!("sqlite:{}", path.display())).await.expect("open SQLite");
    assert_eq!(store.backend(), "sqlite");
    conformance::run_all(store.as_ref()).await;
    let keys = connect_keys(&format!("sqlite:{}", path.with_file_name("keys.db").display())).await.expect("key store");
    conformance::keys::run_all(keys.as_ref()).await;
    drop(store);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    on_fresh_postgres(|url| async move {
        let store = connect(&url).await.expect("open PostgreSQL");
        assert_eq!(store.backend(), "postgres");
        conformance::run_all(store.as_ref()).await;
        let keys = connect_keys(&keys_url_beside(&url).unwrap()).await.expect("open the key store beside it");
        conformance::keys::run_all(keys.as_ref()).await;
    })
    .await;
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
