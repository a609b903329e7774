//! The SQL backends of the Store: SQLite (embedded, the default) and
//! PostgreSQL (scale-out). Both are always compiled in; the database URL
//! picks one at start-up, and migrations run before the store is handed out.
//!
//! The query code is written once, in `queries.rs`, and expanded for each
//! backend: only the pool set-up and the locking that serialises audit
//! appends differ per dialect. This crate must never interpret secrets: it
//! stores the hashes and encrypted blobs it is given.

mod codec;
mod error;
mod postgres;
mod queries;
mod sqlite;

use ostrog_store::{Store, StoreError};
use std::sync::Arc;

pub use postgres::{PostgresStore, create_fresh_postgres_database, drop_postgres_database};
pub use sqlite::SqliteStore;

/// Opens the store named by `url` — `sqlite:<path>` or
/// `postgres://…` / `postgresql://…` — and brings its schema up to date.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else {
        Err(StoreError::Database("unsupported database URL: expected sqlite:, postgres: or postgresql:".into()))
    }
}
