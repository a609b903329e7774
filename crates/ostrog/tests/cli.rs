//! The `ostrog` command as an administrator runs it: `admin create` with
//! the password on standard input, `audit export`, and `audit verify`
//! passing on an intact chain and naming the entry after a direct edit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn ostrog(url: &str, dir: &Path, args: &[&str], stdin: &str) -> Output {
    common::run(url, dir, &[], args, stdin)
}

async fn tamper_then_verify(url: &str) {
    let dir = std::env::temp_dir().join(format!("ostrog-cli-{}", uuid::Uuid::new_v4().simple()));
    let created = ostrog(
        url,
        &dir,
        &["admin", "create", "--email", "ada@example.test", "--name", "Ada"],
        "a long and unremarkable passphrase\n",
    );
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let again = ostrog(
        url,
        &dir,
        &["admin", "create", "--email", "bob@example.test", "--name", "Bob"],
        "a long and unremarkable passphrase\n",
    );
    assert!(!again.status.success(), "exactly one Administrator");
    for _ in 0..2 {
        let export = ostrog(url, &dir, &["audit", "export"], "");
        assert!(export.status.success());
        let first = String::from_utf8(export.stdout).unwrap();
        assert!(first.lines().next().unwrap().contains("\"action\":\"employee.created\""), "{first}");
    }
    let ok = ostrog(url, &dir, &["audit", "verify"], "");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact: 3 entries"));

    edit_row(url).await;
    let broken = ostrog(url, &dir, &["audit", "verify"], "");
    assert_eq!(broken.status.code(), Some(1));
    let err = String::from_utf8_lossy(&broken.stderr);
    assert!(err.contains("entry 2"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What an intruder with database access would do: edit a row in place.
async fn edit_row(url: &str) {
    let sql = "UPDATE audit_log SET action = 'nothing.happened' WHERE seq = 2";
    if url.starts_with("sqlite:") {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    } else {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
}

#[tokio::test]
async fn audit_verify_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("ostrog-cli-db-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    tamper_then_verify(&format!("sqlite://{}", dir.join("o.db").display())).await;
}

#[tokio::test]
async fn audit_verify_on_postgres() {
    let admin = ostrog_testkit::postgres_admin_url();
    let url = ostrog_store_sql::create_fresh_postgres_database(&admin, "ostrog_cli").await.unwrap();
    tamper_then_verify(&url).await;
    ostrog_store_sql::drop_postgres_database(&admin, &url).await.unwrap();
}

/// `ostrog keys`: the status names the master keys held; rotation adds one,
/// re-wraps every data key by it and leaves only it in the key file.
#[tokio::test]
async fn keys_rotate_leaves_only_the_new_master_key() {
    let dir = std::env::temp_dir().join(format!("ostrog-cli-keys-{}", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}", dir.join("o.db").display());
    let status = ostrog(&url, &dir, &["keys", "status"], "");
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(out.contains("master keys held: [1]") && out.contains("wrapped by master key 1: 2"), "{out}");
    let before = std::fs::read_to_string(dir.join("master.key")).unwrap();

    let rotated = ostrog(&url, &dir, &["keys", "rotate"], "");
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    assert!(String::from_utf8_lossy(&rotated.stdout).contains("master key 2 is current; 2 data keys re-wrapped"));
    let after = std::fs::read_to_string(dir.join("master.key")).unwrap();
    assert!(after.starts_with("2:") && after.lines().count() == 1, "only the new key stays");
    assert!(!after.contains(before.trim().trim_start_matches("1:")), "the old key is gone from the file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("master.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = String::from_utf8_lossy(&ostrog(&url, &dir, &["keys", "status"], "").stdout).into_owned();
    assert!(out.contains("master keys held: [2]") && out.contains("wrapped by master key 2: 2"), "{out}");
    let audit = String::from_utf8_lossy(&ostrog(&url, &dir, &["audit", "export"], "").stdout).into_owned();
    assert!(audit.contains("\"action\":\"keys.rotated\""), "{audit}");
    let trail = ostrog(&url, &dir, &["audit", "verify", "--trail", "personal-data"], "");
    assert!(String::from_utf8_lossy(&trail.stdout).contains("intact: 0 entries"), "the access trail, empty");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A bad setting stops the binary before it touches anything, with one
/// line (no backtrace) that names the setting and what it must be.
#[test]
fn a_configuration_error_is_one_line_naming_the_setting_and_the_fix() {
    let dir = std::env::temp_dir().join(format!("ostrog-cli-config-{}", uuid::Uuid::new_v4().simple()));
    for (variable, value, expected) in [
        ("OSTROG_AUTH__SESSION_IDLE_MINUTES", "600", "`auth.session_idle_minutes`: must be 1–60"),
        ("OSTROG_BACKUP__DIR", "/var/backups/ostrog", "`backup.recipient`: scheduled backups need an age public key"),
        ("OSTROG_LOG__OUTPUT", "/nonexistent/folder/ostrog.log", "`log.output`: /nonexistent/folder/ostrog.log"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ostrog"))
            .args(["--data-dir", dir.to_str().unwrap(), "serve"])
            .env(variable, value)
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with("ostrog: ") && stderr.contains(expected), "{stderr}");
    }
    assert!(!dir.exists(), "nothing was created");
}
