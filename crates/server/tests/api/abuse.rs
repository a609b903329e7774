//! Abuse resistance: a visitor who floods frames (slowed to the rate, not
//! cut off: a dropped `send` would be a lost message), a machine that opens
//! visitor sockets without end, and requests with oversized or too many
//! headers. Each time the offender gets a clear refusal, the server stays
//! up, and another client is served as before. (Oversized bodies and slow
//! headers: `bad_input.rs`; sign-in floods: `brute_force.rs`.)

use ostrog_testkit::ws::Ws;
use ostrog_testkit::{Backend, ORIGIN, TestServer, both_backends};
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
