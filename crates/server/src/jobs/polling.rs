//! Telegram long polling (`getUpdates`), for installations Telegram cannot
//! call. One task per polling channel, started and stopped as channels are
//! connected, changed and disconnected. The offset moves past an update
//! only once it is stored, so a crash repeats updates (stored once, by
//! their key) and never skips one.

use super::Stop;
use crate::channels::{Channels, Connector};
use crate::cluster::Cluster;
use crate::services::channels::ChannelAdmin;
use ostrog_domain::channel::{ChannelSettings, TelegramMode};
use ostrog_domain::ids::ChannelId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{AbortHandle, JoinSet};

/// How long one `getUpdates` waits for an update (Telegram's long poll).
const WAIT: Duration = Duration::from_secs(25);
/// After a failure, before asking again.
const PAUSE: Duration = Duration::from_secs(5);

pub async fn run(admin: Arc<ChannelAdmin>, connectors: Arc<Channels>, cluster: Arc<Cluster>, mut stop: Stop) {
    // The set owns the pollers: when this task ends, so do they.
    let mut pollers = JoinSet::new();
    let mut running: HashMap<ChannelId, (ChannelSettings, AbortHandle)> = HashMap::new();
    loop {
        while pollers.try_join_next().is_some() {}
        // Only the leader polls: an update is fetched by one node.
        let listed = if cluster.is_leader() { admin.list_channels().await } else { Ok(Vec::new()) };
        match listed {
            Ok(list) => {
                let wanted: HashMap<ChannelId, ChannelSettings> = list
                    .into_iter()
                    .filter(|c| matches!(c.settings, ChannelSettings::Telegram { mode: TelegramMode::Polling, .. }))
                    .map(|c| (c.id, c.settings))
                    .collect();
                running.retain(|id, (settings, task)| {
                    let keep = wanted.get(id) == Some(settings) && !task.is_finished();
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for (id, settings) in wanted {
                    running
                        .entry(id)
                        .or_insert_with(|| (settings, pollers.spawn(poll(admin.clone(), connectors.clone(), id))));
                }
            }
            Err(e) => tracing::warn!(error = %e, "the polling channels could not be listed"),
        }
        let changed = async {
            tokio::select! {
                _ = connectors.pollers.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            }
        };
        if !stop.wait(changed).await {
            return;
        }
    }
}

async fn poll(admin: Arc<ChannelAdmin>, connectors: Arc<Channels>, id: ChannelId) {
    loop {
        // Read each round: rotated secrets and a disconnection take effect.
        let Ok(Some(channel)) = admin.channel(id).await else { return };
        let Ok(connector) = admin.connector(&channel) else { return };
        let Connector::Telegram(bot) = &connector else { return };
        let updates = match bot.get_updates(&connectors.http, channel.poll_offset, WAIT).await {
            Ok(updates) => updates,
            Err(e) => {
                tracing::warn!(channel = %id, reason = %e, "Telegram updates could not be fetched");
                tokio::time::sleep(PAUSE).await;
                continue;
            }
        };
        for update in updates {
            let Some(update_id) = update["update_id"].as_i64() else { continue };
            if let Some(inbound) = bot.parse_update(&update)
                && let Err(e) = admin.receive_from_channel(&channel, &connector, inbound).await
            {
                tracing::warn!(channel = %id, error = %e, "an update could not be stored; asking for it again");
                tokio::time::sleep(PAUSE).await;
                break;
            }
            if let Err(e) = admin.set_poll_offset(id, update_id + 1).await {
                tracing::warn!(channel = %id, error = %e, "the polling offset could not be saved");
                break;
            }
        }
    }
}
