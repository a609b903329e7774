//! Group commit. Every message goes through one queue to a writer task that
//! takes whatever has accumulated (up to `MAX_BATCH`), stores it in one
//! transaction, and only then acknowledges each sender and fans the messages
//! out. While one batch commits, the next one fills up, so under load the
//! number of transactions (and fsyncs) grows much more slowly than the
//! number of messages; when idle, a lone message is written at once.
//!
//! Where the store writes batches in parallel (PostgreSQL), there is one
//! queue and one storing loop per lane, and a conversation always goes to
//! the same lane: its messages are numbered and published in the order
//! they came, while another lane's batch commits beside them.

use super::hub::{ConnId, Hub};
use super::{Signals, frames};
use crate::error::AppError;
use crate::error::ErrorCode;
use crate::keys::Ledger;
use ostrog_domain::ids::ConversationId;
use ostrog_domain::message::Author;
use ostrog_store::{Appended, NewMessage, StoreError, StoreResult};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Large, because a commit costs an fsync however few messages it holds.
const MAX_BATCH: usize = 4096;
/// Messages waiting for the writer (all lanes together) before senders
/// have to wait too.
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
    /// When it arrived, for the delivery latency.
    at: Instant,
}

/// A stored batch on its way to be acknowledged and fanned out.
struct Stored {
    outcomes: Vec<StoreResult<Appended>>,
    replies: Vec<Reply>,
    arrivals: Vec<Instant>,
}

#[derive(Clone)]
pub struct Writer {
    /// One queue per lane.
    lanes: Arc<[mpsc::Sender<Pending>]>,
    /// Messages accepted and not yet answered (stored or refused).
    unanswered: Arc<AtomicUsize>,
}

impl Writer {
    /// The writer and its loops, which the jobs run (nothing is written
    /// until they do).
    pub fn new(ledger: Arc<Ledger>, hub: Arc<Hub>, signals: Arc<Signals>) -> (Writer, Loops) {
        let count = ledger.parallel_batches().max(1);
        let unanswered = Arc::new(AtomicUsize::new(0));
        // A few batches in flight at most: if publishing falls behind, storing waits.
        let (done_tx, done_rx) = mpsc::channel::<Stored>(4 * count);
        let (mut lanes, mut storing) = (Vec::with_capacity(count), Vec::with_capacity(count));
        for _ in 0..count {
            let (tx, rx) = mpsc::channel(QUEUE / count);
            lanes.push(tx);
            storing.push(Storing { ledger: ledger.clone(), rx, done: done_tx.clone() });
        }
        let publishing = Publishing { hub, signals, done: done_rx, unanswered: unanswered.clone() };
        (Writer { lanes: lanes.into(), unanswered }, Loops { storing, publishing })
    }

    /// The lane of a conversation's messages: always the same one.
    fn lane(&self, conversation: ConversationId) -> &mpsc::Sender<Pending> {
        &self.lanes[(conversation.0.as_u128() % self.lanes.len() as u128) as usize]
    }

    /// Queues the message; waits only when the queue is full (back-pressure).
    pub async fn submit(&self, message: NewMessage, reply: Reply) -> Result<(), AppError> {
        self.unanswered.fetch_add(1, Ordering::SeqCst);
        let lane = self.lane(message.conversation_id);
        let sent = lane.send(Pending { message, reply, at: Instant::now() }).await;
        sent.map_err(|_| {
            self.unanswered.fetch_sub(1, Ordering::SeqCst);
            AppError::Internal("the writer has stopped".into())
        })
    }

    /// Waits until every message accepted so far is stored and answered, or
    /// `within` has passed (on shutdown: nothing accepted is cut off mid-write).
    pub async fn settle(&self, within: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while self.unanswered.load(Ordering::SeqCst) > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        true
    }

    /// Messages waiting to be written.
    pub fn queued(&self) -> usize {
        self.lanes.iter().map(|tx| tx.max_capacity() - tx.capacity()).sum()
    }

    /// Stores one message and waits until it is durable.
    pub async fn write(&self, message: NewMessage) -> Result<Appended, AppError> {
        let (tx, rx) = oneshot::channel();
        self.submit(message, Reply::Wait(tx)).await?;
        let outcome = rx.await.map_err(|_| AppError::Internal("the writer dropped a message".into()))?;
        Ok(outcome?)
    }
}

