//! Attempts around a defence leave a trace (ASVS 16.3.3): CSRF refusals,
//! a widget opened from a website it does not allow, throttled sign-ins
//! and frames over a socket's budget are counted per kind and address and
//! written to the audit log as `security.refused`, one entry per minute
//! and address, with nothing of the request but its kind.

use ostrog_domain::role::Role;
use ostrog_testkit::ws::Ws;
use ostrog_testkit::{TestServer, both_backends};
use reqwest::Method;
use serde_json::{Value, json};

/// The `security.refused` entries as (kind, count, ip).
async fn refused(s: &TestServer) -> Vec<(String, u64, String)> {
    ostrog_server::flush_refusals(&s.app).await;
    let audit = s.app.audit_log.page(&Default::default(), 0, 1000).await.unwrap();
    let mut out: Vec<(String, u64, String)> = audit
        .iter()
        .filter(|e| e.event.action == "security.refused")
        .map(|e| {
            let d = &e.event.details;
            let ip = e.event.ip.clone().unwrap_or_default();
            (d["kind"].as_str().unwrap().to_string(), d["count"].as_u64().unwrap(), ip)
        })
        .collect();
    out.sort();
    out
}

both_backends!(attempts_around_the_defences_are_audited_per_address_and_minute, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    // Three cookie requests without the CSRF token.
    let op = s.employee(Role::Operator, &[]).await;
    let r = s
        .request(Method::POST, "/api/v1/auth/sign-in")
        .json(&json!({"email": op.employee.email, "password": op.password}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    for _ in 0..3 {
        let r = s.request(Method::POST, "/api/v1/auth/sign-out").header("cookie", &cookie).header("origin", &s.url);
        assert_eq!(r.send().await.unwrap().status(), 403);
    }
    // The widget from a website it does not allow, twice.
    for _ in 0..2 {
        let url = s.ws_url(&format!("/api/v1/widget/{widget}/ws"));
        assert!(Ws::connect(&url, &[("origin", "https://evil.example")]).await.is_err());
    }
    // Frames far over the socket's budget.
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    for _ in 0..150 {
        visitor.send(json!({"type": "ping"})).await;
    }
    // `rate_limited`: reading slowed down (the pongs come first).
    while visitor.expect("error").await["code"] != "rate_limited" {}
    let found = refused(s).await;
    let kinds: Vec<(&str, u64)> = found.iter().map(|(k, n, _)| (k.as_str(), *n)).collect();
    assert!(kinds.contains(&("csrf_rejected", 3)), "{found:?}");
    assert!(kinds.contains(&("origin_not_allowed", 2)), "{found:?}");
    assert!(kinds.iter().any(|(k, n)| *k == "rate_limited" && *n >= 1), "{found:?}");
    assert!(found.iter().all(|(_, _, ip)| ip == "127.0.0.1"), "by address: {found:?}");
    let entry: Value = s.get_json(&admin, "/api/v1/audit?action=security.refused").await;
    let text = entry.to_string();
    assert!(!text.contains(&op.employee.email) && !text.contains("evil.example"), "nothing of the request: {text}");
    assert!(refused(s).await.len() == found.len(), "counted once: the next minute starts empty");
});
