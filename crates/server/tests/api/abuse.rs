//! Abuse resistance: a visitor who floods frames (slowed to the rate, not
//! cut off: a dropped `send` would be a lost message), a machine that opens
//! visitor sockets without end, requests with oversized or too many
//! headers, and floods of what needs no sign-in. Each time the offender gets a clear refusal, the server stays
//! up, and another client is served as before. (Oversized bodies and slow
//! headers: `bad_input.rs`; sign-in floods: `brute_force.rs`.)

use ostrog_domain::clock::SECOND;
use ostrog_testkit::ws::Ws;
use ostrog_testkit::{Backend, ORIGIN, TestServer, both_backends};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

both_backends!(a_frame_flood_is_slowed_and_others_are_still_served, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let (mut flooder, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let (mut neighbour, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    // 300 frames at once: the burst allowance (100) is answered at once,
    // the rest at 50 a second, after one notice. Nothing is dropped.
    let started = tokio::time::Instant::now();
    for _ in 0..300 {
        flooder.send_raw(r#"{"type":"ping"}"#).await;
    }
    // Meanwhile the neighbour is served as usual.
    let ack = neighbour.say("Is my order on its way?").await;
    assert!(ack["seq"].as_i64().is_some(), "the neighbour is served: {ack}");
    assert!(started.elapsed() < Duration::from_secs(2), "and not made to wait for the flood");
    let deadline = started + Duration::from_secs(15);
    let (mut pongs, mut notices) = (0, 0);
    while pongs < 300 {
        let Some(v) = flooder.next_frame(deadline).await else { break };
        match v["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") if v["code"] == "rate_limited" => notices += 1,
            other => panic!("unexpected {other:?}: {v}"),
        }
    }
    assert_eq!((pongs, notices), (300, 1), "every frame answered, one notice");
    assert!(started.elapsed() >= Duration::from_secs(3), "200 frames over the burst took 4 s at 50/s");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_sockets_per_address_are_capped() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.limits.visitor_sockets_per_ip = 3).await;
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let url = s.ws_url(&format!("/api/v1/widget/{widget}/ws"));
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(Ws::connect(&url, &[("origin", ORIGIN)]).await.expect("within the limit"));
    }
    assert_eq!(Ws::connect(&url, &[("origin", ORIGIN)]).await.err(), Some(429), "the fourth is refused");
    open.pop().unwrap().close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = Ws::connect(&url, &[("origin", ORIGIN)]).await.expect("a closed socket frees its place");
    again.send(json!({"type": "hello", "v": 1})).await;
    again.expect("welcome").await;
    s.stop().await;
}

/// One raw HTTP/1.1 request; the status code of the answer (0 if none).
async fn raw_status(s: &TestServer, request: &str) -> u16 {
    let address = s.url.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let _ = tcp.write_all(request.as_bytes()).await;
    let mut answer = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut answer)).await.unwrap_or(Ok(0)).unwrap_or(0);
    let head = String::from_utf8_lossy(&answer[..n]).into_owned();
    head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_too_many_headers_are_refused() {
    let s = TestServer::start(Backend::Sqlite).await;
    let huge = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Junk: {}\r\n\r\n", "a".repeat(1024 * 1024));
    assert_eq!(raw_status(&s, &huge).await, 431, "a 1 MiB header");
    let many: String = (0..500).map(|i| format!("X-H{i}: v\r\n")).collect();
    assert_eq!(raw_status(&s, &format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n")).await, 431, "500 headers");
    let garbage = "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n";
    assert_eq!(raw_status(&s, garbage).await, 400, "a malformed header");
    assert_eq!(raw_status(&s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await, 200, "and the server still answers");
    s.stop().await;
}

/// What needs no sign-in is limited per address and minute: past the limit
/// a clear 429 with `Retry-After`, while another address is still served,
/// and the minute after, the first one again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_requests_are_limited_per_address() {
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.limits.public_requests_per_minute = 5;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let report = |from: &'static str| {
        s.request(Method::POST, "/api/v1/csp-reports")
            .header("x-forwarded-for", from)
            .header("content-type", "application/csp-report")
            .body(r#"{"csp-report": {"violated-directive": "script-src"}}"#)
            .send()
    };
    for _ in 0..5 {
        assert_eq!(report("198.51.100.7").await.unwrap().status(), 204);
    }
    let refused = report("198.51.100.7").await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(report("198.51.100.8").await.unwrap().status(), 204, "another address is served");
    s.clock.advance(61 * SECOND);
    assert_eq!(report("198.51.100.7").await.unwrap().status(), 204, "a new minute");

    // Hook calls: only the refused ones count, and past the limit even a
    // right secret waits out the minute (a forger learns nothing more).
    let admin = s.session(&s.administrator().await).await;
    let fake = ostrog_testkit::fakes::telegram::FakeTelegram::start("12345:AAbbCCddEEffGGhhIIjjKKllMM").await;
    let body = json!({"kind": "telegram", "name": "Bot", "settings": {"api_base": fake.base_url()},
        "secrets": {"bot_token": "12345:AAbbCCddEEffGGhhIIjjKKllMM"}});
    let channel: serde_json::Value =
        s.as_(&admin, Method::POST, "/api/v1/channels").json(&body).send().await.unwrap().json().await.unwrap();
    let hook = format!("/api/v1/hooks/telegram/{}", channel["id"].as_str().unwrap());
    let secret = fake.webhook().unwrap().1.unwrap();
    let update = |n: i64| json!({"update_id": n, "message": {"chat": {"id": 5, "type": "private"}, "text": "hi"}});
    let call = |from: &'static str, secret: String, n: i64| {
        s.request(Method::POST, &hook)
            .header("x-forwarded-for", from)
            .header("x-telegram-bot-api-secret-token", secret)
            .json(&update(n))
            .send()
    };
    for n in 0..10 {
        assert_eq!(
            call("203.0.113.1", secret.clone(), n).await.unwrap().status(),
            200,
            "the messenger is never held back"
        );
    }
    for n in 0..5 {
        assert_eq!(call("203.0.113.9", "forged".into(), 100 + n).await.unwrap().status(), 401);
    }
    assert_eq!(call("203.0.113.9", "forged".into(), 200).await.unwrap().status(), 429);
    assert_eq!(call("203.0.113.1", secret, 300).await.unwrap().status(), 200);
    s.stop().await;
}
