//! Set-up shared by the tests that run the real binary.

#![allow(dead_code)] // Each test binary uses its own part of this.

use futures_util::{SinkExt, StreamExt};
use ostrog_domain::ids::WidgetId;
use ostrog_domain::widget::{WidgetSettings, WorkingHours};
use ostrog_store::WidgetRecord;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub const ORIGIN: &str = "https://shop.example";

/// A widget allowing `ORIGIN`, written through the store before the server
/// starts, with the key file the server will use.
pub async fn seed_widget(dir: &Path, url: &str) -> WidgetId {
    let config = ostrog_server::config::Config {
        data_dir: dir.to_path_buf(),
        database_url: url.to_string(),
        ..Default::default()
    };
    let app = ostrog_server::open_app(&config, ostrog_server::system_clock()).await.unwrap();
    let widget = WidgetId::random();
    let settings = WidgetSettings {
        name: "Shop".into(),
        greeting: String::new(),
        working_hours: WorkingHours::default(),
        allowed_origins: vec![ORIGIN.into()],
        language: Default::default(),
    };
    let secret = app.vault.seal(&ostrog_server::keys::Purpose::WidgetSecret(widget), &[7; 32]);
    app.store.create_widget(&WidgetRecord { id: widget, settings, secret, created_at: app.now() }).await.unwrap();
    widget
}

