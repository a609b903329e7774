//! Brute-force defence: progressive delay, a 15-minute lock after 10
//! failures that refuses even the right password, and answers that never
//! tell existing accounts from unknown ones.

use ostrog_domain::clock::{MINUTE, SECOND};
use ostrog_domain::role::Role;
use ostrog_testkit::{TestServer, both_backends};
use reqwest::Method;
use serde_json::{Value, json};

async fn attempt(s: &TestServer, email: &str, password: &str) -> (u16, Value) {
    let r = s
        .request(Method::POST, "/api/v1/auth/sign-in")
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Ten wrong passwords, waiting out each delay; then the answers of the 11th.
async fn ten_failures_then(s: &TestServer, email: &str, eleventh: &str) -> Vec<(u16, Value)> {
    let mut answers = vec![];
    for _ in 0..10 {
        answers.push(attempt(s, email, "wrong password, wrong password").await);
        s.clock.advance(20 * SECOND);
    }
    answers.push(attempt(s, email, eleventh).await);
    answers
}

fn shape(answers: &[(u16, Value)]) -> Vec<(u16, String)> {
    answers.iter().map(|(st, v)| (*st, v["error"]["code"].as_str().unwrap_or("").to_string())).collect()
}

both_backends!(eleventh_attempt_is_refused_even_with_the_right_password, |s| {
    let op = s.employee(Role::Operator, &[]).await;
    let known = ten_failures_then(s, &op.employee.email, &op.password).await;
    let unknown = ten_failures_then(s, "nobody@example.test", &op.password).await;
    assert!(known[..10].iter().all(|(st, v)| *st == 401 && v["error"]["code"] == "invalid_credentials"));
    let (status, body) = &known[10];
    assert_eq!(*status, 429, "{body}");
    assert_eq!(shape(&known), shape(&unknown), "known and unknown accounts answer alike");
    assert_eq!(known[0].1, unknown[0].1, "same message");

    // Delays are enforced between attempts from the 5th failure on.
    let other = s.employee(Role::Operator, &[]).await;
    for _ in 0..5 {
        attempt(s, &other.employee.email, "wrong password, wrong password").await;
    }
    assert_eq!(attempt(s, &other.employee.email, &other.password).await.0, 429, "within the delay");

    // After 15 minutes the right password works again.
    s.clock.advance(15 * MINUTE);
    assert_eq!(attempt(s, &op.employee.email, &op.password).await.0, 200);

    let audit = s.app.audit_page(&Default::default(), 0, 1000).await.unwrap();
    assert!(audit.iter().any(|e| e.event.action == "auth.locked"), "the lock is audited");
});

both_backends!(a_hundred_failures_disable_until_restored, |s| {
    let op = s.employee(Role::Operator, &[]).await;
    let manager = s.employee(Role::Manager, &[]).await;
    for _ in 0..100 {
        attempt(s, &op.employee.email, "wrong password, wrong password").await;
        s.clock.advance(16 * MINUTE);
    }
    assert_eq!(s.app.get_employee(op.id()).await.unwrap().status.name(), "disabled");
    assert_eq!(attempt(s, &op.employee.email, &op.password).await.0, 401, "disabled, same generic answer");
    let t = s.session(&manager).await;
    let r = s.as_(&t, Method::POST, &format!("/api/v1/employees/{}/unblock", op.id())).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(attempt(s, &op.employee.email, &op.password).await.0, 200);
});
