//! Backups as an administrator takes them: `ostrog backup` while visitors
//! write and upload, `ostrog restore` into a fresh installation, and then
//! every message acknowledged before the backup began is there exactly
//! once and opens with the master key, the files download, and both audit
//! trails verify — on SQLite and on PostgreSQL (through pg_dump). A backup
//! with one byte changed, or opened with the wrong passphrase, is refused
//! by `backup verify` and `restore` alike, and restore never overwrites
//! data without --force.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use age::secrecy::ExposeSecret;
use common::{Acked, free_port, serve, wait_listening};
use futures_util::{SinkExt, StreamExt};
use ostrog_domain::ids::{ConversationId, WidgetId};
use ostrog_domain::message::Body;
use ostrog_testkit::clamd::Clamd;
use serde_json::{Value, json};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PASSPHRASE: &str = "correct horse battery staple";

/// `ostrog --database-url URL --data-dir DIR <args>` with the backup passphrase in the environment.
fn ostrog(url: &str, dir: &Path, args: &[&str], passphrase: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ostrog"))
        .args(["--database-url", url, "--data-dir", dir.to_str().unwrap()])
        .args(args)
        .env("OSTROG_LOG__LEVEL", "warn")
        .env("OSTROG_BACKUP_PASSPHRASE", passphrase)
        .output()
        .unwrap()
}

fn ok(output: &Output) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{text}");
    text
}

fn failed(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "should have failed: {}", String::from_utf8_lossy(&output.stdout));
    assert_eq!(text.lines().count(), 1, "one clear line: {text}");
    text
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ostrog-{what}-{}", uuid::Uuid::new_v4().simple()));
    // Private, as an installation's data folder is (a looser one is fixed and reported at start).
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).unwrap();
    dir
}

/// A PDF as its magic bytes start, different each time.
fn pdf(n: usize) -> Vec<u8> {
    let mut f = format!("%PDF-1.4\n% upload {n}\n").into_bytes();
    f.extend((0..20_000u32).map(|i| (i % 251) as u8));
    f
}

/// (file id, content) of the uploads acknowledged so far.
type Uploaded = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A visitor who says hello, writes once, then uploads files until the
/// server goes; returns their token (files are theirs to download).
async fn uploader(port: u16, widget: WidgetId, uploaded: Uploaded, token: Arc<Mutex<String>>) {
    let mut request = format!("ws://127.0.0.1:{port}/api/v1/widget/{widget}/ws").into_client_request().unwrap();
    request.headers_mut().insert("origin", common::ORIGIN.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::text(json!({"type": "hello", "v": 1}).to_string())).await.unwrap();
    ws.send(Message::text(
        json!({"type": "send", "client_id": uuid::Uuid::new_v4(), "text": "files follow"}).to_string(),
    ))
    .await
    .unwrap();
    while let Some(Ok(frame)) = ws.next().await {
        let Message::Text(t) = frame else { continue };
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        if v["type"] == "welcome" {
            *token.lock().unwrap() = v["token"].as_str().unwrap().to_string();
        }
        if v["type"] == "ack" {
            break;
        }
    }
    let bearer = token.lock().unwrap().clone();
    let http = reqwest::Client::new();
    for n in 0.. {
        let content = pdf(n);
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(content.clone()).file_name("invoice.pdf"));
        let url = format!("http://127.0.0.1:{port}/api/v1/widget/{widget}/files");
        let Ok(r) = http.post(url).bearer_auth(&bearer).multipart(form).send().await else { return };
        if r.status() != 200 {
            return;
        }
        let m: Value = r.json().await.unwrap();
        uploaded.lock().unwrap().push((m["file"]["file_id"].as_str().unwrap().to_string(), content));
    }
}