/// The writer's work, in loops on tasks of their own, so that fan-out
/// (serialising frames, queueing them) runs on another core while the next
/// batch is written.
pub struct Loops {
    /// One per lane.
    pub storing: Vec<Storing>,
    /// Ends once every lane has.
    pub publishing: Publishing,
}

/// Stores one lane's batches and hands each stored batch to `Publishing`.
pub struct Storing {
    ledger: Arc<Ledger>,
    rx: mpsc::Receiver<Pending>,
    done: mpsc::Sender<Stored>,
}

impl Storing {
    /// Stores batches until `stop` resolves; then refuses new messages and
    /// stores what was already queued, so that nothing accepted is lost.
    pub async fn run(mut self, stop: impl std::future::Future<Output = ()>) {
        let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
        tokio::pin!(stop);
        let mut stopping = false;
        loop {
            let received = if stopping {
                self.rx.recv_many(&mut batch, MAX_BATCH).await
            } else {
                tokio::select! {
                    // Cancel-safe: when the stop wins, nothing was taken.
                    received = self.rx.recv_many(&mut batch, MAX_BATCH) => received,
                    _ = &mut stop => {
                        self.rx.close();
                        stopping = true;
                        continue;
                    }
                }
            };
            if received == 0 || !self.store(&mut batch).await {
                return;
            }
        }
    }

    /// One transaction for the whole batch; `false` once publishing is gone.
    async fn store(&self, batch: &mut Vec<Pending>) -> bool {
        let count = batch.len();
        let mut messages = Vec::with_capacity(count);
        let (mut replies, mut arrivals) = (Vec::with_capacity(count), Vec::with_capacity(count));
        for p in batch.drain(..) {
            messages.push(p.message);
            replies.push(p.reply);
            arrivals.push(p.at);
        }
        let started = Instant::now();
        let stored = self.ledger.append_messages(messages).await;
        crate::metrics::batch_written(started.elapsed());
        tracing::debug!(count, ms = started.elapsed().as_millis() as u64, "batch stored");
        let outcomes = match stored {
            Ok(outcomes) => outcomes,
            Err(e) => {
                tracing::error!(error = %e, count, "could not store a batch of messages");
                (0..count).map(|_| Err(StoreError::Database("the batch was not stored".into()))).collect()
            }
        };
        self.done.send(Stored { outcomes, replies, arrivals }).await.is_ok()
    }
}

/// Acknowledges and fans out stored batches, each lane's in the order they
/// were stored.
pub struct Publishing {
    hub: Arc<Hub>,
    signals: Arc<Signals>,
    done: mpsc::Receiver<Stored>,
    unanswered: Arc<AtomicUsize>,
}

impl Publishing {
    /// Runs until every `Storing` has stopped and everything stored is answered.
    pub async fn run(self) {
        let Publishing { hub, signals, mut done, unanswered } = self;
        while let Some(Stored { outcomes, replies, arrivals }) = done.recv().await {
            let (mut from_visitors, mut from_employees) = (0, 0);
            for ((outcome, reply), at) in outcomes.into_iter().zip(replies).zip(arrivals) {
                if let Ok(Appended::Stored { message, state, operator }) = &outcome {
                    hub.publish_message(message, *operator);
                    match message.author {
                        Author::Visitor(_) => from_visitors += 1,
                        Author::Employee(_) => from_employees += 1,
                        _ => {}
                    }
                    // A visitor wrote into a closed conversation (it closed while
                    // the message was on its way): it reopens.
                    if matches!(message.author, Author::Visitor(_))
                        && *state == ostrog_domain::conversation::State::Closed
                    {
                        signals.reopen(message.conversation_id);
                    }
                }
                answer(&hub, reply, outcome);
                crate::metrics::delivered(at.elapsed());
                unanswered.fetch_sub(1, Ordering::SeqCst);
            }
            crate::metrics::messages_stored(from_visitors, from_employees);
            if from_employees > 0 {
                signals.deliver();
            }
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
                Err(StoreError::NotFound) => {
                    frames::error(ErrorCode::NotFound, "no such conversation", Some(client_id))
                }
                Err(_) => frames::error(ErrorCode::StorageUnavailable, "not stored; send it again", Some(client_id)),
            };
            hub.send_to(conn, frame);
        }
    }
}
