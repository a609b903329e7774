//! Bad input gets a 4xx JSON error with a stable code, never a 5xx, and
//! changes nothing.

use ostrog_domain::role::Role;
use ostrog_testkit::both_backends;
use reqwest::Method;
use serde_json::Value;

both_backends!(malformed_wrongly_typed_unknown_and_oversized_bodies, |s| {
    let manager = s.employee(Role::Manager, &[]).await;
    let m = s.session(&manager).await;
    let before = s.app.employees.list(&Default::default()).await.unwrap().len();
    // Just over the 64 KiB limit: small enough that the client has sent it
    // all before the server answers and closes, so the answer is readable.
    let big = format!(
        "{{\"email\": \"{}\", \"name\": \"x\", \"role\": \"operator\", \"access\": \"invitation\"}}",
        "a".repeat(70_000)
    );
    let cases: Vec<(&str, String, &str, u16, &str)> = vec![
        ("/api/v1/employees", "{not json".into(), "application/json", 400, "malformed_json"),
        (
            "/api/v1/employees",
            r#"{"email": 5, "name": "x", "role": "operator", "access": "invitation"}"#.into(),
            "application/json",
            422,
            "invalid_body",
        ),
        (
            "/api/v1/employees",
            r#"{"email": "a@b.test", "name": "x", "role": "operator", "access": "invitation", "admin": true}"#.into(),
            "application/json",
            422,
            "invalid_body",
        ),
        (
            "/api/v1/employees",
            r#"{"email": "a@b.test", "name": "x", "role": "emperor", "access": "invitation"}"#.into(),
            "application/json",
            422,
            "invalid_input",
        ),
        (
            "/api/v1/employees",
            r#"{"email": "not-an-email", "name": "x", "role": "operator", "access": "invitation"}"#.into(),
            "application/json",
            422,
            "invalid_input",
        ),
        ("/api/v1/employees", big, "application/json", 413, "payload_too_large"),
        ("/api/v1/employees", "email=a".into(), "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ("/api/v1/auth/sign-in", "[]".into(), "application/json", 422, "invalid_body"),
        ("/api/v1/employees/not-a-uuid/block", "".into(), "application/json", 422, "invalid_path"),
    ];
    for (path, body, content_type, status, code) in cases {
        let r = s.as_(&m, Method::POST, path).header("content-type", content_type).body(body).send().await.unwrap();
        let got = r.status().as_u16();
        let json: Value = r.json().await.unwrap();
        assert_eq!((got, json["error"]["code"].as_str().unwrap_or("")), (status, code), "{path} → {json}");
    }
    let r = s.as_(&m, Method::GET, "/api/v1/employees?role=emperor").send().await.unwrap();
    assert_eq!(r.status(), 422);
    let r = s.as_(&m, Method::GET, "/api/v1/nowhere").send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.json::<Value>().await.unwrap()["error"]["code"].clone()),
        (404, "not_found".into())
    );
    assert_eq!(s.app.employees.list(&Default::default()).await.unwrap().len(), before, "nothing was created");
    // Every response carries the security headers.
    let r = s.request(Method::GET, "/healthz").send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
});

/// A client that never finishes its headers is disconnected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = ostrog_testkit::TestServer::start_with(ostrog_testkit::Backend::Sqlite, |c| {
        c.limits.header_read_timeout_seconds = 1;
    })
    .await;
    let mut tcp = tokio::net::TcpStream::connect(s.config.listen).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), tcp.read_to_end(&mut buf)).await;
    assert!(closed.is_ok(), "the server kept a connection with unfinished headers open");
    s.stop().await;
}
