//! The two buses behind one face: publish a payload to every node (the
//! sender too), and receive what anyone published. Neither keeps what a
//! node was not connected to hear; the caller notices (`Heard::Lost`, the
//! beats) and catches up from the database.

use super::BusKind;
use crate::config::Config;
use ostrog_store_sql::notify::{self, PgBus, PgSubscription};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// NATS servers accept 1 MiB by default; stay well under it.
const NATS_MAX_PAYLOAD: usize = 256 * 1024;

pub enum Bus {
    Nats { client: async_nats::Client, subject: String },
    Postgres(PgBus),
}

pub enum Inbox {
    Nats(async_nats::Subscriber),
    Postgres(PgSubscription),
}

pub enum Heard {
    Payload(Vec<u8>),
    /// The connection broke: what was published meanwhile is lost.
    Lost,
    /// The bus is gone for good (the client was closed).
    Closed,
}

#[derive(Debug, thiserror::Error)]
#[error("the {0} bus: {1}")]
pub struct BusError(&'static str, String);

impl Bus {
    /// Connects and subscribes. NATS is connected in the background when it
    /// is not reachable yet (the node starts; readiness says the bus is
    /// down); `missed` is set whenever the connection breaks.
    pub async fn connect(kind: BusKind, config: &Config, missed: Arc<AtomicBool>) -> Result<(Bus, Inbox), BusError> {
        let subject = config.cluster.subject.clone();
        match kind {
            BusKind::Nats => {
                let options = async_nats::ConnectOptions::new()
                    .name("ostrog")
                    .retry_on_initial_connect()
                    .connection_timeout(Duration::from_secs(5))
                    .event_callback(move |event| {
                        let missed = missed.clone();
                        async move {
                            if let async_nats::Event::Disconnected | async_nats::Event::SlowConsumer(_) = event {
                                missed.store(true, Ordering::SeqCst);
                            }
                            // The address may hold a password: say only what happened.
                            tracing::info!(event = %event, "NATS");
                        }
                    });
                let nats = |e: String| BusError("nats", e);
                let client = options.connect(&config.cluster.nats_url).await.map_err(|e| nats(e.kind().to_string()))?;
                let inbox = client.subscribe(subject.clone()).await.map_err(|e| nats(e.to_string()))?;
                Ok((Bus::Nats { client, subject }, Inbox::Nats(inbox)))
            }
            BusKind::Postgres => {
                let pg = |e: ostrog_store::StoreError| BusError("postgres", e.to_string());
                let bus = PgBus::connect(&config.database_url(), &subject).await.map_err(pg)?;
                let inbox = bus.listen().await.map_err(pg)?;
                Ok((Bus::Postgres(bus), Inbox::Postgres(inbox)))
            }
        }
    }

    pub fn max_payload(&self) -> usize {
        match self {
            Bus::Nats { .. } => NATS_MAX_PAYLOAD,
            Bus::Postgres(_) => notify::MAX_PAYLOAD,
        }
    }

    pub async fn publish(&self, payload: String) -> Result<(), BusError> {
        match self {
            Bus::Nats { client, subject } => {
                client.publish(subject.clone(), payload.into()).await.map_err(|e| BusError("nats", e.to_string()))
            }
            Bus::Postgres(bus) => bus.notify(&payload).await.map_err(|e| BusError("postgres", e.to_string())),
        }
    }
}

impl Inbox {
    pub async fn next(&mut self) -> Heard {
        match self {
            Inbox::Nats(subscriber) => {
                use futures_util::StreamExt;
                match subscriber.next().await {
                    Some(message) => Heard::Payload(message.payload.to_vec()),
                    None => Heard::Closed,
                }
            }
            Inbox::Postgres(subscription) => match subscription.next().await {
                Ok(notify::Heard::Payload(text)) => Heard::Payload(text.into_bytes()),
                Ok(notify::Heard::Lost) => Heard::Lost,
                Err(e) => {
                    tracing::warn!(error = %e, "the PostgreSQL bus could not reconnect; trying again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Heard::Lost
                }
            },
        }
    }
}
