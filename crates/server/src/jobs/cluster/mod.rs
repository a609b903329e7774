//! The cluster's background work on each node: the bus in both directions,
//! the beat that proves the bus works, the leader lease, and the node's row.

mod inbound;

use super::{Stop, Supervisor};
use crate::StartError;
use crate::app::App;
use crate::channels::Channels;
use crate::cluster::bus::{Bus, Heard, Inbox};
use crate::cluster::{Cluster, FRESH, LEASE, envelope, wall_ms};
use crate::config::Config;
use crate::keys::{Ledger, Vault};
use crate::realtime::event::Event;
use crate::realtime::hub::Hub;
use crate::realtime::{Relay, Signals};
use crate::services::consent::Consent;
use crate::services::conversations::Conversations;
use crate::services::nodes::Nodes;
use crate::services::presence::Presence;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;

/// Events sent to the bus at once at most (one payload, or a few).
const RELAY_BATCH: usize = 4096;

/// What the cluster's jobs drive.
pub(crate) struct Node {
    cluster: Arc<Cluster>,
    nodes: Arc<Nodes>,
    presence: Arc<Presence>,
    conversations: Arc<Conversations>,
    consent: Arc<Consent>,
    hub: Arc<Hub>,
    signals: Arc<Signals>,
    relay: Arc<Relay>,
    connectors: Arc<Channels>,
    ledger: Arc<Ledger>,
    vault: Arc<Vault>,
}

impl Node {
    fn of(app: &App) -> Self {
        Node {
            cluster: app.cluster.clone(),
            nodes: app.nodes.clone(),
            presence: app.presence.clone(),
            conversations: app.conversations.clone(),
            consent: app.consent.clone(),
            hub: app.realtime.hub.clone(),
            signals: app.realtime.signals.clone(),
            relay: app.realtime.relay.clone(),
            connectors: app.channels.clone(),
            ledger: app.ledger.clone(),
            vault: app.vault.clone(),
        }
    }
}

