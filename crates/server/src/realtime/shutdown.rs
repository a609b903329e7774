//! The real-time edge's part of a graceful shutdown, in this order:
//! 1. every socket stops reading the client's frames (a frame already read
//!    is handled to the end: its message is accepted by the writer);
//! 2. the writer stores what it accepted and puts each ack into its
//!    connection's queue;
//! 3. every socket writes out its queue, then the 1012 close frame, and
//!    waits a moment for the client's close frame in reply.
//!
//! So a client is never told to reconnect before hearing that what it sent
//! is stored; what it sent after the stop was never read, and it resends
//! that. It must never close a socket with unread data from the client in
//! it and no close handshake: the system would reset it (the client sees
//! 1006, not the code).

use super::Realtime;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long a socket waits for the client's reply to its close frame.
pub const CLOSE_HANDSHAKE: Duration = Duration::from_secs(2);

/// Whether sockets read, and how many read or are open.
pub struct Shutdown {
    reading: watch::Sender<bool>,
    readers: Count,
    sockets: Count,
}

/// One socket's part: it reads until told to stop, and counts as open
/// until dropped.
pub struct Ticket {
    stop: watch::Receiver<bool>,
    reading: Option<Held>,
    _open: Held,
}

impl Shutdown {
    pub fn new() -> Self {
        Self { reading: watch::Sender::new(true), readers: Count::default(), sockets: Count::default() }
    }

    /// A socket's ticket; one taken after the stop reads nothing.
    pub fn ticket(&self) -> Ticket {
        Ticket { stop: self.reading.subscribe(), reading: Some(self.readers.hold()), _open: self.sockets.hold() }
    }

    /// Step 1: no socket reads another frame (idempotent).
    pub fn stop_reading(&self) {
        self.reading.send_replace(false);
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Ticket {
    /// Resolves once sockets are to stop reading.
    pub async fn stopped(&mut self) {
        if self.stop.wait_for(|reading| !reading).await.is_err() {
            // The server is gone without a shutdown: nothing will say stop.
            std::future::pending::<()>().await;
        }
    }

    /// This socket reads no more (step 1 is done, as far as it goes).
    pub fn done_reading(&mut self) {
        self.reading = None;
    }
}

impl Realtime {
    /// The three steps, within `grace`; each socket's close handshake has
    /// the last part of it (`CLOSE_HANDSHAKE`, or half of a short grace).
    pub async fn shut_down(&self, grace: Duration) {
        let handshakes = CLOSE_HANDSHAKE.min(grace / 2);
        let settle_by = tokio::time::Instant::now() + grace.saturating_sub(handshakes);
        self.shutdown.stop_reading();
        if tokio::time::timeout_at(settle_by, self.shutdown.readers.zero()).await.is_err() {
            tracing::warn!("shutdown: some sockets were still handling a frame");
        }
        let left = settle_by.saturating_duration_since(tokio::time::Instant::now());
        if !self.writer.settle(left).await {
            tracing::warn!("shutdown: some messages were still being written; their senders will send them again");
        }
        self.hub.close_all_for_shutdown();
        if tokio::time::timeout(handshakes, self.shutdown.sockets.zero()).await.is_err() {
            tracing::warn!("shutdown: some clients did not answer the close frame in time");
        }
    }
}

/// A number of things held, and a way to wait until none is.
#[derive(Clone)]
struct Count(Arc<watch::Sender<usize>>);

struct Held(Count);

impl Default for Count {
    fn default() -> Self {
        Count(Arc::new(watch::Sender::new(0)))
    }
}

impl Count {
    fn hold(&self) -> Held {
        self.0.send_modify(|n| *n += 1);
        Held(self.clone())
    }

    async fn zero(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_ticket_reads_until_the_stop_and_counts_until_dropped() {
        let shutdown = Shutdown::new();
        let mut ticket = shutdown.ticket();
        let waiting = tokio::time::timeout(Duration::from_millis(20), ticket.stopped()).await;
        assert!(waiting.is_err(), "reads before the stop");
        shutdown.stop_reading();
        ticket.stopped().await;
        let readers = tokio::time::timeout(Duration::from_millis(20), shutdown.readers.zero()).await;
        assert!(readers.is_err(), "still handling its last frame");
        ticket.done_reading();
        shutdown.readers.zero().await;
        assert!(tokio::time::timeout(Duration::from_millis(20), shutdown.sockets.zero()).await.is_err(), "still open");
        drop(ticket);
        shutdown.sockets.zero().await;
        let mut late = shutdown.ticket();
        late.stopped().await;
    }
}
