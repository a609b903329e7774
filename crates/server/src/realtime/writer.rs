//! Group commit. Every message goes through one queue to a writer task that
//! takes whatever has accumulated (up to `MAX_BATCH`), stores it in one
//! transaction, and only then acknowledges each sender and fans the messages
//! out. While one batch commits, the next one fills up, so under load the
//! number of transactions (and fsyncs) grows much more slowly than the
//! number of messages; when idle, a lone message is written at once.

use super::hub::{ConnId, Hub};
use super::{Signals, frames};
use crate::error::AppError;
use crate::keys::Ledger;
use ostrog_domain::message::Author;
use ostrog_store::{Appended, NewMessage, StoreError, StoreResult};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Large, because a commit costs an fsync however few messages it holds.
const MAX_BATCH: usize = 4096;
/// Messages waiting for the writer before senders have to wait too.
const QUEUE: usize = 16 * 1024;

/// Where the outcome of a write goes.
pub enum Reply {
    /// An `ack` (or `error`) frame into this connection's queue, in order.
    Ack { conn: ConnId, client_id: Uuid },
    /// The outcome itself, to a caller waiting for it (REST).
    Wait(oneshot::Sender<StoreResult<Appended>>),
}

struct Pending {
    message: NewMessage,
    reply: Reply,
}

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Pending>,
}

impl Writer {
    pub fn start(ledger: Arc<Ledger>, hub: Arc<Hub>, signals: Arc<Signals>) -> Writer {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(ledger, hub, signals, rx));
        Writer { tx }
    }

    /// Queues the message; waits only when the queue is full (back-pressure).
    pub async fn submit(&self, message: NewMessage, reply: Reply) -> Result<(), AppError> {
        self.tx.send(Pending { message, reply }).await.map_err(|_| AppError::Internal("the writer has stopped".into()))
    }

    /// Stores one message and waits until it is durable.
    pub async fn write(&self, message: NewMessage) -> Result<Appended, AppError> {
        let (tx, rx) = oneshot::channel();
        self.submit(message, Reply::Wait(tx)).await?;
        let outcome = rx.await.map_err(|_| AppError::Internal("the writer dropped a message".into()))?;
        Ok(outcome?)
    }
}

/// Stores batches; hands each stored batch to `publish` and goes straight
/// on to the next, so that fan-out (serialising frames, queueing them) runs
/// on another core while the next batch is written.
async fn run(ledger: Arc<Ledger>, hub: Arc<Hub>, signals: Arc<Signals>, mut rx: mpsc::Receiver<Pending>) {
    // A few batches in flight at most: if publishing falls behind, storing waits.
    let (done_tx, done_rx) = mpsc::channel::<(Vec<StoreResult<Appended>>, Vec<Reply>)>(4);
    tokio::spawn(publish(hub, signals, done_rx));
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (messages, replies): (Vec<NewMessage>, Vec<Reply>) = batch.drain(..).map(|p| (p.message, p.reply)).unzip();
        let (started, count) = (std::time::Instant::now(), messages.len());
        let stored = ledger.append_messages(messages).await;
        tracing::debug!(count, ms = started.elapsed().as_millis() as u64, "batch stored");
        let outcomes = match stored {
            Ok(outcomes) => outcomes,
            Err(e) => {
                tracing::error!(error = %e, count, "could not store a batch of messages");
                (0..count).map(|_| Err(StoreError::Database("the batch was not stored".into()))).collect()
            }
        };
        if done_tx.send((outcomes, replies)).await.is_err() {
            return;
        }
    }
}

/// Acknowledges and fans out stored batches, in the order they were stored.
async fn publish(
    hub: Arc<Hub>,
    signals: Arc<Signals>,
    mut done: mpsc::Receiver<(Vec<StoreResult<Appended>>, Vec<Reply>)>,
) {
    while let Some((outcomes, replies)) = done.recv().await {
        for (outcome, reply) in outcomes.into_iter().zip(replies) {
            if let Ok(Appended::Stored { message, state, operator }) = &outcome {
                hub.publish_message(message, *operator);
                // A visitor wrote into a closed conversation (it closed while
                // the message was on its way): it reopens.
                if matches!(message.author, Author::Visitor(_)) && *state == ostrog_domain::conversation::State::Closed
                {
                    signals.reopen(message.conversation_id);
                }
            }
            answer(&hub, reply, outcome);
        }
    }
}

fn answer(hub: &Hub, reply: Reply, outcome: StoreResult<Appended>) {
    match reply {
        Reply::Wait(tx) => {
            let _ = tx.send(outcome);
        }
        Reply::Ack { conn, client_id } => {
            let frame = match &outcome {
                Ok(a) => frames::ack(client_id, a.message()),
                Err(StoreError::NotFound) => frames::error("not_found", "no such conversation", Some(client_id)),
                Err(_) => frames::error("storage_unavailable", "not stored; send it again", Some(client_id)),
            };
            hub.send_to(conn, frame);
        }
    }
}