async fn backup_under_load_then_restore(url: &str, restored_url: &str) {
    let (dir, restored_dir) = (temp_dir("backup-a"), temp_dir("backup-b"));
    let widget = common::seed_widget(&dir, url).await;
    let clamd = Clamd::start();
    let socket = clamd.socket.display().to_string();
    let scanner = [("OSTROG_SCANNER__SOCKET", socket.as_str())];
    let port = free_port();
    let mut server = serve(&dir, url, port, &scanner);
    wait_listening(port).await;

    let acked = Acked::default();
    let (uploaded, token) = (Uploaded::default(), Arc::new(Mutex::new(String::new())));
    let load: Vec<_> = (0..8).map(|_| tokio::spawn(common::visitor(port, widget, acked.clone()))).collect();
    let files = tokio::spawn(uploader(port, widget, uploaded.clone(), token.clone()));
    // The first upload waits for the scanner's self-test at start.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while uploaded.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (acked_before, uploaded_before) = (acked.lock().unwrap().clone(), uploaded.lock().unwrap().clone());
    let file = dir.join("backup.age");
    let made = tokio::task::spawn_blocking({
        let (url, dir, file) = (url.to_string(), dir.clone(), file.display().to_string());
        move || ostrog(&url, &dir, &["backup", "--out", &file], PASSPHRASE)
    })
    .await
    .unwrap();
    ok(&made);
    let acked_during = acked.lock().unwrap().len();
    common::terminate(&server);
    server.wait().unwrap();
    for task in load {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), files).await;
    assert!(acked_before.len() > 20, "the load ran before the backup: {}", acked_before.len());
    assert!(acked_during > acked_before.len(), "and went on while it was taken");
    assert!(!uploaded_before.is_empty(), "files were uploaded before the backup");
    assert!(!std::fs::read(&file).unwrap().windows(15).any(|w| w == b"+7 916 123-45-67"), "the backup is encrypted");

    let restored = ostrog(restored_url, &restored_dir, &["restore", "--from", file.to_str().unwrap()], PASSPHRASE);
    assert!(ok(&restored).contains("put the master key back"));
    let again = ostrog(restored_url, &restored_dir, &["restore", "--from", file.to_str().unwrap()], PASSPHRASE);
    assert!(failed(&again).contains("--force"));
    let keyless = ostrog(restored_url, &restored_dir, &["audit", "verify"], "");
    assert!(failed(&keyless).contains("master.key is missing"), "no new master key over stored data keys");
    assert!(!restored_dir.join("master.key").exists());
    std::fs::copy(dir.join("master.key"), restored_dir.join("master.key")).unwrap();
    for trail in ["security", "personal-data"] {
        let verified = ok(&ostrog(restored_url, &restored_dir, &["audit", "verify", "--trail", trail], ""));
        assert!(verified.contains("intact"), "{verified}");
    }
    // The restored trail records the restore; the source, the backup taken.
    let restored_log = ok(&ostrog(restored_url, &restored_dir, &["audit", "export"], ""));
    assert!(restored_log.contains("backup.restored"), "the restore is audited");
    let source_log = ok(&ostrog(url, &dir, &["audit", "export"], ""));
    assert!(source_log.contains("backup.created"), "the backup is audited");

    common::assert_all_stored(restored_url, &acked_before).await;
    check_messages_open(restored_url, &restored_dir, &acked_before).await;
    let port = free_port();
    let mut restored_server = serve(&restored_dir, restored_url, port, &scanner);
    wait_listening(port).await;
    let bearer = token.lock().unwrap().clone();
    for (id, content) in &uploaded_before {
        let r = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/api/v1/widget/{widget}/files/{id}"))
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "file {id} downloads from the restored installation");
        assert_eq!(&r.bytes().await.unwrap()[..], &content[..]);
    }
    restored_server.kill().unwrap();
    restored_server.wait().unwrap();
    drop(clamd);
    for d in [dir, restored_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Each message decrypts, with the restored key store and the master key, to what was sent.
async fn check_messages_open(url: &str, dir: &Path, acked: &std::collections::HashMap<String, (String, i64)>) {
    let config = ostrog_server::config::Config {
        data_dir: dir.to_path_buf(),
        database_url: url.to_string(),
        ..Default::default()
    };
    let app = ostrog_server::open_app(&config, ostrog_server::system_clock()).await.unwrap();
    for (key, (conversation, _)) in acked {
        let id = ConversationId(uuid::Uuid::parse_str(conversation).unwrap());
        let messages = app.ledger.messages(id, 0, None, 100_000).await.unwrap();
        let m = messages.iter().find(|m| m.client_key.as_deref() == Some(key.as_str())).unwrap();
        assert_eq!(m.body, Body::Text(common::text_of(key)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_under_load_restores_everything_acknowledged() {
    let (a, b) = (temp_dir("backup-db-a"), temp_dir("backup-db-b"));
    let url = |d: &Path| format!("sqlite://{}", d.join("ostrog.db").display());
    backup_under_load_then_restore(&url(&a), &url(&b)).await;
    for d in [a, b] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backup_under_load_restores_everything_acknowledged() {
    let admin = ostrog_testkit::postgres_admin_url();
    let url = ostrog_store_sql::create_fresh_postgres_database(&admin, "ostrog_t").await.unwrap();
    let restored = ostrog_store_sql::create_fresh_postgres_database(&admin, "ostrog_t").await.unwrap();
    backup_under_load_then_restore(&url, &restored).await;
    for u in [url, restored] {
        ostrog_store_sql::drop_postgres_database(&admin, &u).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_backups_and_wrong_keys_are_refused_and_nothing_is_written() {
    let dir = temp_dir("backup-checks");
    let url = format!("sqlite://{}", dir.join("a/ostrog.db").display());
    common::seed_widget(&dir.join("a"), &url).await;
    let file = dir.join("b.age");
    ok(&ostrog(&url, &dir.join("a"), &["backup", "--out", file.to_str().unwrap()], PASSPHRASE));
    assert!(ok(&ostrog(&url, &dir, &["backup", "verify", file.to_str().unwrap()], PASSPHRASE)).contains("intact"));

    let target = dir.join("c");
    let target_url = format!("sqlite://{}", target.join("ostrog.db").display());
    let wrong = ostrog(&target_url, &target, &["restore", "--from", file.to_str().unwrap()], "not the passphrase");
    assert!(failed(&wrong).contains("does not open"));
    let bytes = std::fs::read(&file).unwrap();
    // One byte in the header (the passphrase stanza) and one in the body.
    for at in [40, bytes.len() / 2] {
        let mut changed = bytes.clone();
        changed[at] ^= 0x01;
        let tampered = dir.join(format!("tampered-{at}.age"));
        std::fs::write(&tampered, &changed).unwrap();
        let verify = ostrog(&url, &dir, &["backup", "verify", tampered.to_str().unwrap()], PASSPHRASE);
        let refused = failed(&verify);
        assert!(refused.contains("damaged") || refused.contains("altered"), "{refused}");
        let restore = ostrog(&target_url, &target, &["restore", "--from", tampered.to_str().unwrap()], PASSPHRASE);
        failed(&restore);
        assert!(!target.join("ostrog.db").exists(), "nothing restored from a damaged backup");
    }
    let cut = dir.join("cut.age");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    assert!(failed(&ostrog(&url, &dir, &["backup", "verify", cut.to_str().unwrap()], PASSPHRASE)).contains("damaged"));

    // A recipient key instead of a passphrase: only its identity opens it.
    let identity = age::x25519::Identity::generate();
    let identity_file = dir.join("identity.txt");
    std::fs::write(&identity_file, identity.to_string().expose_secret()).unwrap();
    let to_key = dir.join("k.age");
    let recipient = identity.to_public().to_string();
    ok(&ostrog(&url, &dir.join("a"), &["backup", "--out", to_key.to_str().unwrap(), "--recipient", &recipient], ""));
    let by_identity = ["backup", "verify", to_key.to_str().unwrap(), "--identity", identity_file.to_str().unwrap()];
    ok(&ostrog(&url, &dir, &by_identity, ""));
    failed(&ostrog(&url, &dir, &["backup", "verify", to_key.to_str().unwrap()], PASSPHRASE));
    let _ = std::fs::remove_dir_all(&dir);
}
