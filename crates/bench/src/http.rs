//! One plain HTTP/1.1 exchange per connection (`Connection: close`), written
//! by hand: the bench times the server, not a client library's pooling.

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What came back: the status line and headers, and the body.
pub struct Answer {
    pub head: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn status(&self) -> u16 {
        self.head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_default()
    }
}

/// Sends `head` (the request line and headers, each ending in CRLF, without
/// the blank line) with `Connection: close`, then the body's parts, and reads
/// the answer to its end.
pub async fn exchange(authority: &str, head: &str, body: &[&[u8]]) -> anyhow::Result<Answer> {
    let mut stream = tokio::net::TcpStream::connect(authority).await?;
    stream.write_all(format!("{head}Host: {authority}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    for part in body {
        stream.write_all(part).await?;
    }
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").context("an HTTP answer")?;
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    anyhow::ensure!(!head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "a chunked answer");
    Ok(Answer { head, body: answer.split_off(split + 4) })
}
