//! First run, sign-in with the second factor, enrolment, recovery codes,
//! TOTP replay, sessions and CSRF.

use ostrog_domain::clock::{Clock, SECOND};
use ostrog_domain::role::Role;
use ostrog_domain::totp;
use ostrog_testkit::ws::Ended;
use ostrog_testkit::{PASSWORD, TestServer, both_backends};
use reqwest::Method;
use serde_json::{Value, json};

async fn post(s: &TestServer, token: Option<&str>, path: &str, body: Value) -> (u16, Value) {
    let mut r = s.request(Method::POST, path).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn code_now(s: &TestServer, secret: &[u8]) -> String {
    totp::code_at(secret, (s.clock.now() / SECOND) as u64)
}

fn secret_of(uri: &str) -> Vec<u8> {
    let b32 = uri.split(['?', '&']).find_map(|kv| kv.strip_prefix("secret=")).unwrap();
    base32_decode(b32)
}

fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, vec![]);
    for c in s.trim_end_matches('=').bytes() {
        value = (value << 5) | ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
        }
    }
    out
}

both_backends!(first_run_enrolment_and_recovery_codes, |s| {
    // The set-up link creates the Administrator, once.
    let link = s.app.setup.link().await.unwrap().unwrap();
    let token = link.split('#').nth(1).unwrap();
    let body = json!({"token": token, "email": "Ada@Example.test", "name": "Ada Admin", "password": PASSWORD});
    assert_eq!(post(s, None, "/api/v1/setup", body.clone()).await.0, 201);
    assert_eq!(post(s, None, "/api/v1/setup", body).await.0, 410, "the link works once");
    assert!(s.app.setup.link().await.unwrap().is_none(), "no new link once an Administrator exists");

    // Signed in only far enough to enrol.
    let (status, reply) = post(
        s,
        None,
        "/api/v1/auth/sign-in",
        json!({"email": "ada@example.test", "password": PASSWORD, "api_client": true}),
    )
    .await;
    assert_eq!((status, reply["stage"].as_str()), (200, Some("enrolment")));
    let t = reply["token"].as_str().unwrap().to_string();
    let r = s.as_(&t, Method::GET, "/api/v1/employees").send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "sign_in_incomplete");

    let (status, enrol) = post(s, Some(&t), "/api/v1/account/two-factor/enrolment", json!({})).await;
    assert_eq!(status, 200);
    assert!(enrol["qr_svg"].as_str().unwrap().contains("<svg"));
    let secret = secret_of(enrol["otpauth_uri"].as_str().unwrap());
    assert_eq!(secret.len(), 20, "160-bit secret");
    assert_eq!(post(s, Some(&t), "/api/v1/account/two-factor/confirm", json!({"code": "000000"})).await.0, 401);
    let (status, confirmed) =
        post(s, Some(&t), "/api/v1/account/two-factor/confirm", json!({"code": code_now(s, &secret)})).await;
    assert_eq!(status, 200);
    let codes: Vec<String> = serde_json::from_value(confirmed["recovery_codes"].clone()).unwrap();
    // Stored keyed (HMAC under the server's key), so a copy of the database
    // cannot test guesses: neither the code nor its bare SHA-256 is in it.
    let dump = s.dump().await;
    for code in &codes {
        let normalized = ostrog_server::auth::tokens::normalize_recovery_code(code);
        ostrog_testkit::assert_not_in_dump(&dump, &normalized);
        ostrog_testkit::assert_not_in_dump(&dump, &ostrog_server::auth::tokens::hash_token(&normalized));
    }
    assert_eq!(codes.len(), 10);
    // Enrolment replaced the session (ASVS 7.2.4): the token of the password step is worth nothing.
    assert_eq!(s.as_(&t, Method::GET, "/api/v1/employees").send().await.unwrap().status(), 401);
    let t = confirmed["token"].as_str().unwrap().to_string();
    assert!(!confirmed["csrf_token"].as_str().unwrap().is_empty());
    assert_eq!(s.as_(&t, Method::GET, "/api/v1/employees").send().await.unwrap().status(), 200);

    // Next sign-in needs the second factor; a recovery code works once.
    let sign_in = || {
        post(
            s,
            None,
            "/api/v1/auth/sign-in",
            json!({"email": "ada@example.test", "password": PASSWORD, "api_client": true}),
        )
    };
    let (_, r) = sign_in().await;
    assert_eq!(r["stage"], "second_factor");
    let t2 = r["token"].as_str().unwrap().to_string();
    assert_eq!(s.as_(&t2, Method::GET, "/api/v1/employees").send().await.unwrap().status(), 403);
    let (status, r) =
        post(s, Some(&t2), "/api/v1/auth/second-factor", json!({"recovery_code": codes[0].to_uppercase()})).await;
    assert_eq!((status, r["stage"].as_str()), (200, Some("full")));
    let (_, r) = sign_in().await;
    let t3 = r["token"].as_str().unwrap().to_string();
    assert_eq!(
        post(s, Some(&t3), "/api/v1/auth/second-factor", json!({"recovery_code": codes[0]})).await.0,
        401,
        "used recovery code"
    );

    // A TOTP code works for one sign-in; its replay is refused.
    s.clock.advance(30 * SECOND);
    let code = code_now(s, &secret);
    assert_eq!(post(s, Some(&t3), "/api/v1/auth/second-factor", json!({"code": code})).await.0, 200);
    let (_, r) = sign_in().await;
    let t4 = r["token"].as_str().unwrap().to_string();
    let (status, refused) = post(s, Some(&t4), "/api/v1/auth/second-factor", json!({"code": code})).await;
    // The password was right: the refusal is about the code (and the phone's clock), not the password.
    assert_eq!((status, refused["error"]["code"].as_str()), (401, Some("invalid_second_factor")), "replayed step");

    // Nobody switches off their own 2FA while policy requires it.
    let r = s.as_(&t, Method::DELETE, "/api/v1/account/two-factor").send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "two_factor_required");

    // Sessions: listed, revocable; a revoked token is refused.
    let list: Value = s.as_(&t, Method::GET, "/api/v1/account/sessions").send().await.unwrap().json().await.unwrap();
    let other =
        list.as_array().unwrap().iter().find(|x| x["current"] == false).unwrap()["id"].as_str().unwrap().to_string();
    let r = s.as_(&t, Method::DELETE, &format!("/api/v1/account/sessions/{other}")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(post(s, Some(&t), "/api/v1/auth/sign-out", json!({})).await.0, 204);
    assert_eq!(s.as_(&t, Method::GET, "/api/v1/account").send().await.unwrap().status(), 401);
});

