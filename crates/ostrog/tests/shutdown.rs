//! Graceful shutdown: SIGTERM while visitors write as fast as they can,
//! some of them faster than the frame budget lets them. The process exits
//! by itself within `limits.shutdown_seconds`; EVERY visitor's socket is
//! closed with 1012 (service restart, so they reconnect), the throttled ones
//! too; every acknowledged message is on disk; and every message on disk was
//! acknowledged to its sender before the close (none needs resending) — on
//! SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Acked, free_port, serve, wait_listening};
use std::time::{Duration, Instant};

/// Visitors who send a message and wait for its ack, as the widget does.
const VISITORS: usize = 20;
/// Visitors who send without waiting, above the frame budget.
const FLOODERS: usize = 6;

async fn sigterm_under_load(url: &str) {
    let dir = std::env::temp_dir().join(format!("ostrog-term-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let widget = common::seed_widget(&dir, url).await;
    let port = free_port();
    let mut server = serve(&dir, url, port, &[("OSTROG_LIMITS__SHUTDOWN_SECONDS", "5")]);
    wait_listening(port).await;
    let acked = Acked::default();
    let mut load: Vec<_> = (0..VISITORS).map(|_| tokio::spawn(common::visitor(port, widget, acked.clone()))).collect();
    load.extend((0..FLOODERS).map(|_| tokio::spawn(common::flooder(port, widget, acked.clone()))));
    // Long enough for the flooders to spend their burst and be throttled.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let asked = Instant::now();
    common::terminate(&server);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(asked.elapsed() < Duration::from_secs(8), "the server must exit within its shutdown time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "a clean exit: {status}");
    let mut codes = Vec::new();
    for task in load {
        codes.push(tokio::time::timeout(Duration::from_secs(5), task).await.ok().and_then(Result::ok).flatten());
    }
    let (steady, flooding) = codes.split_at(VISITORS);
    assert_eq!(steady, [Some(1012); VISITORS], "every visitor is told the service restarts (1012)");
    assert_eq!(flooding, [Some(1012); FLOODERS], "throttled visitors too get the close frame, not a reset");
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(acked.len() > VISITORS, "the load ran: {} acknowledged", acked.len());
    common::assert_all_stored(url, &acked).await;
    common::assert_every_stored_acknowledged(url, &acked).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigterm_under_load_keeps_every_acknowledged_message() {
    let dir = std::env::temp_dir().join(format!("ostrog-term-db-{}", uuid::Uuid::new_v4().simple()));
    sigterm_under_load(&format!("sqlite://{}", dir.join("ostrog.db").display())).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sigterm_under_load_keeps_every_acknowledged_message() {
    let admin = ostrog_testkit::postgres_admin_url();
    let url = ostrog_store_sql::create_fresh_postgres_database(&admin, "ostrog_t").await.unwrap();
    sigterm_under_load(&url).await;
    ostrog_store_sql::drop_postgres_database(&admin, &url).await.unwrap();
}
