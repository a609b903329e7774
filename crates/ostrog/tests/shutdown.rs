//! Graceful shutdown: SIGTERM while visitors write as fast as they can. The
//! process exits by itself within `limits.shutdown_seconds`, the visitors'
//! sockets are closed with 1012 (service restart, so they reconnect), and
//! every acknowledged message is on disk — on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Acked, free_port, serve, wait_listening};
use std::time::{Duration, Instant};

const VISITORS: usize = 20;

async fn sigterm_under_load(url: &str) {
    let dir = std::env::temp_dir().join(format!("ostrog-term-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let widget = common::seed_widget(&dir, url).await;
    let port = free_port();
    let mut server = serve(&dir, url, port, &[("OSTROG_LIMITS__SHUTDOWN_SECONDS", "5")]);
    wait_listening(port).await;
    let acked = Acked::default();
    let load: Vec<_> = (0..VISITORS).map(|_| tokio::spawn(common::visitor(port, widget, acked.clone()))).collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;

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
    let mut restart_codes = 0;
    for task in load {
        if let Ok(Ok(Some(1012))) = tokio::time::timeout(Duration::from_secs(5), task).await {
            restart_codes += 1;
        }
    }
    assert!(restart_codes > 0, "visitors were told the service restarts (1012)");
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(acked.len() > VISITORS, "the load ran: {} acknowledged", acked.len());
    common::assert_all_stored(url, &acked).await;
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
