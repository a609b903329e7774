//! The cluster's background work on each node: the bus in both directions,
//! the beat that proves the bus works, the leader lease, and the node's row.

mod inbound;

use super::{Stop, Supervisor};
use crate::StartError;
use crate::app::App;
use crate::cluster::bus::{Bus, Heard, Inbox};
use crate::cluster::{FRESH, LEADER, LEASE, envelope, wall_ms};
use crate::config::Config;
use crate::realtime::event::Event;
use ostrog_store::NodeRecord;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;

/// Events sent to the bus at once at most (one payload, or a few).
const RELAY_BATCH: usize = 4096;

/// Joins the cluster: connects the bus and starts the tasks (none on SQLite).
pub async fn start(jobs: &mut Supervisor, app: &Arc<App>, config: &Config) -> Result<(), StartError> {
    let cluster = &app.cluster;
    if !cluster.clustered {
        return Ok(());
    }
    jobs.start("cluster lease", |stop| lead(app.clone(), stop));
    jobs.start("cluster heartbeat", |stop| heartbeat(app.clone(), stop));
    if let Some(kind) = cluster.bus {
        let missed = cluster.missed().clone();
        let (bus, inbox) = Bus::connect(kind, config, missed).await.map_err(|e| StartError::Io(e.to_string()))?;
        let outgoing = app.realtime.relay.take().ok_or_else(|| StartError::Io("the relay is taken".into()))?;
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
    let cluster = &app.cluster;
    if !cluster.clustered {
        return;
    }
    cluster.set_leader(false);
    if let Err(e) = app.store.release_lease(LEADER, &cluster.node).await {
        tracing::warn!(error = %e, "could not release the leader lease; another node takes over when it runs out");
    }
    let _ = app.store.delete_node(&cluster.node).await;
}

/// Takes or renews the leader lease every few seconds; a node that cannot
/// renew (database unreachable) stops leading before its lease runs out.
async fn lead(app: Arc<App>, mut stop: Stop) {
    let every = LEASE / 5;
    for round in 0u64.. {
        if round > 0 && !stop.wait(tokio::time::sleep(every)).await {
            return;
        }
        if round % 1800 == 0 && app.cluster.is_leader() {
            prune_nodes(&app).await;
        }
        let now = wall_ms();
        // A renewal that hangs counts as failed well before the lease runs out.
        let attempt = app.store.try_lease(LEADER, &app.cluster.node, now, now + LEASE.as_millis() as i64);
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
            app.realtime.signals.apply(&Event::Route);
            app.realtime.signals.apply(&Event::Deliver);
            app.channels.pollers_changed();
        } else if was && !leading {
            tracing::info!(node = %app.cluster.node, "this node no longer leads");
            // Its pollers stop now rather than at the supervisor's next look.
            app.channels.pollers_changed();
        }
    }
}

/// Writes who is connected here every second and at once when it changes
/// (then asks the leader to route); reads who is connected elsewhere.
/// While the bus is down, checks the local sessions against the database
/// itself, so that a revocation still arrives within about a second.
async fn heartbeat(app: Arc<App>, mut stop: Stop) {
    let hub = &app.realtime.hub;
    loop {
        let next = async {
            tokio::select! {
                _ = hub.presence_changed.notified() => true,
                _ = tokio::time::sleep(Duration::from_secs(1)) => false,
            }
        };
        let Some(changed) = stop.until(next).await else { return };
        let present = hub.present();
        let row = NodeRecord {
            id: app.cluster.node.clone(),
            presence: serde_json::to_string(&present).unwrap_or_else(|_| "[]".into()),
            started_at: app.cluster.started_at,
            seen_at: wall_ms(),
        };
        if let Err(e) = app.store.put_node(&row).await {
            tracing::warn!(error = %e, "could not record this node's presence");
            continue;
        }
        if changed {
            app.realtime.signals.route();
        }
        if let Err(e) = app.read_remote().await {
            tracing::warn!(error = %e, "could not read the other nodes' presence");
        }
        if matches!(app.cluster.bus_state(), crate::cluster::BusState::Down(_)) {
            check_sessions(&app).await;
        }
    }
}

/// Rows of nodes not seen for a day (restarts leave their old row behind).
async fn prune_nodes(app: &App) {
    let Ok(rows) = app.store.nodes(0).await else { return };
    let day_ago = wall_ms() - 24 * 3600 * 1000;
    for row in rows.iter().filter(|n| n.seen_at < day_ago) {
        let _ = app.store.delete_node(&row.id).await;
    }
}

/// Closes connections whose session is gone or whose employee is no longer active.
async fn check_sessions(app: &App) {
    let mut by_employee: HashMap<_, Vec<_>> = HashMap::new();
    for (employee, session) in app.realtime.hub.sessions() {
        by_employee.entry(employee).or_default().push(session);
    }
    for (employee, sessions) in by_employee {
        let active = matches!(app.store.employee(employee).await,
            Ok(Some(e)) if e.employee.status == ostrog_domain::employee::EmployeeStatus::Active);
        let Ok(valid) = app.store.sessions_of(employee).await else { continue };
        for session in sessions {
            if !active || !valid.iter().any(|s| s.id == session) {
                app.realtime.hub.apply(Event::RevokeSession { session });
            }
        }
    }
}

/// Publishes what the hub and signals relay, in order, many events per payload.
async fn send(app: Arc<App>, bus: Bus, mut outgoing: mpsc::Receiver<Event>, mut stop: Stop) {
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
async fn receive(app: Arc<App>, mut inbox: Inbox, heard: mpsc::UnboundedSender<Vec<Event>>, mut stop: Stop) {
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
async fn apply(app: Arc<App>, mut heard: mpsc::UnboundedReceiver<Vec<Event>>) {
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
fn sign(app: &App, payload: &str) -> String {
    app.vault.blind_index(crate::keys::purpose::Index::ClusterBus, payload)
}

/// The payload after a valid signature; `None` for anything else.
fn verified<'a>(app: &App, bytes: &'a [u8]) -> Option<&'a [u8]> {
    use subtle::ConstantTimeEq;
    let text = std::str::from_utf8(bytes).ok()?;
    let (signature, payload) = text.split_once('.')?;
    let expected = sign(app, payload);
    bool::from(expected.as_bytes().ct_eq(signature.as_bytes())).then_some(payload.as_bytes())
}

/// Sends a beat every second; notes when the last one has not come back.
async fn beat(app: Arc<App>, mut stop: Stop) {
    loop {
        app.realtime.relay.send(Event::Beat);
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
async fn resynchronise_if_others(app: &App, last_beat: i64) {
    // A node alive at any moment since then has written its row since then,
    // give or take a beat: FRESH is ample.
    let since = last_beat.max(app.cluster.started_at) - FRESH.as_millis() as i64;
    match app.store.nodes(since).await {
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
pub(crate) fn resynchronise(app: &App) {
    tracing::warn!("events from other nodes may have been missed: clients reconnect and catch up");
    app.realtime.hub.close_all_for_restart();
}
