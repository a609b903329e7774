//! PostgreSQL LISTEN/NOTIFY as a message bus between nodes, for
//! installations that want no service beside the database. A payload is
//! text of at most `MAX_PAYLOAD` bytes; NOTIFY is delivered to every
//! listener of the database, the sender's own included, and only to
//! those connected at the time: what a node misses while its listening
//! connection is down is gone (the caller catches up from the tables).

use crate::error::db_err;
use ostrog_store::StoreError;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use std::time::Duration;

/// PostgreSQL refuses payloads of 8000 bytes or more.
pub const MAX_PAYLOAD: usize = 7900;

pub struct PgBus {
    pool: PgPool,
    url: String,
    channel: String,
}

/// What the listening connection brought.
pub enum Heard {
    Payload(String),
    /// The connection was lost; the next call reconnects. Anything sent
    /// meanwhile was not received.
    Lost,
}

pub struct PgSubscription(PgListener);

impl PgBus {
    /// `channel` must be a plain identifier (checked by the configuration).
    pub async fn connect(url: &str, channel: &str) -> Result<Self, StoreError> {
        // NOTIFY takes a lock at commit that serialises notifying
        // transactions across the database: two connections are enough.
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy(url)
            .map_err(db_err)?;
        Ok(Self { pool, url: url.to_string(), channel: channel.to_string() })
    }

    pub async fn notify(&self, payload: &str) -> Result<(), StoreError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(StoreError::Database(format!("a NOTIFY payload of {} bytes is too long", payload.len())));
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&self.channel)
            .bind(payload)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub async fn listen(&self) -> Result<PgSubscription, StoreError> {
        let mut listener = PgListener::connect(&self.url).await.map_err(db_err)?;
        listener.listen(&self.channel).await.map_err(db_err)?;
        Ok(PgSubscription(listener))
    }
}

impl PgSubscription {
    /// The next notification, or `Lost`; an error when reconnecting failed.
    pub async fn next(&mut self) -> Result<Heard, StoreError> {
        match self.0.try_recv().await.map_err(db_err)? {
            Some(n) => Ok(Heard::Payload(n.payload().to_string())),
            None => Ok(Heard::Lost),
        }
    }
}
