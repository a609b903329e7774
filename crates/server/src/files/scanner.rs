//! clamd over INSTREAM (through the `clamav-client` crate) with timeouts of
//! our own, and a strict reading of the answer: only `stream: OK` is clean.
//! Everything else — a detection, an ERROR, a size-limit reply, a broken
//! pipe, a timeout, clamd unreachable — keeps the file out (fail closed).

use crate::files::self_test::{self, Health};
use axum::body::Bytes;
use clamav_client::tokio::TransportProtocol;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// The signature's name, e.g. `Win.Test.EICAR_HDB-1`.
    Infected(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScanError {
    #[error("the virus scanner cannot be reached: {0}")]
    Unavailable(String),
    #[error("the virus scanner did not finish in time")]
    Timeout,
    /// clamd answered, but not with a verdict (an ERROR, a size limit).
    #[error("the virus scanner refused the file: {0}")]
    Refused(String),
}

#[derive(Debug, Clone)]
enum Target {
    Socket(PathBuf),
    Tcp(String),
}

#[derive(Clone)]
pub struct Scanner {
    target: Target,
    connect_timeout: Duration,
    scan_timeout: Duration,
    checked: Arc<Checked>,
}

/// The self-test's state, shared by every clone of the scanner.
struct Checked {
    health: std::sync::RwLock<Health>,
    /// One self-test at a time; uploads waiting for the first one wait here.
    running: tokio::sync::Mutex<()>,
    max_scan_bytes: u64,
    encrypted_refused: bool,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner").field("target", &self.target).field("health", &self.health()).finish()
    }
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

impl Scanner {
    pub fn new(config: &crate::config::ScannerConfig, files: &crate::config::FilesConfig) -> Self {
        let target =
            if config.tcp.is_empty() { Target::Socket(config.socket.clone()) } else { Target::Tcp(config.tcp.clone()) };
        let checked = Checked {
            health: std::sync::RwLock::new(Health::Untested),
            running: tokio::sync::Mutex::new(()),
            max_scan_bytes: config.max_scan_bytes,
            encrypted_refused: !files.allow_encrypted_archives,
        };
        Self {
            target,
            connect_timeout: Duration::from_secs(config.connect_timeout_seconds),
            scan_timeout: Duration::from_secs(config.scan_timeout_seconds),
            checked: Arc::new(checked),
        }
    }

    /// Where clamd is expected, for messages to the administrator.
    pub fn address(&self) -> String {
        match &self.target {
            Target::Socket(path) => path.display().to_string(),
            Target::Tcp(address) => address.clone(),
        }
    }

    /// What the last self-test found.
    pub fn health(&self) -> Health {
        self.checked.health.read().map(|h| h.clone()).unwrap_or(Health::Untested)
    }

    /// Runs the self-test now (waiting for one already running) and logs
    /// what changed; the health it found.
    pub async fn self_test(&self) -> Health {
        let _one = self.checked.running.lock().await;
        let (max, encrypted) = (self.checked.max_scan_bytes, self.checked.encrypted_refused);
        let canaries = self_test::cached(max, encrypted).await;
        let health = self_test::run(self, &canaries).await;
        let before = std::mem::replace(
            &mut *self.checked.health.write().unwrap_or_else(std::sync::PoisonError::into_inner),
            health.clone(),
        );
        if before != health {
            self.report(&health);
        }
        health
    }

    /// Whether an upload may be scanned now: the self-test passed (it is run
    /// first when it has not, or when clamd was unavailable last time).
    pub async fn ready_for_uploads(&self) -> Health {
        match self.health() {
            Health::Untested | Health::Unavailable => self.self_test().await,
            known => known,
        }
    }

    fn report(&self, health: &Health) {
        match health {
            Health::Passed => tracing::info!(clamd = %self.address(), "virus scanner self-test passed"),
            Health::Untested => {}
            Health::Unavailable => tracing::warn!(
                clamd = %self.address(),
                "no virus scanner answers: file uploads are refused until clamd runs \
                 (Debian: apt-get install clamav-daemon; README, \"Files and the antivirus\")"
            ),
            Health::Misconfigured(findings) => {
                for f in findings {
                    tracing::error!(clamd = %self.address(), test_file = f.canary, fix = %f.fix,
                        "virus scanner misconfigured: it passed a test file as clean, so file uploads are refused");
                }
            }
        }
    }

    /// Scans bytes already in memory (the self-test's files).
    pub async fn scan_bytes(&self, bytes: Bytes) -> Result<Verdict, ScanError> {
        let (tx, rx) = mpsc::channel(4);
        let feed = async move {
            for chunk in bytes.chunks(64 * 1024) {
                if tx.send(bytes.slice_ref(chunk)).await.is_err() {
                    break;
                }
            }
        };
        let (verdict, ()) = tokio::join!(self.scan(rx), feed);
        verdict
    }

    /// Scans what arrives on `chunks` until the sender is dropped; the
    /// whole scan, waiting for data included, must end within the scan timeout.
    pub async fn scan(&self, chunks: mpsc::Receiver<Bytes>) -> Result<Verdict, ScanError> {
        let input = futures_util::stream::unfold(chunks, |mut rx| async move {
            rx.recv().await.map(|b| (Ok::<Bytes, io::Error>(b), rx))
        });
        let scan = async {
            match &self.target {
                Target::Socket(path) => {
                    let socket = clamav_client::tokio::Socket { socket_path: path.as_path() };
                    clamav_client::tokio::scan_stream(
                        input,
                        Timed { inner: socket, timeout: self.connect_timeout },
                        None,
                    )
                    .await
                }
                Target::Tcp(address) => {
                    let tcp = clamav_client::tokio::Tcp { host_address: address.as_str() };
                    clamav_client::tokio::scan_stream(input, Timed { inner: tcp, timeout: self.connect_timeout }, None)
                        .await
                }
            }
        };
        let started = std::time::Instant::now();
        let verdict = match tokio::time::timeout(self.scan_timeout, scan).await {
            Err(_) => Err(ScanError::Timeout),
            Ok(Err(e)) => Err(ScanError::Unavailable(e.kind().to_string())),
            Ok(Ok(reply)) => parse_reply(&reply),
        };
        let label = match &verdict {
            Ok(Verdict::Clean) => "clean",
            Ok(Verdict::Infected(_)) => "infected",
            Err(_) => "error",
        };
        crate::metrics::scanned(label, started.elapsed());
        verdict
    }

    /// Whether clamd answers PING now (for /readyz).
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
        return Ok(Verdict::Infected(name.to_string()));
    }
    Err(ScanError::Refused(text.chars().take(200).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ok_is_clean() {
        assert_eq!(parse_reply(b"stream: OK\0"), Ok(Verdict::Clean));
        assert_eq!(parse_reply(b"stream: Eicar.UNOFFICIAL FOUND\0"), Ok(Verdict::Infected("Eicar.UNOFFICIAL".into())));
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
