//! Idle mode: many visitors that only say hello, to see what an open
//! connection costs the server in memory.

use crate::client;
use crate::fixture::Fixture;
use crate::load::{self, Phase, Shared};
use crate::memory;
use crate::report::IdleReport;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

#[derive(Debug, Clone)]
pub struct IdlePlan {
    pub connections: usize,
    pub connect_concurrency: usize,
    /// Time between the last connection and the memory reading, for the
    /// server's allocator and buffers to settle.
    pub settle: Duration,
}

pub async fn run(fixture: &Fixture, plan: &IdlePlan, client_threads: usize) -> anyhow::Result<IdleReport> {
    let pid = fixture.server_pid;
    let read = |pid: Option<u32>| pid.map(memory::read).transpose();
    let before = read(pid)?.unwrap_or_default();
    let endpoint = Arc::new(fixture.endpoint()?);
    let (phase_tx, phase_rx) = watch::channel(Phase::Connecting);
    let shared = Arc::new(Shared::new(phase_rx)?);

    eprintln!("opening {} idle visitor connections", plan.connections);
    let (connections, failures) =
        load::connect_visitors(fixture, &endpoint, plan.connections, plan.connect_concurrency, false).await?;
    let opened = connections.len();
    let mut tasks = JoinSet::new();
    for ws in connections {
        tasks.spawn(client::idle(ws, shared.clone()));
    }
    eprintln!("{opened} open; settling for {:?}", plan.settle);
    tokio::time::sleep(plan.settle).await;
    let after = read(pid)?.unwrap_or_default();

    phase_tx.send_replace(Phase::Done);
    let _ = tokio::time::timeout(Duration::from_secs(10), async { while tasks.join_next().await.is_some() {} }).await;
    tasks.abort_all();

    let bytes_per_connection = match (before.rss, after.rss) {
        (Some(before), Some(after)) if opened > 0 => Some(after.saturating_sub(before) / opened as u64),
        _ => None,
    };
    Ok(IdleReport {
        mode: "idle",
        connections: plan.connections,
        opened,
        connect_failures: failures,
        disconnects: shared.counters.disconnects.load(Relaxed),
        server_rss_before_bytes: before.rss,
        server_rss_after_bytes: after.rss,
        bytes_per_connection,
        server_peak_rss_bytes: after.peak_rss,
        client_threads,
    })
}
