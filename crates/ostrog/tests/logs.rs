//! No personal data in the logs: the real binary at `debug` level, logging
//! JSON lines with audit forwarding and a copy to syslog, serves a visitor
//! who writes their name, phone, card and e-mail (also inside a malformed
//! frame and a refused one) and a failed sign-in; then every line parses as
//! JSON, the audit entry is among them, syslog got RFC 5424 messages, and
//! nothing of the visitor's data, nor their token, is in any of it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::ORIGIN;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SECRETS: [&str; 5] =
    ["Иван Петров", "916 123-45-67", "4276 3800 1234 5679", "ivan.petrov@example.ru", "Тверская"];

/// The next frame of type `kind`, skipping others.
async fn expect(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
    kind: &str,
) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
        if let Message::Text(t) = frame {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"] == kind {
                return v;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_full_of_personal_data_leaves_none_in_the_logs() {
    let dir = std::env::temp_dir().join(format!("ostrog-logs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("ostrog.db").display());
    let widget = common::seed_widget(&dir, &url).await;

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let syslog = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let server = Command::new(env!("CARGO_BIN_EXE_ostrog"))
        .args(["--database-url", &url, "--data-dir", dir.to_str().unwrap(), "serve"])
        .env("OSTROG_LISTEN", format!("127.0.0.1:{port}"))
        .env("OSTROG_LOG__LEVEL", "debug")
        .env("OSTROG_LOG__FORMAT", "json")
        .env("OSTROG_LOG__AUDIT", "true")
        .env("OSTROG_LOG__SYSLOG", format!("udp://{}", syslog.local_addr().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut request = format!("ws://127.0.0.1:{port}/api/v1/widget/{widget}/ws").into_client_request().unwrap();
    request.headers_mut().insert("origin", ORIGIN.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::text(json!({"type": "hello", "v": 1}).to_string())).await.unwrap();
    let token = expect(&mut ws, "welcome").await["token"].as_str().unwrap().to_string();
    let text = format!(
        "Меня зовут {}, телефон +7 {}, карта {}, почта {}, адрес: {} 1",
        SECRETS[0], SECRETS[1], SECRETS[2], SECRETS[3], SECRETS[4]
    );
    ws.send(Message::text(json!({"type": "send", "client_id": uuid::Uuid::new_v4(), "text": text}).to_string()))
        .await
        .unwrap();
    expect(&mut ws, "ack").await;
    // A malformed frame and one with an unknown field, both holding the data.
    ws.send(Message::text(format!("{{\"type\": \"send\", \"text\": \"{}", SECRETS[2]))).await.unwrap();
    expect(&mut ws, "error").await;
    let extra = json!({"type": "send", "client_id": uuid::Uuid::new_v4(), "text": SECRETS[3], "name": SECRETS[0]});
    ws.send(Message::text(extra.to_string())).await.unwrap();
    expect(&mut ws, "error").await;
    // A file upload refused for its type, named after the visitor.
    let http = reqwest::Client::new();
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(b"just text".to_vec()).file_name(format!("{}.txt", SECRETS[0])));
    let r = http
        .post(format!("http://127.0.0.1:{port}/api/v1/widget/{widget}/files"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error() || r.status().is_server_error());
    let wrong = json!({"email": SECRETS[3], "password": "not the password at all"});
    let r = http.post(format!("http://127.0.0.1:{port}/api/v1/auth/sign-in")).json(&wrong).send().await.unwrap();
    assert_eq!(r.status(), 401);
    ws.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    nix_terminate(server.id());
    let output = server.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert!(lines.iter().any(|l| l["level"] == "DEBUG"), "the logs were captured at debug level: {stderr}");
    let audit = lines.iter().find(|l| l["target"] == "ostrog::audit" && l["fields"]["action"] == "auth.sign_in");
    assert!(audit.is_some_and(|a| a["fields"]["outcome"] == "Failure"), "the failed sign-in was forwarded: {stderr}");
    let datagrams = received(&syslog);
    assert!(datagrams.len() >= lines.len() / 2, "syslog got the events: {} of {}", datagrams.len(), lines.len());
    for d in &datagrams {
        let header: Vec<&str> = d.splitn(8, ' ').collect();
        assert!(header[0].starts_with('<') && header[0].ends_with(">1"), "RFC 5424 version 1: {d}");
        assert!(header[1].ends_with('Z') && header[3] == "ostrog", "timestamp and app name: {d}");
        assert!(serde_json::from_str::<Value>(header[7]).is_ok(), "a JSON message: {d}");
    }
    let logs = format!("{}{stderr}{}", String::from_utf8_lossy(&output.stdout), datagrams.join("\n"));
    for secret in SECRETS.iter().chain([&token.as_str()]) {
        assert!(!logs.contains(secret), "{secret:?} is in the logs:\n{logs}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every datagram waiting on `socket`.
fn received(socket: &std::net::UdpSocket) -> Vec<String> {
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while let Ok(n) = socket.recv(&mut buf) {
        out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    out
}

/// SIGTERM, so the process ends as an administrator stops it.
fn nix_terminate(pid: u32) {
    let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
}
