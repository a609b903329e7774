//! Real-time conversations: the hub of connections, the group-commit
//! writer, the background work they trigger (routing, reopening), and
//! their order at shutdown.

pub mod frames;
pub mod hub;
pub mod limits;
pub mod shutdown;
pub mod writer;

use crate::app::App;
use crate::cluster::event::Event;
use crate::keys::Ledger;
use hub::Hub;
use ostrog_domain::ids::ConversationId;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use writer::Writer;

pub struct Realtime {
    pub hub: Arc<Hub>,
    pub writer: Writer,
    pub relay: Arc<Relay>,
    pub signals: Arc<Signals>,
    /// Sockets stop reading, are answered, then closed (`shut_down`).
    pub shutdown: shutdown::Shutdown,
}

impl Realtime {
    pub fn start(ledger: Arc<Ledger>) -> Realtime {
        let relay = Arc::new(Relay::default());
        let hub = Arc::new(Hub::new(relay.clone()));
        let signals = Arc::new(Signals::new(relay.clone()));
        let writer = Writer::start(ledger, hub.clone(), signals.clone());
        Realtime { hub, writer, signals, relay, shutdown: shutdown::Shutdown::new() }
    }
}

/// Where events for the other nodes go; unset on a single node.
#[derive(Default)]
pub struct Relay(OnceLock<mpsc::UnboundedSender<Event>>);

impl Relay {
    pub fn send(&self, event: Event) {
        if let Some(tx) = self.0.get() {
            let _ = tx.send(event);
        }
    }

    /// The events from here on, for the bus; `None` when already taken.
    pub fn take(&self) -> Option<mpsc::UnboundedReceiver<Event>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.0.set(tx).ok().map(|_| rx)
    }
}

/// Work for the background tasks, asked for from anywhere without waiting;
/// on every node, since only the leader runs routing and the outbox.
pub struct Signals {
    relay: Arc<Relay>,
    routing: Notify,
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
}

/// Starts routing and reopening; call once, when the server starts serving.
pub fn start_background(app: &Arc<App>) {
    let routing = app.clone();
    tokio::spawn(async move {
        // Also on a timer: an assignment that failed (storage hiccup) is retried.
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                _ = routing.realtime.signals.routing.notified() => {}
                _ = tick.tick() => {}
            }
            // One node routes at a time: loads and limits stay exact.
            if !routing.cluster.is_leader() {
                continue;
            }
            if let Err(e) = routing.route_queue().await {
                tracing::warn!(error = %e, "routing failed; retrying shortly");
            }
        }
    });
    let taken = app.realtime.signals.reopen_rx.lock().map(|mut rx| rx.take()).unwrap_or(None);
    if let Some(mut rx) = taken {
        let app = app.clone();
        tokio::spawn(async move {
            while let Some(id) = rx.recv().await {
                if let Err(e) = app.reopen(id).await {
                    tracing::warn!(error = %e, "could not reopen a conversation");
                }
            }
        });
    }
}
