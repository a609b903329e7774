//! `ostrog doctor` as an administrator runs it: on a default installation it
//! names what to do before production (TLS, the antivirus, backups), each
//! with its section of the docs, and exits 1; on an installation set up as
//! the docs say, it finds nothing above a notice and exits 0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ostrog_testkit::clamd::Clamd;
use std::path::Path;
use std::process::Output;

fn ostrog(dir: &Path, env: &[(&str, String)], args: &[&str], stdin: &str) -> Output {
    ostrog_on(&format!("sqlite://{}/ostrog.db", dir.display()), dir, env, args, stdin)
}

/// With no clamd unless `env` names one.
fn ostrog_on(url: &str, dir: &Path, env: &[(&str, String)], args: &[&str], stdin: &str) -> Output {
    let no_clamd = ("OSTROG_SCANNER__SOCKET", dir.join("no-clamd-here.sock").display().to_string());
    let env: Vec<_> = std::iter::once(no_clamd).chain(env.iter().cloned()).collect();
    common::run(url, dir, &env, args, stdin)
}

fn temp_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ostrog-doctor-{}", uuid::Uuid::new_v4().simple()))
}

#[test]
fn a_default_installation_is_told_what_to_do_before_production() {
    let dir = temp_dir();
    told_what_to_do(&format!("sqlite://{}/ostrog.db", dir.display()), &dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_installation_on_postgres_is_told_the_same() {
    let admin = ostrog_testkit::postgres_admin_url();
    let url = ostrog_store_sql::create_fresh_postgres_database(&admin, "ostrog_cli").await.unwrap();
    let dir = temp_dir();
    let check = url.clone();
    tokio::task::spawn_blocking(move || told_what_to_do(&check, &dir)).await.unwrap();
    ostrog_store_sql::drop_postgres_database(&admin, &url).await.unwrap();
}

fn told_what_to_do(url: &str, dir: &Path) {
    let out = ostrog_on(url, dir, &[], &["doctor"], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a critical finding: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    for (line, doc) in [
        ("CRITICAL  tls.transport", "docs/operations.md#5-tls-and-reverse-proxies"),
        ("CRITICAL  tls.public_url", "docs/operations.md#5-tls-and-reverse-proxies"),
        ("CRITICAL  antivirus.engines", "docs/operations.md#6-clamav"),
        ("WARNING   backups.recent", "docs/operations.md#9-backup"),
        ("WARNING   exposure.setup", "docs/operations.md#2-first-start"),
    ] {
        let at = text.find(line).unwrap_or_else(|| panic!("{line} in:\n{text}"));
        let entry = &text[at..text[at..].find("\n\n").map_or(text.len(), |end| at + end)];
        assert!(entry.contains("fix: ") && entry.contains(&format!("see: {doc}")), "{entry}");
    }
    assert!(text.find("CRITICAL").unwrap() < text.find("WARNING").unwrap(), "the worst first");

    let json = ostrog_on(url, dir, &[], &["doctor", "--json"], "");
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["worst"], "critical");
    let check = |id: &str| report["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).cloned().unwrap();
    assert_eq!(check("antivirus.engines")["severity"], "critical");
    assert_eq!(check("logging.audit_trails")["severity"], "ok", "{report}");
    assert_eq!(check("storage.database_tls")["severity"], "ok", "{report}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_installation_set_up_as_documented_passes() {
    let dir = temp_dir();
    let backups = dir.with_extension("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let clamd = Clamd::start();
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let env = [
        ("OSTROG_BACKUP__RECIPIENT", recipient.clone()),
        ("OSTROG_SCANNER__SOCKET", clamd.socket.display().to_string()),
        ("OSTROG_PUBLIC_URL", "https://chat.example.com".to_string()),
        ("OSTROG_TRUSTED_PROXIES", "[\"127.0.0.1\"]".to_string()),
        ("OSTROG_LOG__AUDIT", "true".to_string()),
        ("OSTROG_LOG__SYSLOG", "udp://127.0.0.1:9".to_string()),
        ("OSTROG_BACKUP__DIR", backups.display().to_string()),
        ("OSTROG_BACKUP_PASSPHRASE", "a passphrase of some length".to_string()),
    ];
    let created = ostrog(
        &dir,
        &env,
        &["admin", "create", "--email", "ada@example.test", "--name", "Ada"],
        "a long and unremarkable passphrase\n",
    );
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let now = ostrog_server::system_clock().now();
    let name = ostrog_server::backup::schedule::file_name(now);
    let out = backups.join(&name);
    let backup = ostrog(&dir, &env, &["backup", "--out", out.to_str().unwrap(), "--recipient", &recipient], "");
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));

    let db = dir.with_extension("advisory-db");
    std::fs::create_dir_all(db.join("crates")).unwrap();
    let out = ostrog(&dir, &env, &["doctor", "--json", "--advisories", db.to_str().unwrap()], "");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let above_notice: Vec<_> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !["ok", "notice"].contains(&c["severity"].as_str().unwrap()))
        .collect();
    assert!(above_notice.is_empty(), "{above_notice:#?}");
    assert_eq!(out.status.code(), Some(0));
    backup_identity(&dir, &env, &backups, &identity);

    // An advisory for a crate built into the binary is critical.
    let (name, version) =
        ostrog_server::doctor::advisories::DEPENDENCIES.lines().next().unwrap().split_once(' ').unwrap();
    std::fs::create_dir_all(db.join("crates").join(name)).unwrap();
    let advisory = format!(
        "```toml\n[advisory]\nid = \"RUSTSEC-2099-0001\"\npackage = \"{name}\"\ndate = \"2099-01-01\"\n\n\
         [versions]\npatched = [\"> {version}\"]\n```\n\n# A flaw for the test\n"
    );
    std::fs::write(db.join("crates").join(name).join("RUSTSEC-2099-0001.md"), advisory).unwrap();
    let out = ostrog(&dir, &env, &["doctor", "--advisories", db.to_str().unwrap()], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("CRITICAL  dependencies.advisories  1 advisories: {name} {version}: RUSTSEC-2099-0001")),
        "{text}"
    );

    // The data folder opened to others is critical again.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("ostrog.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = ostrog(&dir, &env, &["doctor"], "");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains("CRITICAL  storage.data_folder") && text.contains("ostrog.db"), "{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&backups);
    let _ = std::fs::remove_dir_all(&db);
}

/// A backup made by hand has no audited hash: given the identity, the
/// doctor decrypts it and checks it against its manifest; another identity
/// fails it.
fn backup_identity(dir: &Path, env: &[(&str, String)], backups: &Path, identity: &age::x25519::Identity) {
    use age::secrecy::ExposeSecret;
    let doctor = |key: &Path| {
        let out = ostrog(dir, env, &["doctor", "--backup-identity", key.to_str().unwrap()], "");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (key, wrong) = (backups.join("identity.txt"), backups.join("wrong.txt"));
    std::fs::write(&key, identity.to_string().expose_secret()).unwrap();
    std::fs::write(&wrong, age::x25519::Identity::generate().to_string().expose_secret()).unwrap();
    let (code, text) = doctor(&key);
    assert_eq!(code, Some(0), "{text}");
    let line = text.lines().find(|l| l.contains("backups.recent")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("ok") && line.contains("decrypted with the identity given"), "{line}");
    let (code, text) = doctor(&wrong);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("CRITICAL  backups.recent  the newest backup does not verify with the identity given"),
        "{text}"
    );
}
