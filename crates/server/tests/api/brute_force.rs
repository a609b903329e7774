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

    let audit = s.app.audit_log.page(&Default::default(), 0, 1000).await.unwrap();
    assert!(audit.iter().any(|e| e.event.action == "auth.locked"), "the lock is audited");
});

both_backends!(a_hundred_failures_disable_until_restored, |s| {
    let op = s.employee(Role::Operator, &[]).await;
    let manager = s.employee(Role::Manager, &[]).await;
    for _ in 0..100 {
        attempt(s, &op.employee.email, "wrong password, wrong password").await;
        s.clock.advance(16 * MINUTE);
    }
    assert_eq!(s.app.employees.get(op.id()).await.unwrap().status.name(), "disabled");
    assert_eq!(attempt(s, &op.employee.email, &op.password).await.0, 401, "disabled, same generic answer");
    let t = s.session(&manager).await;
    let r = s.as_(&t, Method::POST, &format!("/api/v1/employees/{}/unblock", op.id())).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(attempt(s, &op.employee.email, &op.password).await.0, 200);
});

both_backends!(the_administrator_is_never_disabled_by_failed_sign_ins, |s| {
    let admin = s.administrator().await;
    for _ in 0..110 {
        attempt(s, &admin.employee.email, "wrong password, wrong password").await;
        s.clock.advance(16 * MINUTE);
    }
    assert_eq!(s.app.employees.get(admin.id()).await.unwrap().status.name(), "active");
    s.clock.advance(24 * 60 * MINUTE);
    assert_eq!(attempt(s, &admin.employee.email, &admin.password).await.0, 200, "once the lock has passed");
    let audit = s.app.audit_log.page(&Default::default(), 0, 1000).await.unwrap();
    assert!(audit.iter().any(|e| e.event.details["administrator_never_disabled"] == true));
    assert!(!audit.iter().any(|e| e.event.action == "employee.disabled"));
});

both_backends!(a_stolen_session_is_no_password_oracle, |s| {
    let op = s.employee(Role::Operator, &[]).await;
    let token = s.session(&op).await;
    let reauth = |password: &str, code: String| {
        s.as_(&token, Method::POST, "/api/v1/auth/reauthenticate").json(&json!({"password": password, "code": code}))
    };
    let change = |current: &str| {
        let body = json!({"current_password": current, "new_password": "another long and unremarkable passphrase"});
        s.as_(&token, Method::POST, "/api/v1/account/password").json(&body)
    };
    // Step-up and password change draw on one count with signing in.
    for i in 0..10 {
        let r =
            if i % 2 == 0 { reauth("wrong password, wrong password", s.next_code(&op)) } else { change("wrong guess") };
        assert_eq!(r.send().await.unwrap().status(), 401);
        s.clock.advance(20 * SECOND);
    }
    let r = reauth(&op.password, s.next_code(&op)).send().await.unwrap();
    assert_eq!(r.status(), 429, "locked, even with the right password");
    assert_eq!(change(&op.password).send().await.unwrap().status(), 429);
    assert_eq!(attempt(s, &op.employee.email, &op.password).await.0, 429, "and signing in is locked too");
    s.clock.advance(16 * MINUTE);
    assert_eq!(reauth(&op.password, s.next_code(&op)).send().await.unwrap().status(), 200);
});

/// A sign-in flood from many addresses at once (the per-address throttle
/// does not help): Argon2 runs at most `auth.max_concurrent_hashes` at a
/// time, so memory stays bounded; every attempt gets a clear refusal, and
/// a signed-in employee is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_flood_is_bounded_and_others_are_still_served() {
    let s = TestServer::start_with(ostrog_testkit::Backend::Sqlite, |c| c.auth.max_concurrent_hashes = 2).await;
    let op = s.employee(Role::Operator, &[]).await;
    let token = s.session(&op).await;
    let flood: Vec<_> = (0..48)
        .map(|i| {
            let r = s
                .request(Method::POST, "/api/v1/auth/sign-in")
                .header("x-forwarded-for", format!("198.51.100.{i}"))
                .json(&json!({"email": format!("nobody{i}@example.test"), "password": "a guess of some length"}));
            tokio::spawn(async move { r.send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    let served = s.as_(&token, Method::GET, "/api/v1/account").send().await.unwrap();
    assert_eq!(served.status(), 200, "an employee is served during the flood");
    for attempt in flood {
        let status = attempt.await.unwrap().unwrap();
        assert!(status == 401 || status == 429, "a clear refusal, not {status}");
    }
    let peak = s.app.sign_in.hasher().peak();
    assert!((1..=2).contains(&peak), "at most two hashes ran at once, not {peak}");
    s.stop().await;
}
