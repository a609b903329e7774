//! An ICAP antivirus service (RFC 3507), the way certified engines
//! (Kaspersky Scan Engine, Dr.Web) and c-icap offer scanning: the upload
//! is sent as the body of an HTTP response (`RESPMOD`) or request
//! (`REQMOD`) while it arrives, in chunks, with the preview and `Allow: 204`
//! when the service announces them in `OPTIONS`. Only "unchanged" is clean:
//! a 204, or the very bytes sent echoed under the same status. A threat
//! header, a blocking status, a changed body, an error or silence keep the
//! file out. One connection per scan, and no more at once than the
//! service's `Max-Connections` (and our own cap).

pub mod wire;

use crate::config::{IcapConfig, IcapMethod};
use crate::files::scanner::{Detection, ScanError, Verdict};
use axum::body::Bytes;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{Mutex, Semaphore, mpsc};
use wire::{Head, Options};

/// `OPTIONS` is asked again after this long even when the service names
/// no `Options-TTL`, so that a changed preview or connection limit is followed.
const OPTIONS_AT_MOST: Duration = Duration::from_secs(3600);
/// How much longer than the largest file scanned an echoed body may be
/// before the answer counts as broken.
const ECHO_SLACK: u64 = 64 * 1024;
/// The HTTP message the file travels in: nothing of the uploader's (no
/// name, no address) reaches the service.
const REQUEST_HEAD: &str = "GET /ostrog/upload HTTP/1.1\r\nHost: ostrog.invalid\r\n\r\n";
const RESPONSE_HEAD: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n";
const UPLOAD_HEAD: &str =
    "POST /ostrog/upload HTTP/1.1\r\nHost: ostrog.invalid\r\nContent-Type: application/octet-stream\r\n\r\n";
/// Named when a service blocks or changes a file without naming a threat.
pub const UNNAMED: &str = "ICAP.Blocked.Unnamed";

pub struct Icap {
    name: String,
    /// `host:port`, as connected to and sent in `Host`.
    authority: String,
    /// The service's URI as the request line carries it.
    uri: String,
    method: IcapMethod,
    connect_timeout: Duration,
    cap: usize,
    /// The longest echo read (`scanner.max_scan_bytes` and some).
    max_echo: u64,
    known: Mutex<Option<Known>>,
}

/// What the last `OPTIONS` said, and the connections it allows.
#[derive(Clone)]
struct Known {
    options: Options,
    asked: Instant,
    allowed: usize,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Icap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Icap").field("name", &self.name).field("uri", &self.uri).finish()
    }
}

fn unavailable(e: impl std::fmt::Display) -> ScanError {
    ScanError::Unavailable(e.to_string())
}