/// Joins the cluster: connects the bus and starts the tasks (none on SQLite).
pub async fn start(jobs: &mut Supervisor, app: &Arc<App>, config: &Config) -> Result<(), StartError> {
    let cluster = &app.cluster;
    if !cluster.clustered {
        return Ok(());
    }
    let app = &Arc::new(Node::of(app));
    jobs.start("cluster lease", |stop| lead(app.clone(), stop));
    jobs.start("cluster heartbeat", |stop| heartbeat(app.clone(), stop));
    if let Some(kind) = cluster.bus {
        let missed = cluster.missed().clone();
        let (bus, inbox) = Bus::connect(kind, config, missed).await.map_err(|e| StartError::Io(e.to_string()))?;
        let outgoing = app.relay.take().ok_or_else(|| StartError::Io("the relay is taken".into()))?;
        let (heard, to_apply) = mpsc::unbounded_channel::<Vec<Event>>();
        jobs.start("bus out", |stop| send(app.clone(), bus, outgoing, stop));
        jobs.start("bus in", |stop| receive(app.clone(), inbox, heard, stop));
        jobs.start("bus apply", |_| apply(app.clone(), to_apply));
        jobs.start("bus beat", |stop| beat(app.clone(), stop));
        // Serve once the bus is known to work, or without it (not ready,
        // catching up later) if it does not within a few seconds.
        for _ in 0..50 {
            if cluster.bus_up() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tracing::info!(node = %cluster.node, bus = cluster.bus.map_or("none", |b| b.name()), "joined the cluster");
    Ok(())
}

/// Leaves on shutdown: another node takes over the jobs at once instead of
/// when the lease runs out, and the others stop counting this node's operators.
pub async fn leave(app: &App) {
    app.nodes.leave().await;
}

/// Takes or renews the leader lease every few seconds; a node that cannot
/// renew (database unreachable) stops leading before its lease runs out.
async fn lead(app: Arc<Node>, mut stop: Stop) {
    let every = LEASE / 5;
    for round in 0u64.. {
        if round > 0 && !stop.wait(tokio::time::sleep(every)).await {
            return;
        }
        if round % 1800 == 0 && app.cluster.is_leader() {
            app.nodes.prune().await;
        }
        let now = wall_ms();
        // A renewal that hangs counts as failed well before the lease runs out.
        let attempt = app.nodes.try_lead(now);
        let held = tokio::time::timeout(LEASE / 4, attempt).await;
        let leading = matches!(held, Ok(Ok(true)));
        match &held {
            Ok(Err(e)) => tracing::warn!(error = %e, "could not renew the leader lease"),
            Err(_) => tracing::warn!("renewing the leader lease took too long"),
            Ok(Ok(_)) => {}
        }
        let was = app.cluster.set_leader(leading);
        if leading && !was {
            tracing::info!(node = %app.cluster.node, "this node now runs routing, the outbox, retention and backups");
            // Whatever waited for a leader goes now.
            app.signals.apply(&Event::Route);
            app.signals.apply(&Event::Deliver);
            app.connectors.pollers_changed();
        } else if was && !leading {
            tracing::info!(node = %app.cluster.node, "this node no longer leads");
            // Its pollers stop now rather than at the supervisor's next look.
            app.connectors.pollers_changed();
        }
    }
}

/// Writes who is connected here every second and at once when it changes
/// (then asks the leader to route); reads who is connected elsewhere.
/// While the bus is down, checks the local sessions against the database
/// itself, so that a revocation still arrives within about a second.
async fn heartbeat(app: Arc<Node>, mut stop: Stop) {
    let hub = &app.hub;
    loop {
        let next = async {
            tokio::select! {
                _ = hub.presence_changed.notified() => true,
                _ = tokio::time::sleep(Duration::from_secs(1)) => false,
            }
        };
        let Some(changed) = stop.until(next).await else { return };
        if let Err(e) = app.presence.publish_here().await {
            tracing::warn!(error = %e, "could not record this node's presence");
            continue;
        }
        if changed {
            app.signals.route();
        }
        if let Err(e) = app.presence.read_remote().await {
            tracing::warn!(error = %e, "could not read the other nodes' presence");
        }
        if matches!(app.cluster.bus_state(), crate::cluster::BusState::Down(_)) {
            check_sessions(&app).await;
        }
    }
}

/// Closes connections whose session is gone or whose employee is no longer active.
async fn check_sessions(app: &Node) {
    for session in app.nodes.revoked(app.hub.sessions()).await {
        app.hub.apply(Event::RevokeSession { session });
    }
}

/// Publishes what the hub and signals relay, in order, many events per payload.
async fn send(app: Arc<Node>, bus: Bus, mut outgoing: mpsc::Receiver<Event>, mut stop: Stop) {
    let mut batch = Vec::with_capacity(RELAY_BATCH);
    while stop.until(outgoing.recv_many(&mut batch, RELAY_BATCH)).await.unwrap_or(0) > 0 {
        for payload in envelope::encode(&app.cluster.node, &batch, bus.max_payload() - SIGNATURE) {
            let signed = format!("{}.{payload}", sign(&app, &payload));
            if let Err(e) = bus.publish(signed).await {
                // The others miss this: they notice by their beats and resynchronise.
                tracing::warn!(error = %e, "could not publish to the bus");
            }
        }
        batch.clear();
    }
}

/// Reads the bus: notes this node's own beats, and hands the others'
/// events to `apply`.
async fn receive(app: Arc<Node>, mut inbox: Inbox, heard: mpsc::UnboundedSender<Vec<Event>>, mut stop: Stop) {
    let missed = app.cluster.missed().clone();
    while let Some(next) = stop.until(inbox.next()).await {
        match next {
            Heard::Payload(bytes) => {
                let Some(payload) = verified(&app, &bytes) else {
                    // Not from a node of this installation (or tampered with).
                    tracing::warn!("dropped a payload on the bus without a valid signature");
                    continue;
                };
                let Some(envelope) = envelope::decode(payload) else {
                    // Maybe another node's events: this node catches up to be sure.
                    tracing::warn!("an unreadable payload on the bus");
                    missed.store(true, Ordering::SeqCst);
                    continue;
                };
                if envelope.n == app.cluster.node {
                    if envelope.e.contains(&Event::Beat) {
                        let previous = app.cluster.beat_returned();
                        if missed.swap(false, Ordering::SeqCst) {
                            resynchronise_if_others(&app, previous).await;
                        }
                    }
                    continue;
                }
                let _ = heard.send(envelope.e);
            }
            Heard::Lost => {
                if !missed.swap(true, Ordering::SeqCst) {
                    tracing::info!("the bus connection was lost; catching up once it is back");
                }
            }
            Heard::Closed => return,
        }
    }
}

/// Applies the others' events, taking whatever has accumulated at once
/// (under load, one database read for many payloads instead of one each);
/// ends when `receive` does.
async fn apply(app: Arc<Node>, mut heard: mpsc::UnboundedReceiver<Vec<Event>>) {
    let mut payloads = Vec::new();
    while heard.recv_many(&mut payloads, 1024).await > 0 {
        let events: Vec<Event> = payloads.drain(..).flatten().collect();
        inbound::apply(&app, events).await;
    }
}

/// Room for the signature and its dot in front of a payload.
const SIGNATURE: usize = 65;

/// Who can publish on the bus (a NATS account, a database role) must not be
/// able to close sockets or push frames to clients: every payload carries a
/// MAC under the installation's key, which every node has and the bus has not.
fn sign(app: &Node, payload: &str) -> String {
    app.vault.blind_index(crate::keys::purpose::Index::ClusterBus, payload)
}

/// The payload after a valid signature; `None` for anything else.
fn verified<'a>(app: &Node, bytes: &'a [u8]) -> Option<&'a [u8]> {
    use subtle::ConstantTimeEq;
    let text = std::str::from_utf8(bytes).ok()?;
    let (signature, payload) = text.split_once('.')?;
    let expected = sign(app, payload);
    bool::from(expected.as_bytes().ct_eq(signature.as_bytes())).then_some(payload.as_bytes())
}

