//! Dynamic scans of the running server, once per role: schemathesis
//! generates requests for every operation of `/api/openapi.json` and checks
//! that none answers 5xx, that every answer conforms to the document
//! (status, content type, body schema), and that none answers 2xx to a
//! role whose permissions lack its `x-permission` (`scripts/scan/ostrog_checks.py`);
//! sqlmap tries SQL injection on the sign-in and on the operations that
//! take search and list parameters. Both find nothing, on both backends.

use ostrog_domain::access::effective;
use ostrog_domain::role::Role;
use ostrog_testkit::{Backend, TestServer, both_backends};
use std::process::Command;

/// No 5xx; every answer's status, content type and body as the document
/// declares them; and our own: no 2xx to a role lacking the permission.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,permission_respected";

/// Seconds schemathesis may spend per role (`OSTROG_SCAN_SECONDS` for longer runs).
fn budget() -> String {
    std::env::var("OSTROG_SCAN_SECONDS").unwrap_or_else(|_| "20".into())
}

fn hooks_dir() -> String {
    format!("{}/../../scripts/scan", env!("CARGO_MANIFEST_DIR"))
}

async fn sessions(s: &TestServer) -> Vec<(Role, String)> {
    let mut out = vec![(Role::Administrator, s.session(&s.administrator().await).await)];
    for role in [Role::Manager, Role::OperatorSupervisor, Role::SeniorOperator, Role::Operator] {
        out.push((role, s.session(&s.employee(role, &[]).await).await));
    }
    out
}

both_backends!(schemathesis_finds_no_server_error_and_no_permission_leak, |s| {
    for (role, token) in sessions(s).await {
        let held: Vec<&str> = effective(role, &[]).iter().map(|p| p.name()).collect();
        let out = Command::new("schemathesis")
            .args(["run", &format!("{}/api/openapi.json", s.url), "--url", &s.url])
            // One worker: CPython 3.11.7 (this machine's) breaks under
            // concurrent `ast.parse` in hypothesis (gh-106905).
            .args(["--checks", CHECKS, "--max-time", &budget(), "--workers", "1"])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            // Signing out would end the scan's own session half-way.
            .args(["--exclude-path", "/api/v1/auth/sign-out", "--no-color"])
            .env("SCHEMATHESIS_HOOKS", "ostrog_checks")
            .env("PYTHONPATH", hooks_dir())
            .env("OSTROG_SCAN_ROLE", role.name())
            .env("OSTROG_SCAN_PERMISSIONS", held.join(","))
            .output()
            .expect("schemathesis must be installed (pip install schemathesis); scripts/test installs it");
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "schemathesis as {}:\n{report}\n{}",
            role.name(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
});

/// sqlmap on one request (`*` marks where it injects); true when it found
/// nothing. Its own verdict lines are kept for the failure message.
fn sqlmap(target: &str, extra: &[&str]) -> (bool, String) {
    let out = Command::new("sqlmap")
        .args(["-u", target, "--batch", "--level", "2", "--risk", "1", "--flush-session", "--disable-coloring"])
        .args(["--ignore-code", "400,401,404,429"])
        // A busy machine answers slowly (sign-ins hash with Argon2): wait and retry rather than give up.
        .args(["--timeout", "60", "--retries", "5"])
        .args([
            "--output-dir",
            std::env::temp_dir().join(format!("ostrog-sqlmap-{}", uuid::Uuid::new_v4().simple())).to_str().unwrap(),
        ])
        .args(extra)
        .output()
        .expect("sqlmap must be installed (Debian: sqlmap); scripts/test installs it");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let found = text.contains("identified the following injection point") || text.contains("is vulnerable");
    let clean = out.status.success() && !found && text.contains("do not appear to be injectable");
    (clean, text)
}

async fn sqlmap_finds_no_injection(backend: Backend) {
    // sqlmap sends thousands of sign-ins: the per-address throttle would
    // answer 429 before the query is reached.
    let s = &TestServer::start_with(backend, |c| c.auth.ip_failures_per_15_min = 1_000_000).await;
    let admin = s.session(&s.administrator().await).await;
    let auth = format!("Authorization: Bearer {admin}");
    let sign_in = format!("{}/api/v1/auth/sign-in", s.url);
    let targets: Vec<(String, Vec<String>)> = vec![
        (
            sign_in,
            vec![
                "--data".into(),
                r#"{"email":"ada*@example.test","password":"a long guess*"}"#.into(),
                "--headers".into(),
                "Content-Type: application/json".into(),
            ],
        ),
        (
            format!("{}/api/v1/conversations?q=order*&state=queued*&limit=10", s.url),
            vec!["--headers".into(), auth.clone()],
        ),
        (
            format!("{}/api/v1/audit?actor=x*&action=auth.sign_in*&target=y*", s.url),
            vec!["--headers".into(), auth.clone()],
        ),
        (
            format!("{}/api/v1/employees?q=ann*&role=operator*&status=active*", s.url),
            vec!["--headers".into(), auth.clone()],
        ),
    ];
    for (target, extra) in targets {
        let (clean, report) = tokio::task::spawn_blocking(move || {
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            sqlmap(&target, &extra)
        })
        .await
        .unwrap();
        let lines: Vec<&str> = report.lines().collect();
        assert!(clean, "sqlmap:\n{}", lines[lines.len().saturating_sub(40)..].join("\n"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlmap_finds_no_injection_on_sqlite() {
    sqlmap_finds_no_injection(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlmap_finds_no_injection_on_postgres() {
    sqlmap_finds_no_injection(Backend::Postgres).await;
}
