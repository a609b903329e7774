//! The SQL backends of the Store: SQLite (embedded, the default) and
//! PostgreSQL (scale-out). Both are always compiled in; the database URL
//! picks one at start-up, and migrations run before the store is handed out.
//!
//! Each query is written once for both dialects (`$N` placeholders, only
//! types both map alike). Every query file has the same three parts:
//! - `mod sql`: each statement written out whole as one string constant, so
//!   that it reads (and greps) as the database sees it; a statement that
//!   differs by a word (an ORDER BY direction, a table) is one constant per
//!   variant, and a statement `QueryBuilder` completes starts and ends with
//!   constants. No query text lives in a macro;
//! - row structs (`#[derive(sqlx::FromRow)]`) that `into_record` turns into
//!   the store's records, checking what the database cannot;
//! - an `impl_…!` macro, expanded once per backend in `sqlite.rs` and
//!   `postgres.rs`, whose methods only bind, run and convert.
//!
//! What differs per dialect is a method of the backend, never a test of the
//! database's name in shared code: the pool set-up, `begin_write`,
//! `begin_audit` (how audit appends are serialised), `lock_conversations`
//! (PostgreSQL's row locks in id order against deadlocks), `appender`
//! (SQLite writes messages from a thread of its own), `maintain_backend`
//! and `compact_backend`.
//!
//! The files follow the Store traits: `employees.rs`, `sessions.rs`,
//! `links.rs`, `attempts.rs` (failed sign-ins), `audit.rs` (both hash-chained
//! trails), `queries.rs` (the conventions, settings, `Store`), `widgets.rs`,
//! `visitors.rs`, `contacts.rs`, `quick_replies.rs`, `labels.rs`, `teams.rs`, `conversations.rs` (conversations, messages and search
//! terms, which share the helpers that number and store messages),
//! `batch.rs` (what a batch of new messages becomes, whoever writes it),
//! `appender.rs` (SQLite's message writer on its own thread, with rusqlite),
//! `routing.rs`, `legacy.rs` (re-sealing), `files.rs`, `subjects.rs`,
//! `channels.rs`, `cluster.rs`, and `keys.rs` (the key store, a database of
//! its own). This crate must never interpret secrets: it stores the hashes
//! and encrypted blobs it is given.

mod appender;
mod attempts;
mod audit;
mod batch;
mod channels;
mod cluster;
mod codec;
mod contacts;
mod conversations;
mod employees;
mod error;
mod files;
mod keys;
mod labels;
mod legacy;
mod links;
pub mod notify;
mod postgres;
mod postgres_batch;
pub mod private;
mod queries;
mod quick_replies;
mod routing;
mod sessions;
pub mod snapshot;
mod sqlite;
mod subjects;
mod teams;
mod visitors;
mod widgets;

use ostrog_store::{Store, StoreError};
use std::sync::Arc;

pub use keys::connect_keys;
pub use postgres::{PostgresStore, create_fresh_postgres_database, drop_postgres_database, keys_url_beside};
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

#[cfg(test)]
mod migrations_in_step {
    use std::path::Path;

    /// The dialect differences the shared query code tolerates (SQLite's
    /// WITHOUT ROWID tables are PostgreSQL's ordinary ones); anything
    /// else that differs between the two schemas is drift. What only one
    /// dialect can express (SQLite rebuilds a table to drop a NOT NULL)
    /// follows a `-- dialect-specific` line.
    fn normalise(sql: &str) -> String {
        sql.lines()
            .take_while(|l| !l.starts_with("-- dialect-specific"))
            .filter(|l| !l.trim_start().starts_with("--"))
            .map(|l| l.replace("BYTEA", "BLOB").replace(" COLLATE \"C\"", "").replace(") WITHOUT ROWID;", ");"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn both_backends_have_the_same_migrations_and_schema() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let names = |dialect: &str| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(root.join(dialect))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let (sqlite, postgres) = (names("sqlite"), names("postgres"));
        assert_eq!(sqlite, postgres, "every migration exists for both backends");
        assert!(!sqlite.is_empty());
        for name in sqlite {
            let read = |d: &str| std::fs::read_to_string(root.join(d).join(&name)).unwrap_or_default();
            assert_eq!(normalise(&read("sqlite")), normalise(&read("postgres")), "{name} differs beyond dialect");
        }
    }
}
