//! Real-time conversations: the hub of connections, the group-commit
//! writer, the background work they trigger (routing, reopening), and
//! their order at shutdown.

pub mod event;
pub mod hub;
pub mod limits;
pub mod shutdown;
pub mod writer;

pub mod frames;
pub use ostrog_protocol::objects;

use crate::keys::Ledger;
use crate::realtime::event::Event;
use hub::Hub;
use ostrog_domain::ids::ConversationId;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{Notify, mpsc};
use writer::Writer;

pub struct Realtime {
    pub hub: Arc<Hub>,
    pub writer: Writer,
    pub relay: Arc<Relay>,
    pub signals: Arc<Signals>,
    /// Sockets stop reading, are answered, then closed (`shut_down`).
    pub shutdown: shutdown::Shutdown,
    /// The writer's loops, until the jobs start them (`take_writer`).
    writer_loops: Mutex<Option<writer::Loops>>,
}

impl Realtime {
    /// Nothing runs until the jobs take the writer's loops and the
    /// signals' receivers.
    pub fn new(ledger: Arc<Ledger>) -> Realtime {
        let relay = Arc::new(Relay::default());
        let hub = Arc::new(Hub::new(relay.clone()));
        let signals = Arc::new(Signals::new(relay.clone()));
        let (writer, loops) = Writer::new(ledger, hub.clone(), signals.clone());
        let writer_loops = Mutex::new(Some(loops));
        Realtime { hub, writer, signals, relay, shutdown: shutdown::Shutdown::new(), writer_loops }
    }

    /// The writer's loops, for the jobs to run; `None` once taken.
    pub fn take_writer(&self) -> Option<writer::Loops> {
        self.writer_loops.lock().map(|mut loops| loops.take()).unwrap_or(None)
    }
}

/// Events waiting for the bus at most; past that, events are dropped and
/// the others are told to resynchronise (`Event::Overflowed`).
const RELAY_QUEUE: usize = 64 * 1024;

/// Where events for the other nodes go; unset on a single node.
#[derive(Default)]
pub struct Relay {
    tx: OnceLock<mpsc::Sender<Event>>,
    /// Events were dropped since the last `Overflowed` went out.
    overflowed: AtomicBool,
}

impl Relay {
    /// Never waits: when the bus falls behind by `RELAY_QUEUE` events, the
    /// event is dropped and the other nodes learn that they missed some.
    pub fn send(&self, event: Event) {
        let Some(tx) = self.tx.get() else { return };
        if self.overflowed.load(Ordering::SeqCst) {
            if tx.try_send(Event::Overflowed).is_err() {
                return;
            }
            self.overflowed.store(false, Ordering::SeqCst);
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(event)
            && !self.overflowed.swap(true, Ordering::SeqCst)
        {
            tracing::warn!("the bus fell behind: events dropped, the other nodes' clients will catch up");
        }
    }

    /// The events from here on, for the bus; `None` when already taken.
    pub fn take(&self) -> Option<mpsc::Receiver<Event>> {
        let (tx, rx) = mpsc::channel(RELAY_QUEUE);
        self.tx.set(tx).ok().map(|_| rx)
    }
}

/// Work for the background tasks, asked for from anywhere without waiting;
/// on every node, since only the leader runs routing and the outbox.
pub struct Signals {
    relay: Arc<Relay>,
    /// The queue or someone's presence changed: route.
    pub(crate) routing: Notify,
    /// An employee's message was stored: maybe a reply for the outbox.
    pub(crate) deliveries: Notify,
    reopen_tx: mpsc::UnboundedSender<ConversationId>,
    reopen_rx: Mutex<Option<mpsc::UnboundedReceiver<ConversationId>>>,
}

impl Signals {
    fn new(relay: Arc<Relay>) -> Self {
        let (reopen_tx, reopen_rx) = mpsc::unbounded_channel();
        Self {
            relay,
            routing: Notify::new(),
            deliveries: Notify::new(),
            reopen_tx,
            reopen_rx: Mutex::new(Some(reopen_rx)),
        }
    }

    /// The queue or someone's load or presence changed.
    pub fn route(&self) {
        self.routing.notify_one();
        self.relay.send(Event::Route);
    }

    /// Replies may be waiting in the outbox.
    pub fn deliver(&self) {
        self.deliveries.notify_one();
        self.relay.send(Event::Deliver);
    }

    /// What `route` and `deliver` do, asked for by another node.
    pub fn apply(&self, event: &Event) {
        match event {
            Event::Route => self.routing.notify_one(),
            Event::Deliver => self.deliveries.notify_one(),
            _ => {}
        }
    }

    pub fn reopen(&self, id: ConversationId) {
        let _ = self.reopen_tx.send(id);
    }

    /// The conversations to reopen, for the job that does it; `None` once taken.
    pub fn take_reopened(&self) -> Option<mpsc::UnboundedReceiver<ConversationId>> {
        self.reopen_rx.lock().map(|mut rx| rx.take()).unwrap_or(None)
    }
}
