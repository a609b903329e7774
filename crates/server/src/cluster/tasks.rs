//! The cluster's background work on each node: the bus in both directions,
//! the beat that proves the bus works, the leader lease, and the node's row.

use super::bus::{Bus, Heard, Inbox};
use super::event::{self, Event};
use super::{FRESH, LEADER, LEASE, wall_ms};
use crate::StartError;
use crate::app::App;
use crate::config::Config;
use crate::realtime::hub::Present;
use ostrog_store::NodeRecord;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Events sent to the bus at once at most (one payload, or a few).
const RELAY_BATCH: usize = 4096;

/// Joins the cluster: connects the bus and starts the tasks (none on SQLite).
pub async fn start(app: &Arc<App>, config: &Config) -> Result<Vec<JoinHandle<()>>, StartError> {
    let cluster = &app.cluster;
    if !cluster.clustered {
        return Ok(Vec::new());
    }
    let mut tasks = vec![tokio::spawn(lead(app.clone())), tokio::spawn(heartbeat(app.clone()))];
    if let Some(kind) = cluster.bus {
        let missed = cluster.health.missed.clone();
        let (bus, inbox) =
            Bus::connect(kind, config, missed.clone()).await.map_err(|e| StartError::Io(e.to_string()))?;
        let outgoing = app.realtime.relay.take().ok_or_else(|| StartError::Io("the relay is taken".into()))?;
        tasks.push(tokio::spawn(send(app.clone(), bus, outgoing)));
        tasks.push(tokio::spawn(receive(app.clone(), inbox, missed)));
        tasks.push(tokio::spawn(beat(app.clone())));
    }
    tracing::info!(node = %cluster.node, bus = cluster.bus.map_or("none", |b| b.name()), "joined the cluster");
    Ok(tasks)
}

/// Leaves on shutdown: another node takes over the jobs at once instead of
/// when the lease runs out, and the others stop counting this node's operators.
pub async fn leave(app: &App) {
    let cluster = &app.cluster;
    if !cluster.clustered {
        return;
    }
    cluster.leader.store(false, Ordering::SeqCst);
    if let Err(e) = app.store.release_lease(LEADER, &cluster.node).await {
        tracing::warn!(error = %e, "could not release the leader lease; another node takes over when it runs out");
    }
    let _ = app.store.delete_node(&cluster.node).await;
}

/// Takes or renews the leader lease every few seconds; a node that cannot
/// renew (database unreachable) stops leading before its lease runs out.
async fn lead(app: Arc<App>) {
    let every = LEASE / 5;
    loop {
        let now = wall_ms();
        let held = app.store.try_lease(LEADER, &app.cluster.node, now, now + LEASE.as_millis() as i64).await;
        let leading = held.as_ref().is_ok_and(|h| *h);
        if let Err(e) = &held {
            tracing::warn!(error = %e, "could not renew the leader lease");
        }
        let was = app.cluster.leader.swap(leading, Ordering::SeqCst);
        if leading && !was {
            tracing::info!(node = %app.cluster.node, "this node now runs routing, the outbox, retention and backups");
            // Whatever waited for a leader goes now.
            app.realtime.signals.apply(&Event::Route);
            app.realtime.signals.apply(&Event::Deliver);
            app.channels.pollers_changed();
        } else if was && !leading {
            tracing::info!(node = %app.cluster.node, "this node no longer leads");
        }
        tokio::time::sleep(every).await;
    }
}

/// Writes who is connected here every second and at once when it changes
/// (then asks the leader to route); reads who is connected elsewhere.
/// While the bus is down, checks the local sessions against the database
/// itself, so that a revocation still arrives within about a second.
async fn heartbeat(app: Arc<App>) {
    let hub = &app.realtime.hub;
    loop {
        let changed = tokio::select! {
            _ = hub.presence_changed.notified() => true,
            _ = tokio::time::sleep(Duration::from_secs(1)) => false,
        };
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
        if let Err(e) = read_remote(&app).await {
            tracing::warn!(error = %e, "could not read the other nodes' presence");
        }
        if matches!(app.cluster.bus_state(), super::BusState::Down(_)) {
            check_sessions(&app).await;
        }
    }
}

/// The employees on the other live nodes, also kept for `App::presences`.
pub(super) async fn read_remote(app: &App) -> Result<Vec<Present>, crate::error::AppError> {
    let rows = app.store.nodes(wall_ms() - FRESH.as_millis() as i64).await?;
    let remote: Vec<Present> = rows
        .into_iter()
        .filter(|n| n.id != app.cluster.node)
        .flat_map(|n| serde_json::from_str::<Vec<Present>>(&n.presence).unwrap_or_default())
        .collect();
    *app.cluster.remote.write().unwrap_or_else(|p| p.into_inner()) = remote.clone();
    Ok(remote)
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
async fn send(app: Arc<App>, bus: Bus, mut outgoing: mpsc::UnboundedReceiver<Event>) {
    let mut batch = Vec::with_capacity(RELAY_BATCH);
    while outgoing.recv_many(&mut batch, RELAY_BATCH).await > 0 {
        for payload in event::encode(&app.cluster.node, &batch, bus.max_payload()) {
            if let Err(e) = bus.publish(payload).await {
                // The others miss this: they notice by their beats and resynchronise.
                tracing::warn!(error = %e, "could not publish to the bus");
            }
        }
        batch.clear();
    }
}

/// Applies the other nodes' events; notes this node's own beats.
async fn receive(app: Arc<App>, mut inbox: Inbox, missed: Arc<AtomicBool>) {
    loop {
        match inbox.next().await {
            Heard::Payload(bytes) => {
                let Some(envelope) = event::decode(&bytes) else {
                    tracing::warn!("ignored an unreadable payload on the bus");
                    continue;
                };
                if envelope.n == app.cluster.node {
                    if envelope.e.contains(&Event::Beat) {
                        app.cluster.health.last_beat.store(wall_ms(), Ordering::SeqCst);
                        if missed.swap(false, Ordering::SeqCst) {
                            resynchronise(&app);
                        }
                    }
                    continue;
                }
                super::inbound::apply(&app, envelope.e).await;
            }
            Heard::Lost => missed.store(true, Ordering::SeqCst),
            Heard::Closed => return,
        }
    }
}

/// Sends a beat every second; notes when the last one has not come back.
async fn beat(app: Arc<App>) {
    loop {
        app.realtime.relay.send(Event::Beat);
        tokio::time::sleep(Duration::from_secs(1)).await;
        if !app.cluster.bus_up() {
            app.cluster.health.missed.store(true, Ordering::SeqCst);
        }
    }
}

/// This node may have missed events: its clients reconnect (to it or
/// another node) and resume from their last sequence number.
pub(super) fn resynchronise(app: &App) {
    tracing::warn!("events from other nodes may have been missed: clients reconnect and catch up");
    app.realtime.hub.close_all_for_restart();
}