both_backends!(sessions_expire_when_idle, |s| {
    let op = s.employee(ostrog_domain::role::Role::Operator, &[]).await;
    let t = s.sign_in(&op).await;
    assert_eq!(s.as_(&t, Method::GET, "/api/v1/account").send().await.unwrap().status(), 200);
    s.clock.advance(31 * 60 * SECOND);
    assert_eq!(s.as_(&t, Method::GET, "/api/v1/account").send().await.unwrap().status(), 401);
});

both_backends!(cookie_sessions_need_the_csrf_token_and_our_origin, |s| {
    let op = s.employee(ostrog_domain::role::Role::Operator, &[]).await;
    let r = s
        .request(Method::POST, "/api/v1/auth/sign-in")
        .json(&json!({"email": op.employee.email, "password": op.password}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let body: Value = r.json().await.unwrap();
    assert!(body.get("token").is_none(), "browsers never see the token");
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    let pair = cookie.split(';').next().unwrap().to_string();
    let code = s.next_code(&op);
    let send = |origin: Option<&str>, csrf: Option<&str>| {
        let mut r =
            s.request(Method::POST, "/api/v1/auth/second-factor").header("cookie", &pair).json(&json!({"code": code}));
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        r.send()
    };
    assert_eq!(send(Some(&s.url), None).await.unwrap().status(), 403, "no CSRF token");
    assert_eq!(send(Some("https://evil.example"), Some(&csrf)).await.unwrap().status(), 403, "foreign origin");
    assert_eq!(send(None, Some(&csrf)).await.unwrap().status(), 403, "no origin");
    let done = send(Some(&s.url), Some(&csrf)).await.unwrap();
    assert_eq!(done.status(), 200);
    // The second factor replaced the session: the first step's cookie and
    // CSRF token are worth nothing now (ASVS 7.2.4).
    let fresh = done.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let body: Value = done.json().await.unwrap();
    assert!(body.get("token").is_none(), "still no token for a browser");
    assert_ne!((fresh.as_str(), body["csrf_token"].as_str()), (pair.as_str(), Some(csrf.as_str())));
    let read = |cookie: String| s.request(Method::GET, "/api/v1/account").header("cookie", cookie).send();
    assert_eq!(read(pair.clone()).await.unwrap().status(), 401, "the old session is gone");
    // Reads need no CSRF token.
    assert_eq!(read(fresh).await.unwrap().status(), 200);
});

/// `X-Forwarded-For` names the client only when a trusted proxy sent it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    for trusted in [false, true] {
        let s = TestServer::start_with(ostrog_testkit::Backend::Sqlite, |c| {
            if trusted {
                c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
            }
        })
        .await;
        let r = s
            .request(Method::POST, "/api/v1/auth/sign-in")
            .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
            .json(&json!({"email": "nobody@example.test", "password": "whatever it may be"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let audit = s.app.audit_log.page(&Default::default(), 0, 10).await.unwrap();
        let expected = if trusted { "203.0.113.9" } else { "127.0.0.1" };
        assert_eq!(audit[0].event.ip.as_deref(), Some(expected), "trusted: {trusted}");
        s.stop().await;
    }
}

both_backends!(recovery_codes_can_be_replaced, |s| {
    let op = s.employee(ostrog_domain::role::Role::Operator, &[]).await;
    let t = s.sign_in(&op).await;
    let (status, reply) = post(s, Some(&t), "/api/v1/account/two-factor/recovery-codes", json!({})).await;
    assert_eq!(status, 200);
    let codes: Vec<String> = serde_json::from_value(reply["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    // An Operator edits their own account.
    let r = s.as_(&t, Method::PATCH, "/api/v1/account").json(&json!({"name": "Новое Имя"})).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(s.app.employees.get(op.id()).await.unwrap().name, "Новое Имя");
    let (_, r) = post(
        s,
        None,
        "/api/v1/auth/sign-in",
        json!({"email": op.employee.email, "password": PASSWORD, "api_client": true}),
    )
    .await;
    let t2 = r["token"].as_str().unwrap().to_string();
    assert_eq!(post(s, Some(&t2), "/api/v1/auth/second-factor", json!({"recovery_code": codes[9]})).await.0, 200);
});

// Recovery codes issued before they were keyed (stored as bare SHA-256)
// still work, once each.
both_backends!(recovery_codes_stored_before_keying_still_work, |s| {
    let op = s.employee(ostrog_domain::role::Role::Operator, &[]).await;
    let code = ostrog_server::auth::tokens::new_recovery_code();
    let old = ostrog_server::auth::tokens::hash_token(&ostrog_server::auth::tokens::normalize_recovery_code(&code));
    s.app.store.replace_recovery_codes(op.id(), &[old]).await.unwrap();
    let first = || async {
        let (_, r) = post(
            s,
            None,
            "/api/v1/auth/sign-in",
            json!({"email": op.employee.email, "password": op.password, "api_client": true}),
        )
        .await;
        r["token"].as_str().unwrap().to_string()
    };
    let t = first().await;
    assert_eq!(post(s, Some(&t), "/api/v1/auth/second-factor", json!({"recovery_code": code})).await.0, 200);
    let t = first().await;
    assert_eq!(post(s, Some(&t), "/api/v1/auth/second-factor", json!({"recovery_code": code})).await.0, 401, "once");
});

// ASVS 7.3.1: inactivity means nothing done by the person. An open
// operator socket answering pings, and the page's own background checks,
// do not keep a session alive; writing, typing or choosing a status does.
// An idle session's socket is closed with 4001, which the web app turns
// into the sign-in screen.
both_backends!(an_open_tab_alone_does_not_keep_a_session_alive, |s| {
    let (idle, busy) = (s.employee(Role::Operator, &[]).await, s.employee(Role::Operator, &[]).await);
    let (idle_token, busy_token) = (s.sign_in(&idle).await, s.sign_in(&busy).await);
    let (mut idle_ws, mut busy_ws) = (s.operator_ws(&idle_token).await, s.operator_ws(&busy_token).await);
    let background =
        |token: &str| s.as_(token, Method::GET, "/api/v1/account").header("x-ostrog-activity", "background").send();
    s.clock.advance(20 * 60 * SECOND);
    assert_eq!(background(&idle_token).await.unwrap().status(), 200, "alive, and not kept alive by this");
    busy_ws.send(json!({"type": "presence", "status": "online"})).await;
    busy_ws.expect("presence").await;
    s.clock.advance(11 * 60 * SECOND);
    // The next check of the open sockets (every 30 s) finds the idle one over its time.
    assert_eq!(idle_ws.ended(std::time::Duration::from_secs(40)).await, Ended::Closed(Some(4001)));
    assert_eq!(background(&idle_token).await.unwrap().status(), 401);
    assert_eq!(busy_ws.ended(std::time::Duration::from_millis(500)).await, Ended::Open, "the busy one stays");
    assert_eq!(background(&busy_token).await.unwrap().status(), 200);
});
