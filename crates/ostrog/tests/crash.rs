//! Crash safety: visitors write as fast as acknowledgements come back, the
//! server process is killed with SIGKILL in the middle, and after a restart
//! every acknowledged message is stored exactly once, with the sequence
//! number its acknowledgement gave — on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::ORIGIN;

use futures_util::{SinkExt, StreamExt};
use ostrog_domain::ids::{ConversationId, WidgetId};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const VISITORS: usize = 20;

fn serve(dir: &Path, url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ostrog"))
        .args(["--database-url", url, "--data-dir", dir.to_str().unwrap(), "serve"])
        .env("OSTROG_LISTEN", format!("127.0.0.1:{port}"))
        .env("OSTROG_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_listening(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server never listened");
}

/// (conversation, client key) → acknowledged sequence number.
type Acked = Arc<Mutex<HashMap<String, (String, i64)>>>;

/// One visitor: hello, then send and await each ack until the connection dies.
async fn visitor(port: u16, widget: WidgetId, acked: Acked) {
    let mut request = format!("ws://127.0.0.1:{port}/api/v1/widget/{widget}/ws").into_client_request().unwrap();
    request.headers_mut().insert("origin", ORIGIN.parse().unwrap());
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(request).await else { return };
    let _ = ws.send(Message::text(json!({"type": "hello", "v": 1}).to_string())).await;
    let mut visitor_id = String::new();
    loop {
        let client_id = uuid::Uuid::new_v4();
        let send = json!({"type": "send", "client_id": client_id, "text": "load"}).to_string();
        if ws.send(Message::text(send)).await.is_err() {
            return;
        }
        loop {
            let Some(Ok(Message::Text(t))) = ws.next().await else { return };
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            match v["type"].as_str() {
                Some("welcome") => visitor_id = v["visitor_id"].as_str().unwrap().to_string(),
                Some("ack") => {
                    let key = format!("visitor:{visitor_id}:{client_id}");
                    let conversation = v["conversation_id"].as_str().unwrap().to_string();
                    acked.lock().unwrap().insert(key, (conversation, v["seq"].as_i64().unwrap()));
                    break;
                }
                _ => {}
            }
        }
    }
}

async fn crash_and_check(url: &str) {
    let dir = std::env::temp_dir().join(format!("ostrog-crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    // The widget is written through the store, with the same key file the server will use.
    let widget = common::seed_widget(&dir, url).await;

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = serve(&dir, url, port);
    wait_listening(port).await;
    let acked: Acked = Arc::default();
    let load: Vec<_> = (0..VISITORS).map(|_| tokio::spawn(visitor(port, widget, acked.clone()))).collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill().unwrap(); // SIGKILL: no shutdown, no flush
    server.wait().unwrap();
    for task in load {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(acked.len() > VISITORS, "the load ran: {} acknowledged", acked.len());

    let mut restarted = serve(&dir, url, port);
    wait_listening(port).await;
    let store = ostrog_store_sql::connect(url).await.unwrap();
    let mut by_conversation: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    for (key, (conversation, seq)) in &acked {
        by_conversation.entry(conversation.clone()).or_default().push((key.clone(), *seq));
    }
    for (conversation, expected) in by_conversation {
        let id = ConversationId(uuid::Uuid::parse_str(&conversation).unwrap());
        let stored = store.messages(id, 0, None, 100_000).await.unwrap();
        for (key, seq) in expected {
            let copies: Vec<i64> =
                stored.iter().filter(|m| m.client_key.as_deref() == Some(key.as_str())).map(|m| m.seq).collect();
            assert_eq!(copies, vec![seq], "acknowledged message {key} is stored exactly once, as acknowledged");
        }
    }
    restarted.kill().unwrap();
    restarted.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_acknowledged_message_through_sigkill() {
    let dir = std::env::temp_dir().join(format!("ostrog-crash-db-{}", uuid::Uuid::new_v4().simple()));
    crash_and_check(&format!("sqlite://{}", dir.join("ostrog.db").display())).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_every_acknowledged_message_through_sigkill() {
    let admin = ostrog_testkit::postgres_admin_url();
    let url = ostrog_store_sql::create_fresh_postgres_database(&admin, "ostrog_t").await.unwrap();
    crash_and_check(&url).await;
    ostrog_store_sql::drop_postgres_database(&admin, &url).await.unwrap();
}
