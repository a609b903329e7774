//! Routing the queue to the operators (on the leader), and reopening
//! conversations a visitor wrote into as they closed (on every node).

use super::Stop;
use crate::cluster::Cluster;
use crate::realtime::Signals;
use crate::services::conversations::Conversations;
use std::sync::Arc;
use std::time::Duration;

/// Routes whenever the queue, a load or a presence changes, and every two
/// seconds: an assignment that failed (storage hiccup) is retried.
pub async fn route(conversations: Arc<Conversations>, signals: Arc<Signals>, cluster: Arc<Cluster>, mut stop: Stop) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let routing = &signals.routing;
    loop {
        let next = async {
            tokio::select! {
                _ = routing.notified() => {}
                _ = tick.tick() => {}
            }
        };
        if !stop.wait(next).await {
            return;
        }
        // One node routes at a time: loads and limits stay exact.
        if !cluster.is_leader() {
            continue;
        }
        if let Err(e) = conversations.route_queue().await {
            tracing::warn!(error = %e, "routing failed; retrying shortly");
        }
    }
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
