//! What the public sees at `public_url` when a reverse proxy, not Ostrog,
//! holds the certificate: the doctor connects as a browser would (the
//! system's trusted roots, the URL's host name), and reads when the
//! certificate ends and whether the answer carries Strict-Transport-Security.
//! A server often cannot reach its own public address (a firewall, NAT
//! without hairpinning), so not reaching it is said, not judged.

use axum::http::Uri;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Each of connecting, the handshake and the answer's head.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The most of the answer read: its head is all that is wanted.
const MAX_HEAD: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The certificate verified; when it ends (ms) and the HSTS header, if any.
    Answered { not_after: i64, hsts: Option<String> },
    /// The handshake failed on the certificate: browsers refuse it too.
    Untrusted(String),
    /// No connection or no answer from here.
    Unreached(String),
}

/// The roots the operating system trusts (`SSL_CERT_FILE` overrides them).
pub fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    roots
}

/// Visits the `https://` URL `url` trusting `roots`.
pub async fn visit(url: &str, roots: rustls::RootCertStore) -> Seen {
    let Ok(url) = url.parse::<Uri>() else { return Seen::Unreached(format!("{url} is not a URL")) };
    let Some(host) = url.host().map(|h| h.trim_matches(['[', ']'])) else {
        return Seen::Unreached(format!("{url} names no host"));
    };
    let port = url.port_u16().unwrap_or(443);
    let Ok(name) = ServerName::try_from(host.to_string()) else {
        return Seen::Unreached(format!("{host} is not a host name"));
    };
    let tcp = match tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return Seen::Unreached(format!("{host}:{port}: {e}")),
        Err(_) => return Seen::Unreached(format!("{host}:{port}: no connection within {} s", TIMEOUT.as_secs())),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    let Ok(config) = config else { return Seen::Unreached("no TLS configuration".into()) };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut tls = match tokio::time::timeout(TIMEOUT, connector.connect(name, tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
            return Seen::Untrusted(e.to_string());
        }
        Ok(Err(e)) => return Seen::Unreached(format!("TLS with {host}:{port}: {e}")),
        Err(_) => {
            return Seen::Unreached(format!("TLS with {host}:{port}: no handshake within {} s", TIMEOUT.as_secs()));
        }
    };
    let not_after = tls.get_ref().1.peer_certificates().and_then(|chain| chain.first()).map(|c| expiry(c));
    let Some(Ok(not_after)) = not_after else { return Seen::Untrusted("no readable certificate".into()) };
    let shown = url.host().unwrap_or(host);
    let authority = url.port().map_or_else(|| shown.to_string(), |p| format!("{shown}:{p}"));
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: ostrog-doctor\r\nConnection: close\r\n\r\n",
        url.path()
    );
    match tokio::time::timeout(TIMEOUT, head(&mut tls, &request)).await {
        Ok(Ok(head)) => Seen::Answered { not_after, hsts: header(&head, "strict-transport-security") },
        Ok(Err(e)) => Seen::Unreached(format!("{url}: {e}")),
        Err(_) => Seen::Unreached(format!("{url}: no answer within {} s", TIMEOUT.as_secs())),
    }
}

/// When a DER certificate stops being valid (ms).
fn expiry(der: &[u8]) -> Result<i64, String> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| e.to_string())?;
    let not_after = cert.tbs_certificate.validity.not_after.to_unix_duration();
    Ok(i64::try_from(not_after.as_millis()).unwrap_or(i64::MAX))
}

/// Sends `request` and reads the answer up to the end of its head.
async fn head<S: AsyncReadExt + AsyncWriteExt + Unpin>(stream: &mut S, request: &str) -> std::io::Result<String> {
    stream.write_all(request.as_bytes()).await?;
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    while got.len() < MAX_HEAD && !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&got).into_owned())
}

/// The value of the first header `name` (lowercase) in an answer's head.
fn header(head: &str, name: &str) -> Option<String> {
    head.split("\r\n").skip(1).take_while(|l| !l.is_empty()).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_is_found_by_its_name_in_any_case_and_only_in_the_head() {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nStrict-Transport-Security:  max-age=63072000 \r\n\r\nstrict-transport-security: body";
        assert_eq!(header(head, "strict-transport-security").as_deref(), Some("max-age=63072000"));
        assert_eq!(header("HTTP/1.1 200 OK\r\n\r\nStrict-Transport-Security: x", "strict-transport-security"), None);
    }
}
