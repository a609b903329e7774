//! Logging through `tracing`, where the customer wants it: text for people
//! or JSON lines for collectors, to standard error, standard output or a
//! file, filtered per module (`info,ostrog_server::http=debug`), and
//! optionally also as RFC 5424 syslog to the company's SIEM. Events carry
//! ids, kinds and counts, never personal data or secrets; audit entries
//! can be forwarded too (target `ostrog::audit`).

use crate::config::LogConfig;
use std::io::Write;
use std::sync::Arc;
use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("configuration setting `log.level`: {0}")]
    Filter(String),
    #[error("configuration setting `log.output`: {0}")]
    Output(String),
    #[error("configuration setting `log.syslog`: {0}")]
    Syslog(String),
}

/// Installs the subscriber; a setting that cannot be honoured is an error
/// naming it, rather than logs silently going nowhere.
pub fn init(config: &LogConfig) -> Result<(), LogError> {
    let filter = EnvFilter::try_new(&config.level).map_err(|e| LogError::Filter(e.to_string()))?;
    let output = output(&config.output)?;
    let main = tracing_subscriber::fmt::layer().with_writer(output.clone()).with_ansi(output.is_terminal());
    let main = if config.format == "json" { main.json().boxed() } else { main.boxed() };
    let syslog = match config.syslog.as_str() {
        "" => None,
        address => Some(
            tracing_subscriber::fmt::layer()
                .json()
                .with_ansi(false)
                .without_time() // RFC 5424 has its own timestamp.
                .with_writer(Syslog::connect(address)?)
                .boxed(),
        ),
    };
    // A second init (tests start several servers in one process) keeps the first.
    let _ = tracing_subscriber::registry().with(filter).with(main).with(syslog).try_init();
    Ok(())
}

use tracing_subscriber::Layer as _;

/// Where the main log goes.
#[derive(Clone)]
enum Output {
    Stderr,
    Stdout,
    File(Arc<std::sync::Mutex<std::fs::File>>),
}

fn output(setting: &str) -> Result<Output, LogError> {
    Ok(match setting {
        "stderr" | "" => Output::Stderr,
        "stdout" => Output::Stdout,
        path => {
            let mut options = std::fs::OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o640);
            let file = options.open(path).map_err(|e| LogError::Output(format!("{path}: {e}")))?;
            Output::File(Arc::new(std::sync::Mutex::new(file)))
        }
    })
}

impl Output {
    fn is_terminal(&self) -> bool {
        use std::io::IsTerminal;
        match self {
            Output::Stderr => std::io::stderr().is_terminal(),
            Output::Stdout => std::io::stdout().is_terminal(),
            Output::File(_) => false,
        }
    }
}

impl<'a> MakeWriter<'a> for Output {
    type Writer = Box<dyn Write + 'a>;

    fn make_writer(&'a self) -> Self::Writer {
        match self {
            Output::Stderr => Box::new(std::io::stderr()),
            Output::Stdout => Box::new(std::io::stdout()),
            Output::File(f) => Box::new(LockedFile(f.lock().unwrap_or_else(|p| p.into_inner()))),
        }
    }
}

struct LockedFile<'a>(std::sync::MutexGuard<'a, std::fs::File>);

impl Write for LockedFile<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// RFC 5424 over a datagram socket: one event, one message. Sending never
/// blocks logging: when the socket's buffer is full the message is dropped.
#[derive(Clone)]
struct Syslog {
    socket: Arc<Socket>,
    host: Arc<str>,
}

enum Socket {
    Udp(std::net::UdpSocket),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixDatagram),
}

/// Largest message sent; longer ones are cut (RFC 5424 asks receivers for
/// at least 480 bytes and recommends 2048; most take 8 KiB over UDP).
const MAX_MESSAGE: usize = 8 * 1024;

impl Syslog {
    fn connect(address: &str) -> Result<Syslog, LogError> {
        let err = |e: std::io::Error| LogError::Syslog(format!("{address}: {e}"));
        let socket = if let Some(target) = address.strip_prefix("udp://") {
            let socket = std::net::UdpSocket::bind(("0.0.0.0", 0)).map_err(err)?;
            socket.connect(target).map_err(err)?;
            socket.set_nonblocking(true).map_err(err)?;
            Socket::Udp(socket)
        } else {
            #[cfg(unix)]
            {
                let path = address.strip_prefix("unix://").unwrap_or(address);
                let socket = std::os::unix::net::UnixDatagram::unbound().map_err(err)?;
                socket.connect(path).map_err(err)?;
                socket.set_nonblocking(true).map_err(err)?;
                Socket::Unix(socket)
            }
            #[cfg(not(unix))]
            return Err(LogError::Syslog("unix:// needs a Unix system".into()));
        };
        let host =
            std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        let host = if host.is_empty() || !host.bytes().all(|b| b.is_ascii_graphic()) { "-".to_string() } else { host };
        Ok(Syslog { socket: Arc::new(socket), host: host.into() })
    }
}

/// One message being formatted; sent when dropped.
struct SyslogMessage {
    syslog: Syslog,
    severity: u8,
    msgid: &'static str,
    body: Vec<u8>,
}

impl<'a> MakeWriter<'a> for Syslog {
    type Writer = SyslogMessage;

    fn make_writer(&'a self) -> Self::Writer {
        self.message(6, "-")
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        let severity = match *meta.level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            _ => 7,
        };
        self.message(severity, if meta.target() == "ostrog::audit" { "audit" } else { "-" })
    }
}

impl Syslog {
    fn message(&self, severity: u8, msgid: &'static str) -> SyslogMessage {
        SyslogMessage { syslog: self.clone(), severity, msgid, body: Vec::with_capacity(512) }
    }
}

impl Write for SyslogMessage {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.body.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogMessage {
    fn drop(&mut self) {
        let now = ostrog_domain::clock::Clock::now(&ostrog_domain::clock::SystemClock);
        let message = format_5424(self.severity, &self.syslog.host, self.msgid, now, &self.body);
        let _ = match self.syslog.socket.as_ref() {
            Socket::Udp(s) => s.send(&message),
            #[cfg(unix)]
            Socket::Unix(s) => s.send(&message),
        };
    }
}

/// `<PRI>1 TIMESTAMP HOST ostrog PID MSGID - MSG`, facility `daemon` (3).
fn format_5424(severity: u8, host: &str, msgid: &str, now: i64, body: &[u8]) -> Vec<u8> {
    let pri = 3 * 8 + u16::from(severity);
    let header =
        format!("<{pri}>1 {} {host} ostrog {} {msgid} - ", ostrog_domain::clock::rfc3339(now), std::process::id());
    let mut message = header.into_bytes();
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    let room = MAX_MESSAGE.saturating_sub(message.len());
    message.extend_from_slice(&body[..body.len().min(room)]);
    message
}

#[cfg(test)]
mod tests {
    use super::format_5424;

    #[test]
    fn messages_follow_rfc_5424() {
        let m = format_5424(4, "chat1", "audit", 0, b"{\"a\":1}\n");
        let text = String::from_utf8(m).unwrap_or_default();
        let pid = std::process::id();
        assert_eq!(text, format!("<28>1 1970-01-01T00:00:00.000Z chat1 ostrog {pid} audit - {{\"a\":1}}"));
        let long = format_5424(6, "h", "-", 0, &vec![b'x'; 20_000]);
        assert_eq!(long.len(), super::MAX_MESSAGE);
    }
}
