//! Scheduled backups: with `[backup]` set, the server takes the day's
//! backup once its hour has come, encrypted to the configured public key
//! (only the matching identity opens it), and audits it with the file's
//! SHA-256. (When a backup is due and which are pruned is unit-tested in
//! `backup::schedule`.)

use age::secrecy::ExposeSecret;
use ostrog_store::AuditFilter;
use ostrog_testkit::{Backend, TestServer};
use std::time::Duration;

async fn scheduled_backup(backend: Backend) {
    let identity = age::x25519::Identity::generate();
    let folder = std::env::temp_dir().join(format!("ostrog-scheduled-{}", uuid::Uuid::new_v4().simple()));
    let s = TestServer::start_with(backend, |c| {
        c.backup.dir = folder.display().to_string();
        c.backup.recipient = identity.to_public().to_string();
        c.backup.hour = 0; // due at once, whatever the time of day
    })
    .await;
    let filter = AuditFilter { action: Some("backup.scheduled".into()), ..Default::default() };
    let mut entries = Vec::new();
    for _ in 0..300 {
        entries = s.app.store.audit_entries(&filter, 0, 10).await.unwrap();
        if !entries.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(entries.len(), 1, "one scheduled backup was audited");
    let details = &entries[0].event.details;
    assert_eq!(entries[0].event.outcome, ostrog_domain::audit::Outcome::Success, "{details}");
    let name = details["file"].as_str().unwrap();
    let file = folder.join(name);
    assert!(name.starts_with("ostrog-") && name.ends_with("Z.age"), "{name}");
    let sha256 = ostrog_server::backup::file_sha256(&file).await.unwrap();
    assert_eq!(details["sha256"], sha256.as_str(), "the finished file's hash is on record");

    let key = folder.join("identity.txt");
    std::fs::write(&key, identity.to_string().expose_secret()).unwrap();
    let manifest = ostrog_server::backup::verify(&file, ostrog_server::backup::Key::IdentityFile(key)).await.unwrap();
    assert_eq!(manifest.backend, if backend == Backend::Sqlite { "sqlite" } else { "postgres" });
    let passphrase = ostrog_server::backup::Key::Passphrase("a guess at a passphrase".to_string().into());
    assert!(ostrog_server::backup::verify(&file, passphrase).await.is_err(), "only the identity opens it");
    s.stop().await;
    let _ = std::fs::remove_dir_all(&folder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backup_on_sqlite() {
    scheduled_backup(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backup_on_postgres() {
    scheduled_backup(Backend::Postgres).await;
}
