//! Routing the queue to the operators (on the leader), taking back what
//! absent operators were given, and reopening conversations a visitor wrote
//! into as they closed (on every node).

use super::Stop;
use crate::cluster::Cluster;
use crate::realtime::Signals;
use crate::services::conversations::Conversations;
use crate::services::presence::Presence;
use crate::services::settings::Settings;
use ostrog_domain::clock::Clock;
use std::sync::Arc;
use std::time::Duration;

/// What routing drives.
pub struct Routing {
    pub conversations: Arc<Conversations>,
    pub presence: Arc<Presence>,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub signals: Arc<Signals>,
    pub cluster: Arc<Cluster>,
}

/// Routes whenever the queue, a load or a presence changes, and every two
/// seconds: an assignment that failed (storage hiccup) is retried. Every
/// two seconds, too, operators whose pages stayed hidden become away (on
/// each node, for the pages connected to it) and, on the leader,
/// assignments nobody attended to go back to the queue.
pub async fn route(r: Routing, mut stop: Stop) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let routing = &r.signals.routing;
    loop {
        let mut ticked = false;
        let next = async {
            tokio::select! {
                _ = routing.notified() => {}
                _ = tick.tick() => ticked = true,
            }
        };
        if !stop.wait(next).await {
            return;
        }
        if ticked && let Err(e) = absent(&r).await {
            tracing::warn!(error = %e, "could not look for absent operators; retrying shortly");
        }
        // One node routes at a time: loads and limits stay exact.
        if !r.cluster.is_leader() {
            continue;
        }
        if let Err(e) = r.conversations.route_queue().await {
            tracing::warn!(error = %e, "routing failed; retrying shortly");
        }
    }
}

/// Sets away the operators whose pages here stayed hidden, and (leader)
/// returns unattended assignments to the queue.
async fn absent(r: &Routing) -> crate::error::AppResult<()> {
    let settings = r.settings.routing().await?;
    r.presence.away_when_hidden(r.clock.now(), i64::from(settings.away_after_hidden_seconds) * 1000);
    if r.cluster.is_leader() {
        r.conversations.requeue_unattended(settings.requeue_after_seconds).await?;
    }
    Ok(())
}

/// Reopens the conversations the writer found closed under a visitor's message.
pub async fn reopen(
    conversations: Arc<Conversations>,
    mut reopened: tokio::sync::mpsc::UnboundedReceiver<ostrog_domain::ids::ConversationId>,
    mut stop: Stop,
) {
    while let Some(Some(id)) = stop.until(reopened.recv()).await {
        if let Err(e) = conversations.reopen(id).await {
            tracing::warn!(error = %e, "could not reopen a conversation");
        }
    }
}
