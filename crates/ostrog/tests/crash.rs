//! Crash safety: visitors write as fast as acknowledgements come back, the
//! server process is killed with SIGKILL in the middle, and after a restart
//! every acknowledged message is stored exactly once, with the sequence
//! number its acknowledgement gave — on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Acked, free_port, serve, wait_listening};
use std::time::Duration;

const VISITORS: usize = 20;

async fn crash_and_check(url: &str) {
    let dir = std::env::temp_dir().join(format!("ostrog-crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    // The widget is written through the store, with the same key file the server will use.
    let widget = common::seed_widget(&dir, url).await;

    let port = free_port();
    let mut server = serve(&dir, url, port, &[]);
    wait_listening(port).await;
    let acked: Acked = Acked::default();
    let load: Vec<_> = (0..VISITORS).map(|_| tokio::spawn(common::visitor(port, widget, acked.clone()))).collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill().unwrap(); // SIGKILL: no shutdown, no flush
    server.wait().unwrap();
    for task in load {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(acked.len() > VISITORS, "the load ran: {} acknowledged", acked.len());

    let mut restarted = serve(&dir, url, port, &[]);
    wait_listening(port).await;
    common::assert_all_stored(url, &acked).await;
    restarted.kill().unwrap();
    restarted.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_acknowledged_message_through_sigkill() {
    let dir = std::env::temp_dir().join(format!("ostrog-crash-db-{}", uuid::Uuid::new_v4().simple()));
    crash_and_check(&format!("sqlite://{}", dir.join("ostrog.db").display())).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_every_acknowledged_message_through_sigkill() {
    let admin = ostrog_testkit::postgres_admin_url();
    let url = ostrog_store_sql::create_fresh_postgres_database(&admin, "ostrog_t").await.unwrap();
    crash_and_check(&url).await;
    ostrog_store_sql::drop_postgres_database(&admin, &url).await.unwrap();
}
