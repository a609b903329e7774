//! Search is as durable as the messages: the search terms of a message are
//! written in its own transaction, so every acknowledged message is found
//! after a SIGKILL right behind the acknowledgements (terms once waited in
//! memory for a separate indexer and were lost at every crash). And on
//! PostgreSQL under a few thousand messages a second, nothing is refused:
//! the writer once deadlocked with that indexer over the conversations'
//! rows and answered `storage_unavailable`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{free_port, serve, wait_listening};
use futures_util::{SinkExt, StreamExt};
use ostrog_domain::ids::{ConversationId, WidgetId};
use ostrog_store::ConversationFilter;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Acknowledged messages: the word each carries → its conversation.
type Acked = Arc<Mutex<Vec<(String, String)>>>;
/// Error frames the server answered with, by code.
type Refused = Arc<Mutex<HashMap<String, u64>>>;

/// A visitor keeping up to `window` messages in flight until the
/// connection ends, each carrying a word of its own.
async fn pipelining_visitor(port: u16, widget: WidgetId, window: usize, acked: Acked, refused: Refused) {
    let mut request = format!("ws://127.0.0.1:{port}/api/v1/widget/{widget}/ws").into_client_request().unwrap();
    request.headers_mut().insert("origin", common::ORIGIN.parse().unwrap());
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(request).await else { return };
    let _ = ws.send(Message::text(json!({"type": "hello", "v": 1}).to_string())).await;
    let mut in_flight: HashMap<String, String> = HashMap::new();
    loop {
        while in_flight.len() < window {
            let client_id = uuid::Uuid::new_v4();
            let word = format!("w{}", client_id.simple());
            let send = json!({"type": "send", "client_id": client_id, "text": format!("Заказ {word} оплачен")});
            if ws.send(Message::text(send.to_string())).await.is_err() {
                return;
            }
            in_flight.insert(client_id.to_string(), word);
        }
        let Some(Ok(Message::Text(t))) = ws.next().await else { return };
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        match v["type"].as_str() {
            Some("ack") => {
                if let Some(word) = in_flight.remove(v["client_id"].as_str().unwrap_or_default()) {
                    let conversation = v["conversation_id"].as_str().unwrap().to_string();
                    acked.lock().unwrap().push((word, conversation));
                }
            }
            // A message refused names its client id; the frame budget's
            // `rate_limited` notice only says that reading slowed down.
            Some("error") if v["client_id"].is_string() => {
                let code = v["code"].as_str().unwrap_or("unknown").to_string();
                *refused.lock().unwrap().entry(code).or_default() += 1;
                in_flight.remove(v["client_id"].as_str().unwrap_or_default());
            }
            _ => {}
        }
    }
}

/// Every word is found by search, in its own conversation.
async fn assert_searchable(dir: &std::path::Path, url: &str, acked: &[(String, String)]) {
    let config = ostrog_server::config::Config {
        data_dir: dir.to_path_buf(),
        database_url: url.to_string(),
        ..Default::default()
    };
    let app = ostrog_server::open_app(&config, ostrog_server::system_clock()).await.unwrap();
    for (word, conversation) in acked {
        let filter = ConversationFilter { terms: app.ledger.search_terms(word), limit: 5, ..Default::default() };
        let found: Vec<ConversationId> =
            app.store.list_conversations(&filter).await.unwrap().iter().map(|c| c.id).collect();
        assert_eq!(
            found.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            vec![conversation.clone()],
            "the acknowledged message carrying {word} is found by search"
        );
    }
}

async fn searchable_after_sigkill(url: &str) {
    let dir = std::env::temp_dir().join(format!("ostrog-index-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let widget = common::seed_widget(&dir, url).await;
    let port = free_port();
    let mut server = serve(&dir, url, port, &[]);
    wait_listening(port).await;
    let (acked, refused) = (Acked::default(), Refused::default());
    let load: Vec<_> =
        (0..10).map(|_| tokio::spawn(pipelining_visitor(port, widget, 4, acked.clone(), refused.clone()))).collect();
    let started = Instant::now();
    while acked.lock().unwrap().len() < 300 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().unwrap(); // SIGKILL right behind the acknowledgements
    server.wait().unwrap();
    for task in load {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(acked.len() >= 300, "the load ran: {} acknowledged", acked.len());
    // The last ones, acknowledged in the moment before the kill, matter most.
    let (last, earlier) = (acked[acked.len() - 150..].to_vec(), acked.iter().step_by(7).cloned().collect::<Vec<_>>());
    assert_searchable(&dir, url, &[last, earlier].concat()).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_finds_every_acknowledged_message_after_sigkill() {
    let dir = std::env::temp_dir().join(format!("ostrog-index-db-{}", uuid::Uuid::new_v4().simple()));
    searchable_after_sigkill(&format!("sqlite://{}", dir.join("ostrog.db").display())).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_finds_every_acknowledged_message_after_sigkill() {
    let admin = ostrog_testkit::postgres_admin_url();
    let url = ostrog_store_sql::create_fresh_postgres_database(&admin, "ostrog_t").await.unwrap();
    searchable_after_sigkill(&url).await;
    ostrog_store_sql::drop_postgres_database(&admin, &url).await.unwrap();
}

/// 60 visitors with 8 messages in flight each, for 8 seconds: on this
/// machine a few thousand messages a second. Not one may be refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_under_load_refuses_no_message() {
    let admin = ostrog_testkit::postgres_admin_url();
    let url = ostrog_store_sql::create_fresh_postgres_database(&admin, "ostrog_t").await.unwrap();
    let dir = std::env::temp_dir().join(format!("ostrog-load-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let widget = common::seed_widget(&dir, &url).await;
    let port = free_port();
    // The load comes from one address: the per-address limits are lifted, as the benchmark does.
    let env =
        [("OSTROG_LIMITS__PUBLIC_REQUESTS_PER_MINUTE", "100000"), ("OSTROG_LIMITS__VISITOR_SOCKETS_PER_IP", "1000")];
    let mut server = serve(&dir, &url, port, &env);
    wait_listening(port).await;
    let (acked, refused) = (Acked::default(), Refused::default());
    let load: Vec<_> =
        (0..60).map(|_| tokio::spawn(pipelining_visitor(port, widget, 8, acked.clone(), refused.clone()))).collect();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let count = acked.lock().unwrap().len();
    common::terminate(&server);
    server.wait().unwrap();
    for task in load {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    println!("{count} messages acknowledged, {rate:.0} a second");
    assert!(rate > 1000.0, "the load reached a few thousand a second: {rate:.0}");
    assert_eq!(*refused.lock().unwrap(), HashMap::new(), "no message refused");
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert_searchable(&dir, &url, &acked[acked.len() - 100..]).await;
    let _ = std::fs::remove_dir_all(&dir);
    ostrog_store_sql::drop_postgres_database(&admin, &url).await.unwrap();
}
