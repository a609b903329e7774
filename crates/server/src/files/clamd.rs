//! clamd over INSTREAM (through the `clamav-client` crate) with a connect
//! timeout of our own, and a strict reading of the answer: only
//! `stream: OK` is clean. Everything else — a detection, an ERROR, a
//! size-limit reply, a broken pipe, clamd unreachable — keeps the file out
//! (fail closed). The whole scan's timeout is the scanner's.

use crate::files::scanner::{Detection, ScanError, Verdict};
use axum::body::Bytes;
use clamav_client::tokio::TransportProtocol;
use std::io;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

/// The engine's name in configuration, logs and the audit log.
pub const NAME: &str = "clamd";

#[derive(Debug, Clone)]
enum Target {
    Socket(PathBuf),
    Tcp(String),
}

#[derive(Debug, Clone)]
pub struct Clamd {
    target: Target,
    connect_timeout: Duration,
}

/// A clamd connection that gives up after `timeout`.
struct Timed<T> {
    inner: T,
    timeout: Duration,
}

impl<T: TransportProtocol> TransportProtocol for Timed<T> {
    type Stream = T::Stream;

    async fn connect(&self) -> io::Result<Self::Stream> {
        tokio::time::timeout(self.timeout, self.inner.connect())
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connecting to clamd timed out"))?
    }
}

impl Clamd {
    pub fn new(config: &crate::config::ScannerConfig) -> Self {
        let target =
            if config.tcp.is_empty() { Target::Socket(config.socket.clone()) } else { Target::Tcp(config.tcp.clone()) };
        Self { target, connect_timeout: Duration::from_secs(config.connect_timeout_seconds) }
    }

    /// Where clamd is expected, for messages to the administrator.
    pub fn address(&self) -> String {
        match &self.target {
            Target::Socket(path) => path.display().to_string(),
            Target::Tcp(address) => address.clone(),
        }
    }

    /// Scans what arrives on `chunks` until the sender is dropped.
    pub async fn scan(&self, chunks: mpsc::Receiver<Bytes>) -> Result<Verdict, ScanError> {
        let input = futures_util::stream::unfold(chunks, |mut rx| async move {
            rx.recv().await.map(|b| (Ok::<Bytes, io::Error>(b), rx))
        });
        let reply = match &self.target {
            Target::Socket(path) => {
                let socket = clamav_client::tokio::Socket { socket_path: path.as_path() };
                clamav_client::tokio::scan_stream(input, Timed { inner: socket, timeout: self.connect_timeout }, None)
                    .await
            }
            Target::Tcp(address) => {
                let tcp = clamav_client::tokio::Tcp { host_address: address.as_str() };
                clamav_client::tokio::scan_stream(input, Timed { inner: tcp, timeout: self.connect_timeout }, None)
                    .await
            }
        };
        match reply {
            Err(e) => Err(ScanError::Unavailable(e.kind().to_string())),
            Ok(reply) => parse_reply(&reply),
        }
    }

    /// Whether clamd answers PING now.
    pub async fn ping(&self) -> bool {
        let reply = match &self.target {
            Target::Socket(path) => {
                let socket = clamav_client::tokio::Socket { socket_path: path.as_path() };
                tokio::time::timeout(self.connect_timeout, clamav_client::tokio::ping(socket)).await
            }
            Target::Tcp(address) => {
                let tcp = clamav_client::tokio::Tcp { host_address: address.as_str() };
                tokio::time::timeout(self.connect_timeout, clamav_client::tokio::ping(tcp)).await
            }
        };
        matches!(reply, Ok(Ok(pong)) if pong == clamav_client::PONG)
    }
}

/// `stream: OK\0` is clean; `stream: <name> FOUND\0` is infected; anything
/// else is a refusal.
pub fn parse_reply(reply: &[u8]) -> Result<Verdict, ScanError> {
    let text = std::str::from_utf8(reply).map_err(|_| ScanError::Refused("unreadable reply".into()))?;
    let text = text.strip_suffix('\0').unwrap_or(text).trim_end_matches('\n');
    if text == "stream: OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(name) = text.strip_prefix("stream: ").and_then(|r| r.strip_suffix(" FOUND"))
        && !name.is_empty()
        && !name.contains(['\0', '\n'])
    {
        return Ok(Verdict::Infected(Detection::new(NAME, name)));
    }
    Err(ScanError::Refused(text.chars().take(200).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ok_is_clean() {
        assert_eq!(parse_reply(b"stream: OK\0"), Ok(Verdict::Clean));
        assert_eq!(
            parse_reply(b"stream: Eicar.UNOFFICIAL FOUND\0"),
            Ok(Verdict::Infected(Detection::new(NAME, "Eicar.UNOFFICIAL")))
        );
        for bad in [
            &b"INSTREAM size limit exceeded. ERROR\0"[..],
            b"stream: Can't allocate memory ERROR\0",
            b"stream:  FOUND\0",
            b"stream: OKAY\0",
            b"",
            b"\xff\xfe",
            b"stream: OK\0stream: X FOUND\0",
        ] {
            assert!(parse_reply(bad).is_err(), "{bad:?}");
        }
    }
}
