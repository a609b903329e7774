//! `GET /metrics`: only for the monitoring token (never for a session or
//! a wrong token), in the OpenMetrics text format Prometheus scrapes, with
//! counters that move as the server works; or without a token on its own
//! private address. A server without a token does not serve it at all
//! (the authorization matrix checks that 404).

use ostrog_testkit::{Backend, TestServer};
use reqwest::Method;
use serde_json::json;

const TOKEN: &str = "a-monitoring-token-of-more-than-32-characters";

/// The value of one series (`name{labels}`) in a scraped page; 0 when absent.
fn value(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(s: &TestServer) -> String {
    let r = s.request(Method::GET, "/metrics").bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let page = r.text().await.unwrap();
    assert!(page.ends_with("# EOF\n"), "a complete exposition");
    page
}

async fn metrics_follow_the_work(backend: Backend) {
    let private = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let s = TestServer::start_with(backend, |c| {
        c.metrics.token = TOKEN.into();
        c.metrics.listen = Some(private);
    })
    .await;
    let admin = s.session(&s.administrator().await).await;
    for (who, bearer) in
        [("nobody", None), ("a session", Some(admin.as_str())), ("a wrong token", Some("x".repeat(45).as_str()))]
    {
        let mut r = s.request(Method::GET, "/metrics");
        if let Some(b) = bearer {
            r = r.bearer_auth(b);
        }
        assert_eq!(r.send().await.unwrap().status(), 401, "{who} reads no metrics");
    }

    let before = scrape(&s).await;
    assert_eq!(value(&before, "ostrog_build_info{version=\"0.1.0\"}"), 1.0);
    let (widget, _) = s.widget(&admin).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    visitor.say("Where is my order?").await;
    let wrong = json!({"email": "nobody@example.test", "password": "not the password at all"});
    let r = s.request(Method::POST, "/api/v1/auth/sign-in").json(&wrong).send().await.unwrap();
    assert_eq!(r.status(), 401);

    let after = scrape(&s).await;
    let grew = |series: &str| value(&after, series) - value(&before, series);
    assert!(grew("ostrog_messages_total{direction=\"in\"}") >= 1.0, "{after}");
    assert!(grew("ostrog_delivery_seconds_count") >= 1.0);
    assert!(grew("ostrog_database_write_seconds_count") >= 1.0);
    assert!(grew("ostrog_sign_in_failures_total") >= 1.0);
    assert_eq!(value(&after, "ostrog_connections{kind=\"visitor\"}"), 1.0);
    assert_eq!(value(&after, "ostrog_waiting_conversations"), 1.0, "the visitor waits: no operator is online");
    for absent in ["Where is my order", &widget, "nobody@example.test"] {
        assert!(!after.contains(absent), "{absent:?} is not a metric");
    }

    let r = reqwest::get(format!("http://{private}/metrics")).await.unwrap();
    assert_eq!(r.status(), 200, "the private address needs no token");
    assert!(r.text().await.unwrap().contains("ostrog_messages_total"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_the_work_on_sqlite() {
    metrics_follow_the_work(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_the_work_on_postgres() {
    metrics_follow_the_work(Backend::Postgres).await;
}