impl Icap {
    /// A service from its settings (checked when the configuration loaded).
    pub fn new(name: &str, config: &IcapConfig, connect_timeout: Duration, max_scan_bytes: u64) -> Self {
        let (authority, path) = crate::config::icap_address(&config.url).unwrap_or_default();
        Self {
            name: name.to_string(),
            uri: format!("icap://{authority}{path}"),
            authority,
            method: config.method,
            connect_timeout,
            cap: config.max_connections.max(1),
            max_echo: max_scan_bytes + ECHO_SLACK,
            known: Mutex::new(None),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn address(&self) -> &str {
        &self.uri
    }

    /// Asks `OPTIONS` now; whether the service answers and offers our method.
    pub async fn ping(&self) -> bool {
        let mut known = self.known.lock().await;
        match self.refresh(&mut known).await {
            Ok(_) => true,
            Err(e) => {
                tracing::debug!(engine = %self.name, error = %e, "ICAP OPTIONS failed");
                false
            }
        }
    }

    /// What `OPTIONS` said, asked again once it is older than its TTL.
    async fn options(&self) -> Result<Known, ScanError> {
        let mut known = self.known.lock().await;
        if let Some(k) = known.as_ref() {
            let ttl = k.options.ttl_seconds.map_or(OPTIONS_AT_MOST, Duration::from_secs).min(OPTIONS_AT_MOST);
            if k.asked.elapsed() < ttl {
                return Ok(k.clone());
            }
        }
        self.refresh(&mut known).await
    }

    /// Asks `OPTIONS` and keeps the answer; the connections allowed keep
    /// their count (scans in flight hold permits) unless it changed.
    async fn refresh(&self, known: &mut Option<Known>) -> Result<Known, ScanError> {
        let options = match tokio::time::timeout(self.connect_timeout, self.ask_options()).await {
            Ok(options) => options?,
            Err(_) => return Err(ScanError::Unavailable("OPTIONS was not answered in time".into())),
        };
        let allowed = options.max_connections.unwrap_or(self.cap).min(self.cap);
        let permits = match known.take() {
            Some(k) if k.allowed == allowed => k.permits,
            _ => Arc::new(Semaphore::new(allowed)),
        };
        let fresh = Known { options, asked: Instant::now(), allowed, permits };
        *known = Some(fresh.clone());
        Ok(fresh)
    }

    async fn ask_options(&self) -> Result<Options, ScanError> {
        let stream = self.connect().await?;
        let (read, mut write) = tokio::io::split(stream);
        let request =
            format!("OPTIONS {} ICAP/1.0\r\nHost: {}\r\nEncapsulated: null-body=0\r\n\r\n", self.uri, self.authority);
        write.write_all(request.as_bytes()).await.map_err(unavailable)?;
        let head = read_head(&mut BufReader::new(read)).await?;
        let options = Options::from_head(&head).map_err(unavailable)?;
        if !options.methods.iter().any(|m| m == self.method.name()) {
            return Err(ScanError::Unavailable(format!("the service does not offer {}", self.method.name())));
        }
        Ok(options)
    }

    async fn connect(&self) -> Result<tokio::net::TcpStream, ScanError> {
        match tokio::time::timeout(self.connect_timeout, tokio::net::TcpStream::connect(&self.authority)).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(ScanError::Unavailable(e.kind().to_string())),
            Err(_) => Err(ScanError::Unavailable("connecting timed out".into())),
        }
    }

    /// Scans what arrives on `chunks` until the sender is dropped.
    pub async fn scan(&self, mut chunks: mpsc::Receiver<Bytes>) -> Result<Verdict, ScanError> {
        let known = self.options().await?;
        let _permit = known.permits.acquire().await.map_err(unavailable)?;
        let (read, mut write) = tokio::io::split(self.connect().await?);
        let mut read = BufReader::new(read);
        let options = &known.options;
        write.write_all(self.request_head(options).as_bytes()).await.map_err(unavailable)?;
        let mut sent = Sent::default();
        if let Some(preview) = options.preview {
            let (first, ended) = take(&mut chunks, preview, &mut sent.held).await;
            sent.write(&mut write, &first).await?;
            write.write_all(if ended { b"0; ieof\r\n\r\n" } else { b"0\r\n\r\n" }).await.map_err(unavailable)?;
            write.flush().await.map_err(unavailable)?;
            let head = read_head(&mut read).await?;
            if ended || head.status != 100 {
                let answer = self.answer_to(head, &mut read).await;
                return self.verdict(answer, &sent, ended);
            }
        }
        // The rest streams while the answer is read: a service may answer
        // before it has read everything, and may echo while it reads.
        let (answer, complete) = {
            let send = sent.write_rest(&mut write, &mut chunks);
            let answer = self.answer(&mut read);
            tokio::pin!(send, answer);
            tokio::select! {
                written = &mut send => {
                    written?;
                    (answer.await, true)
                }
                answer = &mut answer => match answer {
                    // An echo ends after the file's end reached the service;
                    // one that ends before our sending does is cut short.
                    Answer::Echo { .. } => {
                        let finished = tokio::time::timeout(Duration::from_secs(1), send).await;
                        (answer, matches!(finished, Ok(Ok(()))))
                    }
                    other => (other, false),
                },
            }
        };
        self.verdict(answer, &sent, complete)
    }

    fn request_head(&self, options: &Options) -> String {
        let (encapsulated, http) = match self.method {
            IcapMethod::Respmod => (
                format!(
                    "req-hdr=0, res-hdr={}, res-body={}",
                    REQUEST_HEAD.len(),
                    REQUEST_HEAD.len() + RESPONSE_HEAD.len()
                ),
                format!("{REQUEST_HEAD}{RESPONSE_HEAD}"),
            ),
            IcapMethod::Reqmod => (format!("req-hdr=0, req-body={}", UPLOAD_HEAD.len()), UPLOAD_HEAD.to_string()),
        };
        let mut head = format!(
            "{} {} ICAP/1.0\r\nHost: {}\r\nEncapsulated: {encapsulated}\r\n",
            self.method.name(),
            self.uri,
            self.authority
        );
        if options.allow_204 {
            head.push_str("Allow: 204\r\n");
        }
        if let Some(n) = options.preview {
            head.push_str(&format!("Preview: {n}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(&http);
        head
    }

    /// Reads the answer's head, then what it needs of the rest.
    async fn answer<R: AsyncRead + Unpin>(&self, read: &mut BufReader<R>) -> Answer {
        match read_head(read).await {
            Ok(head) => self.answer_to(head, read).await,
            Err(e) => Answer::Decided(Err(e)),
        }
    }

    /// What an answer says: a verdict, or the file echoed back (whose
    /// length and hash are compared with what was sent).
    async fn answer_to<R: AsyncRead + Unpin>(&self, head: Head, read: &mut BufReader<R>) -> Answer {
        let detected = |name: Option<String>| {
            let name = name.unwrap_or_else(|| UNNAMED.to_string());
            Answer::Decided(Ok(Verdict::Infected(Detection::new(&self.name, &name))))
        };
        if wire::reports_threat(&head) {
            return detected(wire::threat(&head));
        }
        match head.status {
            204 => Answer::Decided(Ok(Verdict::Clean)),
            // Some services refuse an infected file with ICAP's own 403.
            403 => detected(None),
            200 => match self.echo(&head, read).await {
                Ok(Some((len, digest))) => Answer::Echo { len, digest },
                Ok(None) => detected(None),
                Err(e) => Answer::Decided(Err(e)),
            },
            100 => Answer::Decided(Err(ScanError::Unavailable("an unexpected 100 Continue".into()))),
            s if s >= 500 => Answer::Decided(Err(ScanError::Unavailable(format!("ICAP {s}")))),
            s => Answer::Decided(Err(ScanError::Refused(format!("ICAP {s}")))),
        }
    }

    /// A 200 that passes the file on (the same HTTP status, or for REQMOD
    /// still a request, with a body): that body's length and SHA-256.
    /// `None` when the service put something else in its place.
    async fn echo<R: AsyncRead + Unpin>(
        &self,
        head: &Head,
        read: &mut BufReader<R>,
    ) -> Result<Option<(u64, Vec<u8>)>, ScanError> {
        let encapsulated = head.encapsulated().map_err(unavailable)?;
        let mut headers = vec![0u8; encapsulated.headers_end];
        read.read_exact(&mut headers).await.map_err(unavailable)?;
        let passed = match self.method {
            IcapMethod::Respmod => encapsulated.http_status(&headers) == Some(200),
            IcapMethod::Reqmod => encapsulated.response_headers.is_none(),
        };
        if !passed || !encapsulated.has_body {
            return Ok(None);
        }
        read_chunked(read, self.max_echo).await.map(Some)
    }

    /// The verdict from an answer. Only an echo of every byte sent, and of
    /// nothing else, is clean. `complete`: the whole file was sent.
    fn verdict(&self, answer: Answer, sent: &Sent, complete: bool) -> Result<Verdict, ScanError> {
        match answer {
            Answer::Decided(verdict) => verdict,
            Answer::Echo { len, digest } => {
                if complete && len == sent.len && digest == sent.hash.clone().finalize().as_slice() {
                    Ok(Verdict::Clean)
                } else {
                    Ok(Verdict::Infected(Detection::new(&self.name, UNNAMED)))
                }
            }
        }
    }
}

/// What a service answered.
enum Answer {
    Decided(Result<Verdict, ScanError>),
    /// The file passed back: its length and SHA-256.
    Echo {
        len: u64,
        digest: Vec<u8>,
    },
}

/// What was sent of the file: its length and hash (to recognise an echo),
/// and the part of a chunk taken beyond the preview.
#[derive(Default)]
struct Sent {
    len: u64,
    hash: Sha256,
    held: Option<Bytes>,
}

impl Sent {
    async fn write<W: AsyncWrite + Unpin>(&mut self, write: &mut W, bytes: &[u8]) -> Result<(), ScanError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.len += bytes.len() as u64;
        self.hash.update(bytes);
        write.write_all(wire::chunk_header(bytes.len()).as_bytes()).await.map_err(unavailable)?;
        write.write_all(bytes).await.map_err(unavailable)?;
        write.write_all(b"\r\n").await.map_err(unavailable)
    }

    async fn write_rest<W: AsyncWrite + Unpin>(
        &mut self,
        write: &mut W,
        chunks: &mut mpsc::Receiver<Bytes>,
    ) -> Result<(), ScanError> {
        if let Some(held) = self.held.take() {
            self.write(write, &held).await?;
        }
        while let Some(chunk) = chunks.recv().await {
            self.write(write, &chunk).await?;
        }
        write.write_all(b"0\r\n\r\n").await.map_err(unavailable)?;
        write.flush().await.map_err(unavailable)
    }
}

/// Up to `n` bytes from the start of the file, whatever its chunks; what
/// was taken of a chunk beyond them goes to `held`. Whether the file ended
/// within them.
async fn take(chunks: &mut mpsc::Receiver<Bytes>, n: usize, held: &mut Option<Bytes>) -> (Vec<u8>, bool) {
    let mut first = Vec::with_capacity(n.min(64 * 1024));
    while first.len() < n {
        let Some(chunk) = chunks.recv().await else { return (first, true) };
        let room = n - first.len();
        if chunk.len() > room {
            first.extend_from_slice(&chunk[..room]);
            *held = Some(chunk.slice(room..));
            return (first, false);
        }
        first.extend_from_slice(&chunk);
    }
    // Exactly `n` bytes: whether more follow decides `ieof`.
    match chunks.recv().await {
        Some(next) => {
            *held = Some(next);
            (first, false)
        }
        None => (first, true),
    }
}

/// A response's head, up to the blank line, at most `MAX_HEAD_BYTES`.
async fn read_head<R: AsyncRead + Unpin>(read: &mut BufReader<R>) -> Result<Head, ScanError> {
    let mut bytes = Vec::new();
    loop {
        let before = bytes.len();
        let n = (&mut *read)
            .take((wire::MAX_HEAD_BYTES - before) as u64)
            .read_until(b'\n', &mut bytes)
            .await
            .map_err(unavailable)?;
        if n == 0 {
            return Err(ScanError::Unavailable("the service closed the connection".into()));
        }
        if bytes[before..] == *b"\r\n" {
            return Head::parse(&bytes).map_err(unavailable);
        }
        if bytes.len() >= wire::MAX_HEAD_BYTES {
            return Err(ScanError::Unavailable("an answer's head too long".into()));
        }
    }
}

/// Reads a chunked body to its end (trailers included); its length and
/// SHA-256. Longer than `limit`: an error.
async fn read_chunked<R: AsyncRead + Unpin>(read: &mut BufReader<R>, limit: u64) -> Result<(u64, Vec<u8>), ScanError> {
    let (mut len, mut hash, mut line) = (0u64, Sha256::new(), Vec::new());
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        line.clear();
        (&mut *read).take(1024).read_until(b'\n', &mut line).await.map_err(unavailable)?;
        let mut size = wire::chunk_size(&line).map_err(unavailable)?;
        if size == 0 {
            break;
        }
        len += size as u64;
        if len > limit {
            return Err(ScanError::Unavailable("an echoed body longer than the file".into()));
        }
        while size > 0 {
            let n = read.read(&mut buf[..size.min(64 * 1024)]).await.map_err(unavailable)?;
            if n == 0 {
                return Err(ScanError::Unavailable("the body broke off".into()));
            }
            hash.update(&buf[..n]);
            size -= n;
        }
        let mut crlf = [0u8; 2];
        read.read_exact(&mut crlf).await.map_err(unavailable)?;
        if crlf != *b"\r\n" {
            return Err(ScanError::Unavailable("a chunk without its CRLF".into()));
        }
    }
    // Trailers, up to the blank line.
    loop {
        line.clear();
        let n = (&mut *read).take(1024).read_until(b'\n', &mut line).await.map_err(unavailable)?;
        if n == 0 || line == b"\r\n" {
            return Ok((len, hash.finalize().to_vec()));
        }
    }
}
