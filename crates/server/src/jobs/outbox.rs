//! The dispatcher of the outbox: sends each conversation's oldest pending
//! reply, records what happened, and tells the employees who watch. A
//! reply that failed for now waits as the retry policy says; one refused
//! for good (or out of time) is failed with its reason and stays in the
//! channel's dead letters. Nothing here holds a lock across a call.

use super::Stop;
use crate::channels::{Channels, SendError};
use crate::cluster::Cluster;
use crate::realtime::Signals;
use crate::services::channels::ChannelAdmin;
use futures_util::future::join_all;
use ostrog_store::{Attempt, Delivery};
use std::sync::Arc;
use std::time::Duration;

/// Deliveries taken at once; different conversations go out concurrently.
const BATCH: u32 = 32;
/// How often due retries are looked for when nothing wakes the dispatcher.
const TICK: Duration = Duration::from_millis(500);
/// The writer wakes the dispatcher after every batch with an employee's
/// message (most go to widget visitors, who need no outbox): between two
/// looks at the outbox there is at least this, so a busy chat costs the
/// database at most a few dozen cheap queries a second.
const GAP: Duration = Duration::from_millis(25);

pub async fn run(
    admin: Arc<ChannelAdmin>,
    connectors: Arc<Channels>,
    signals: Arc<Signals>,
    cluster: Arc<Cluster>,
    mut stop: Stop,
) {
    let deliveries = &signals.deliveries;
    while !stop.is_requested() {
        // Only the leader sends: a reply goes out from one node, once.
        if !cluster.is_leader() {
            if !stop.wait(woken(deliveries, TICK)).await {
                return;
            }
            continue;
        }
        match admin.due_deliveries(BATCH).await {
            // Each delivery sent lets the next one of its conversation go.
            Ok(due) if !due.is_empty() => {
                join_all(due.into_iter().map(|d| deliver(&admin, &connectors, d))).await;
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the outbox could not be read; trying again shortly"),
        }
        if !stop.wait(woken(deliveries, TICK)).await {
            return;
        }
    }
}

/// Woken by a delivery (then after `GAP`, so that a burst wakes it once),
/// or after `tick` without one.
async fn woken(deliveries: &tokio::sync::Notify, tick: Duration) {
    tokio::select! {
        _ = deliveries.notified() => tokio::time::sleep(GAP).await,
        _ = tokio::time::sleep(tick) => {}
    }
}

async fn deliver(admin: &ChannelAdmin, connectors: &Channels, d: Delivery) {
    let now = admin.now();
    let tried = d.attempts + 1;
    let attempt = match attempt(admin, connectors, &d).await {
        Ok(()) => Attempt::Sent { at: now },
        Err(SendError::Retry { reason, after_ms }) => {
            match connectors.policy.next_attempt(tried, now, d.created_at, after_ms) {
                Some(next) => Attempt::Retry { next, error: reason },
                None => Attempt::Failed { at: now, error: format!("{reason} (given up after {tried} attempts)") },
            }
        }
        Err(SendError::Permanent(reason)) => Attempt::Failed { at: now, error: reason },
    };
    if let Attempt::Retry { error, .. } | Attempt::Failed { error, .. } = &attempt {
        tracing::info!(channel = %d.channel_id, conversation = %d.conversation_id, attempt = tried, reason = %error,
            "a reply to a messenger was not delivered");
    }
    crate::metrics::channel_delivery(match attempt {
        Attempt::Sent { .. } => "sent",
        Attempt::Retry { .. } => "retry",
        Attempt::Failed { .. } => "failed",
    });
    // Not recorded: it is tried again, and `random_id` or the
    // idempotency key keeps the messenger from showing it twice.
    if let Err(e) = admin.record_attempt(&d, &attempt).await {
        tracing::warn!(error = %e, "a delivery could not be recorded");
    }
}

/// One try: the reply, its contact's address, and the call.
async fn attempt(admin: &ChannelAdmin, connectors: &Channels, d: &Delivery) -> Result<(), SendError> {
    let (connector, out) = admin.outgoing(d).await?;
    connector.send(&connectors.http, &out).await
}
