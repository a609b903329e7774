//! Upload mode: the time to accept a file through Ostrog (HTTP upload,
//! type check, encryption, scan, storage, posting) against the time clamd
//! alone takes for the same bytes over INSTREAM, in the same run.

use crate::fixture::Fixture;
use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[derive(Serialize)]
pub struct UploadReport {
    pub mode: &'static str,
    pub size_bytes: usize,
    pub repeat: usize,
    /// Median over the repetitions, in milliseconds.
    pub clamd_ms: f64,
    pub ostrog_ms: f64,
    /// (Ostrog − clamd) ÷ clamd, in per cent.
    pub overhead_percent: f64,
}

impl UploadReport {
    pub fn human(&self) -> String {
        format!(
            "upload: {} MiB, median of {}\n  clamd INSTREAM alone  {:.1} ms\n  through Ostrog        {:.1} ms\n  overhead              {:.1} %\n",
            self.size_bytes / (1024 * 1024),
            self.repeat,
            self.clamd_ms,
            self.ostrog_ms,
            self.overhead_percent
        )
    }
}

/// A PDF-typed payload (the magic bytes decide the type) of `size` bytes.
fn payload(size: usize) -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    let magic = b"%PDF-1.4\n";
    let mut data = vec![0; size.max(magic.len())];
    rand::rngs::StdRng::seed_from_u64(0x9E37_79B9).fill_bytes(&mut data);
    data[..magic.len()].copy_from_slice(magic);
    data.truncate(size);
    data
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

pub async fn run(fixture: &Fixture, clamd_socket: &Path, size: usize, repeat: usize) -> anyhow::Result<UploadReport> {
    let endpoint = fixture.endpoint()?;
    let token = visitor_with_conversation(fixture, &endpoint.visitor_url(&fixture.widget_id)).await?;
    let data = payload(size);
    let (mut clamd, mut ostrog) = (Vec::new(), Vec::new());
    for _ in 0..repeat {
        let started = Instant::now();
        let socket = clamav_client::tokio::Socket { socket_path: clamd_socket };
        let reply = clamav_client::tokio::scan_buffer(&data, socket, None).await.context("clamd INSTREAM")?;
        anyhow::ensure!(reply.starts_with(b"stream: OK"), "clamd answered {:?}", String::from_utf8_lossy(&reply));
        clamd.push(started.elapsed());

        let started = Instant::now();
        let status = post_file(&endpoint.authority, &fixture.widget_id, &token, &data).await?;
        anyhow::ensure!(status == 200, "the upload was answered with HTTP {status}");
        ostrog.push(started.elapsed());
    }
    let (clamd_ms, ostrog_ms) = (median(clamd), median(ostrog));
    Ok(UploadReport {
        mode: "upload",
        size_bytes: size,
        repeat,
        clamd_ms,
        ostrog_ms,
        overhead_percent: (ostrog_ms - clamd_ms) / clamd_ms * 100.0,
    })
}

/// A visitor who has written once (so has a conversation); their token.
async fn visitor_with_conversation(fixture: &Fixture, url: &str) -> anyhow::Result<String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request()?;
    request.headers_mut().insert("origin", fixture.origin.parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    ws.send(Message::text(r#"{"type":"hello","v":1}"#)).await?;
    let mut token = None;
    let send = format!(r#"{{"type":"send","client_id":"{}","text":"a file follows"}}"#, uuid::Uuid::new_v4());
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await? {
        let Message::Text(text) = frame? else { continue };
        let v: serde_json::Value = serde_json::from_str(text.as_str())?;
        match v["type"].as_str() {
            Some("welcome") => {
                token = v["token"].as_str().map(str::to_string);
                ws.send(Message::text(send.clone())).await?;
            }
            Some("ack") => return token.context("no token in welcome"),
            Some("error") => anyhow::bail!("the visitor was refused: {v}"),
            _ => {}
        }
    }
    anyhow::bail!("the visitor socket closed")
}

/// One multipart POST over plain HTTP/1.1; the response status.
async fn post_file(authority: &str, widget: &str, token: &str, data: &[u8]) -> anyhow::Result<u16> {
    let boundary = format!("ostrog-bench-{}", uuid::Uuid::new_v4().simple());
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let length = head.len() + data.len() + tail.len();
    let request = format!(
        "POST /api/v1/widget/{widget}/files HTTP/1.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n"
    );
    let answer = crate::http::exchange(authority, &request, &[head.as_bytes(), data, tail.as_bytes()]).await?;
    Ok(answer.status())
}
