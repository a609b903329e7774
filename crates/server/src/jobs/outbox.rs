//! The dispatcher of the outbox: sends each conversation's oldest pending
//! reply, records what happened, and tells the employees who watch. A
//! reply that failed for now waits as the retry policy says; one refused
//! for good (or out of time) is failed with its reason and stays in the
//! channel's dead letters. Nothing here holds a lock across a call.

use super::Stop;
use crate::app::App;
use crate::channels::{Connector, OutBody, Outgoing, SendError};
use crate::files::cipher::Part;
use futures_util::TryStreamExt;
use futures_util::future::join_all;
use ostrog_domain::message::Body;
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

pub async fn run(app: Arc<App>, mut stop: Stop) {
    let deliveries = &app.realtime.signals.deliveries;
    while !stop.is_requested() {
        // Only the leader sends: a reply goes out from one node, once.
        if !app.cluster.is_leader() {
            if !stop.wait(woken(deliveries, TICK)).await {
                return;
            }
            continue;
        }
        match app.store.due_deliveries(app.now(), BATCH).await {
            // Each delivery sent lets the next one of its conversation go.
            Ok(due) if !due.is_empty() => {
                join_all(due.into_iter().map(|d| deliver(&app, d))).await;
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

async fn deliver(app: &App, d: Delivery) {
    let now = app.now();
    let tried = d.attempts + 1;
    let attempt = match attempt(app, &d).await {
        Ok(()) => Attempt::Sent { at: now },
        Err(SendError::Retry { reason, after_ms }) => {
            match app.channels.policy.next_attempt(tried, now, d.created_at, after_ms) {
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
    match app.store.record_attempt(d.message_id, &attempt).await {
        Ok(true) => {
            if let Ok(Some(now)) = app.store.delivery(d.message_id).await {
                app.realtime.hub.publish_to_employees(now.conversation_id, crate::realtime::frames::delivery(&now));
            }
        }
        Ok(false) => {}
        // Not recorded: it is tried again, and `random_id` or the
        // idempotency key keeps the messenger from showing it twice.
        Err(e) => tracing::warn!(error = %e, "a delivery could not be recorded"),
    }
}

/// One try: the reply, its contact's address, and the call.
async fn attempt(app: &App, d: &Delivery) -> Result<(), SendError> {
    let unavailable = |_| SendError::retry("storage is unavailable");
    let gone = |what: &str| SendError::Permanent(format!("the {what} no longer exists"));
    let channel = app.store.channel(d.channel_id).await.map_err(unavailable)?.ok_or_else(|| gone("channel"))?;
    app.channels.check_address(channel.settings.api_base())?;
    let connector: Connector =
        app.connector(&channel).map_err(|_| SendError::Permanent("the channel's secrets cannot be read".into()))?;
    let conversation =
        app.store.conversation(d.conversation_id).await.map_err(unavailable)?.ok_or_else(|| gone("conversation"))?;
    let visitor =
        app.store.visitor(conversation.visitor_id).await.map_err(unavailable)?.ok_or_else(|| gone("contact"))?;
    let contact = app.contact_address(&visitor).await.map_err(|_| gone("contact's address"))?;
    let page = app.ledger.messages(d.conversation_id, d.seq - 1, Some(d.seq + 1), 1).await.map_err(unavailable)?;
    let message = page.into_iter().next().ok_or_else(|| gone("reply"))?;
    let body = match message.body {
        Body::Text(text) => OutBody::Text(text),
        Body::File(attachment) => {
            let record = app.store.file(attachment.file_id).await.map_err(unavailable)?.ok_or_else(|| gone("file"))?;
            let (record, stream) = app.open_file(record, Part::Original).await.map_err(|_| gone("file"))?;
            let chunks: Vec<_> =
                stream.try_collect().await.map_err(|_| SendError::retry("the file could not be read"))?;
            OutBody::File { name: attachment.name, content_type: record.content_type, bytes: chunks.concat() }
        }
        _ => return Err(SendError::Permanent("only texts and files go to a messenger".into())),
    };
    let out =
        Outgoing { contact, message_id: message.id.0, conversation_id: d.conversation_id.0, at: message.at, body };
    connector.send(&app.channels.http, &out).await
}
