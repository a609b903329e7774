//! Several nodes on one PostgreSQL database behaving as one system.
//!
//! - The database is the truth: messages, assignments, sessions, leases.
//! - A bus (PostgreSQL LISTEN/NOTIFY or NATS) only says what changed, by
//!   id, so a node can tell its own clients at once (`event`). A node that
//!   may have missed something (the bus broke, it lagged) asks its clients
//!   to reconnect: they resume from their last sequence number, read from
//!   the database, and lose or repeat nothing.
//! - One node at a time, the holder of the `leader` lease, runs what must
//!   happen once: routing, the outbox and pollers, retention, backups.
//! - Each node writes who is connected to it into `nodes` every second:
//!   the leader routes to operators on every node, and an operator with
//!   tabs on two nodes is one operator.
//!
//! On SQLite there is one node: it leads, and none of the tasks run.

pub mod bus;
pub(crate) mod envelope;

use crate::config::Config;
use crate::realtime::hub::Present;
use ostrog_domain::clock::Clock;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The lease of the node that runs the singleton jobs.
pub const LEADER: &str = "leader";
/// How long a lease lasts unless renewed; a dead leader is replaced after at most this.
pub(crate) const LEASE: Duration = Duration::from_secs(10);
/// A node not seen for this long is gone (its operators are offline).
pub(crate) const FRESH: Duration = Duration::from_secs(10);
/// The bus counts as down when a node's own beat has not come back for this long.
const BEAT_LOST: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusKind {
    Postgres,
    Nats,
}

impl BusKind {
    pub fn name(self) -> &'static str {
        match self {
            BusKind::Postgres => "postgres",
            BusKind::Nats => "nats",
        }
    }
}

/// What readiness reports of the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusState {
    /// A single node: there is nobody to tell.
    None,
    Up(BusKind),
    Down(BusKind),
}

pub struct Cluster {
    /// This process; a new one on every start.
    pub node: String,
    pub started_at: i64,
    /// False on SQLite: one node, always the leader.
    pub clustered: bool,
    pub bus: Option<BusKind>,
    leader: AtomicBool,
    /// Employees connected to the other nodes.
    remote: RwLock<Vec<Present>>,
    health: Health,
}

/// Whether the bus works end to end, from the node's beats coming back.
struct Health {
    last_beat: AtomicI64,
    /// Events may have been lost since the last resynchronisation.
    missed: Arc<AtomicBool>,
}

impl Cluster {
    pub fn new(config: &Config) -> Self {
        let clustered = config.clustered();
        let bus = match (clustered, config.cluster.bus.as_str()) {
            (true, "nats") => Some(BusKind::Nats),
            (true, "postgres") => Some(BusKind::Postgres),
            _ => None,
        };
        Self {
            node: uuid::Uuid::new_v4().simple().to_string(),
            started_at: wall_ms(),
            clustered,
            bus,
            leader: AtomicBool::new(!clustered),
            remote: RwLock::default(),
            // Down until the first beat comes back (`start` waits a moment for it).
            health: Health { last_beat: AtomicI64::new(0), missed: Arc::new(AtomicBool::new(false)) },
        }
    }

    /// Whether this node runs the singleton jobs now.
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::SeqCst)
    }

    pub fn bus_state(&self) -> BusState {
        match self.bus {
            None => BusState::None,
            Some(kind) if self.bus_up() => BusState::Up(kind),
            Some(kind) => BusState::Down(kind),
        }
    }

    pub(crate) fn bus_up(&self) -> bool {
        wall_ms() - self.health.last_beat.load(Ordering::SeqCst) < BEAT_LOST.as_millis() as i64
    }

    /// Employees connected to the other nodes that are alive.
    pub fn remote(&self) -> Vec<Present> {
        self.remote.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Notes who is connected elsewhere now; who was before.
    pub(crate) fn replace_remote(&self, now: Vec<Present>) -> Vec<Present> {
        std::mem::replace(&mut *self.remote.write().unwrap_or_else(|p| p.into_inner()), now)
    }

    /// Notes whether this node leads now; whether it did before.
    pub(crate) fn set_leader(&self, leading: bool) -> bool {
        self.leader.swap(leading, Ordering::SeqCst)
    }

    /// Set when events may have been missed (the bus clears it on a beat).
    pub(crate) fn missed(&self) -> &Arc<AtomicBool> {
        &self.health.missed
    }

    /// This node's own beat came back; when the one before it did (ms).
    pub(crate) fn beat_returned(&self) -> i64 {
        self.health.last_beat.swap(wall_ms(), Ordering::SeqCst)
    }
}

/// Wall-clock milliseconds, for leases and liveness (never the app's clock:
/// a test's frozen clock must not freeze a lease).
pub fn wall_ms() -> i64 {
    ostrog_domain::clock::SystemClock.now()
}