/// Sends a beat every second; notes when the last one has not come back.
async fn beat(app: Arc<Node>, mut stop: Stop) {
    loop {
        app.relay.send(Event::Beat);
        if !stop.wait(tokio::time::sleep(Duration::from_secs(1))).await {
            return;
        }
        if !app.cluster.bus_up() {
            app.cluster.missed().store(true, Ordering::SeqCst);
        }
    }
}

/// The bus is back after a loss; it worked until `last_beat` (ms). Only
/// the other nodes' events can have been missed: when none was alive
/// meanwhile (a single node whose database connections dropped), the
/// clients here keep their sockets. When that cannot be read, to be sure,
/// they reconnect.
async fn resynchronise_if_others(app: &Node, last_beat: i64) {
    // A node alive at any moment since then has written its row since then,
    // give or take a beat: FRESH is ample.
    let since = last_beat.max(app.cluster.started_at) - FRESH.as_millis() as i64;
    match app.nodes.seen_since(since).await {
        Ok(rows) if rows.iter().all(|n| n.id == app.cluster.node) => {
            tracing::info!("the bus is back; no other node was alive meanwhile: nothing was missed");
            return;
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not read which nodes were alive while the bus was down"),
    }
    resynchronise(app);
}

/// This node may have missed events: its clients reconnect (to it or
/// another node) and resume from their last sequence number.
pub(crate) fn resynchronise(app: &Node) {
    tracing::warn!("events from other nodes may have been missed: clients reconnect and catch up");
    app.hub.close_all_for_restart();
}