/// The real binary serving `dir` and `url` on `port`, with extra `env`.
pub fn serve(dir: &Path, url: &str, port: u16, env: &[(&str, &str)]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_ostrog"))
        .args(["--database-url", url, "--data-dir", dir.to_str().unwrap(), "serve"])
        .env("OSTROG_LISTEN", format!("127.0.0.1:{port}"))
        .env("OSTROG_LOG__LEVEL", "warn")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// One command of the real binary on `dir` and `url`, with extra `env`
/// and `stdin` written to it (a password, say); what it printed and its status.
pub fn run(url: &str, dir: &Path, env: &[(&str, String)], args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ostrog"))
        .args(["--database-url", url, "--data-dir", dir.to_str().unwrap()])
        .args(args)
        .env("OSTROG_LOG__LEVEL", "warn")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub async fn wait_listening(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server never listened");
}

/// (`visitor:<id>:<client id>`) → (conversation, acknowledged sequence number).
pub type Acked = Arc<Mutex<HashMap<String, (String, i64)>>>;

/// What the load visitors write: personal data, and their client id to tell messages apart.
pub fn text_of(client_key: &str) -> String {
    format!("Звоните +7 916 123-45-67, ref {}", client_key.rsplit(':').next().unwrap_or(""))
}

/// One visitor: hello, then send and await each ack until the connection
/// ends; returns the close code the server ended it with, if any.
pub async fn visitor(port: u16, widget: WidgetId, acked: Acked) -> Option<u16> {
    let mut request = format!("ws://127.0.0.1:{port}/api/v1/widget/{widget}/ws").into_client_request().unwrap();
    request.headers_mut().insert("origin", ORIGIN.parse().unwrap());
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(request).await else { return None };
    let _ = ws.send(Message::text(json!({"type": "hello", "v": 1}).to_string())).await;
    let mut visitor_id = String::new();
    loop {
        let client_id = uuid::Uuid::new_v4();
        let key = format!("visitor:{visitor_id}:{client_id}");
        let send = json!({"type": "send", "client_id": client_id, "text": text_of(&key)}).to_string();
        if ws.send(Message::text(send)).await.is_err() {
            return None;
        }
        loop {
            let frame = match ws.next().await {
                Some(Ok(frame)) => frame,
                _ => return None,
            };
            let t = match frame {
                Message::Text(t) => t,
                Message::Close(close) => return finish_close(&mut ws, close).await,
                _ => continue,
            };
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

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The server's close frame arrived: reads on until the connection ends, as
/// a browser does, so the client's reply goes out; returns the server's code.
async fn finish_close(
    ws: &mut (impl futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
    close: Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>,
) -> Option<u16> {
    let _ = tokio::time::timeout(Duration::from_secs(5), async { while let Some(Ok(_)) = ws.next().await {} }).await;
    close.map(|c| u16::from(c.code))
}

/// A visitor over the frame budget (50 a second, bursts of 100): after
/// `hello`, it writes `send` frames as fast as the connection takes them,
/// never waiting for an ack, and reads its acks on the side. Returns the
/// close code the server ended the connection with, if any.
pub async fn flooder(port: u16, widget: WidgetId, acked: Acked) -> Option<u16> {
    let mut request = format!("ws://127.0.0.1:{port}/api/v1/widget/{widget}/ws").into_client_request().unwrap();
    request.headers_mut().insert("origin", ORIGIN.parse().unwrap());
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(request).await else { return None };
    ws.send(Message::text(json!({"type": "hello", "v": 1}).to_string())).await.ok()?;
    let visitor_id = welcome(&mut ws).await?;
    let (mut sink, mut stream) = ws.split();
    let writer = tokio::spawn(async move {
        loop {
            let send = json!({"type": "send", "client_id": uuid::Uuid::new_v4(), "text": "flood"}).to_string();
            if sink.send(Message::text(send)).await.is_err() {
                return;
            }
        }
    });
    let code = loop {
        let t = match stream.next().await {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(close))) => break finish_close(&mut stream, close).await,
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break None,
        };
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        if v["type"] == "ack" {
            let key = format!("visitor:{visitor_id}:{}", v["client_id"].as_str().unwrap());
            let conversation = v["conversation_id"].as_str().unwrap().to_string();
            acked.lock().unwrap().insert(key, (conversation, v["seq"].as_i64().unwrap()));
        }
    };
    writer.abort();
    code
}

/// The visitor id from the `welcome` frame.
async fn welcome(ws: &mut Socket) -> Option<String> {
    loop {
        if let Message::Text(t) = ws.next().await?.ok()? {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"] == "welcome" {
                return v["visitor_id"].as_str().map(str::to_string);
            }
        }
    }
}

/// The client keys of every visitor's message in the database at `url`.
pub async fn stored_visitor_keys(url: &str) -> Vec<String> {
    const KEYS: &str = "SELECT client_key FROM messages WHERE client_key LIKE 'visitor:%'";
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query_scalar::<_, String>(KEYS).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query_scalar::<_, String>(KEYS).fetch_all(&pool).await.unwrap()
    }
}

/// Nothing stored goes unacknowledged: a message the server stored was
/// acknowledged to its sender before its connection closed (a sender resends
/// what was not acknowledged, so anything else is a needless resend).
pub async fn assert_every_stored_acknowledged(url: &str, acked: &HashMap<String, (String, i64)>) {
    let stored = stored_visitor_keys(url).await;
    let silent: Vec<&String> = stored.iter().filter(|k| !acked.contains_key(*k)).collect();
    assert!(
        silent.is_empty(),
        "{} of {} stored messages were never acknowledged to their sender, e.g. {:?}",
        silent.len(),
        stored.len(),
        silent.first()
    );
}

/// Every acknowledged message is stored exactly once, with the sequence
/// number its acknowledgement gave (read straight from the store).
pub async fn assert_all_stored(url: &str, acked: &HashMap<String, (String, i64)>) {
    let store = ostrog_store_sql::connect(url).await.unwrap();
    let mut by_conversation: HashMap<&str, Vec<(&str, i64)>> = HashMap::new();
    for (key, (conversation, seq)) in acked {
        by_conversation.entry(conversation.as_str()).or_default().push((key.as_str(), *seq));
    }
    for (conversation, expected) in by_conversation {
        let id = ostrog_domain::ids::ConversationId(uuid::Uuid::parse_str(conversation).unwrap());
        let stored = store.messages(id, 0, None, 100_000).await.unwrap();
        for (key, seq) in expected {
            let copies: Vec<i64> =
                stored.iter().filter(|m| m.client_key.as_deref() == Some(key)).map(|m| m.seq).collect();
            assert_eq!(copies, vec![seq], "acknowledged message {key} is stored exactly once, as acknowledged");
        }
    }
}

/// SIGTERM, as systemd stops a service.
pub fn terminate(child: &std::process::Child) {
    let _ = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
}
