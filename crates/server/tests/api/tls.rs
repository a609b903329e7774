//! TLS through rustls when a certificate and key are configured: the
//! server answers over HTTPS with HSTS, and its session cookie becomes
//! `__Host-` prefixed and Secure.

use ostrog_testkit::{Backend, PASSWORD, TestServer};
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn https(s: &TestServer, cert: &CertificateDer<'static>, request: String) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(s.config.listen).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut tls = connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.ok();
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_hsts_and_host_prefixed_secure_cookie() {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = std::env::temp_dir().join(format!("ostrog-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, key.cert.pem()).unwrap();
    std::fs::write(&key_path, key.key_pair.serialize_pem()).unwrap();
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.tls.cert = Some(cert_path.clone());
        c.tls.key = Some(key_path.clone());
        c.public_url = format!("https://localhost:{}", c.listen.port());
    })
    .await;
    let admin = s.administrator().await;
    let cert = key.cert.der().clone();

    let health = https(&s, &cert, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".into()).await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.to_lowercase().contains("strict-transport-security: max-age=31536000"), "{health}");

    let body = format!(r#"{{"email": "{}", "password": "{PASSWORD}"}}"#, admin.employee.email);
    let request = format!(
        "POST /api/v1/auth/sign-in HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let signed_in = https(&s, &cert, request).await;
    let cookie = signed_in.lines().find(|l| l.to_lowercase().starts_with("set-cookie:")).unwrap_or_default();
    assert!(cookie.contains("__Host-ostrog_session=") && cookie.contains("; Secure"), "{signed_in}");
    s.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The doctor's look at a public URL that a reverse proxy serves, against
/// a real TLS server (Ostrog itself stands in for the proxy): a certificate
/// the client trusts is read with its end and the HSTS header; one it does
/// not trust is refused as browsers would; a closed port is unreached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_sees_the_public_urls_certificate_and_hsts() {
    use ostrog_server::doctor::facts::public_tls::{Seen, visit};
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
    params.not_after = rcgen::date_time_ymd(2031, 3, 4);
    let key_pair = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key_pair).unwrap();
    let dir = std::env::temp_dir().join(format!("ostrog-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key_pair.serialize_pem()).unwrap();
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.tls.cert = Some(cert_path.clone());
        c.tls.key = Some(key_path.clone());
    })
    .await;
    let url = format!("https://localhost:{}/", s.config.listen.port());
    let mut trusted = rustls::RootCertStore::empty();
    trusted.add(cert.der().clone()).unwrap();

    let Seen::Answered { not_after, hsts } = visit(&url, trusted).await else { panic!("the trusted server answers") };
    assert_eq!(not_after, 1_930_348_800_000, "2031-03-04T00:00:00Z");
    assert_eq!(hsts.as_deref(), Some("max-age=31536000; includeSubDomains"));
    let untrusted = visit(&url, rustls::RootCertStore::empty()).await;
    assert!(matches!(&untrusted, Seen::Untrusted(e) if e.contains("certificate")), "{untrusted:?}");
    s.stop().await;
    let closed = visit(&url, rustls::RootCertStore::empty()).await;
    assert!(matches!(closed, Seen::Unreached(_)), "{closed:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
