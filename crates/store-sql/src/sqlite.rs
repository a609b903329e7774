//! SQLite: one file, WAL with `synchronous=FULL` (an acknowledged message
//! survives a power cut; group commit keeps that affordable), a small pool. Writers are serialised by SQLite
//! itself; transactions that write start with `BEGIN IMMEDIATE`, so they
//! queue on the busy timeout instead of failing on a lock upgrade.

use crate::appender::Appender;
use crate::error::{db_err, migrate_err};
use ostrog_domain::ids::ConversationId;
use ostrog_store::{Appended, NewStoredMessage, SealedBody, StoreError, StoreResult, Term};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Settings of every connection beyond durability and foreign keys, the
/// pool's and the appender's alike:
/// - 8 MiB of page cache (SQLite's default is 2 MiB): the message path
///   touches an index page per busy conversation;
/// - no automatic checkpoints: they would run inside a committing
///   transaction every 1,000 pages, that is every batch of messages; they
///   run from `maintain` instead, beside the writer, not in its way.
pub(crate) const TUNING: [(&str, &str); 2] = [("cache_size", "-8192"), ("wal_autocheckpoint", "0")];

/// 64 MiB of 4 KiB pages: the write-ahead log is emptied when it grows past this.
const WAL_LIMIT_FRAMES: i64 = 16 * 1024;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The one connection that runs write transactions other than the
    /// appender's. SQLite admits one writer at a time anyway; always the
    /// same connection keeps its page cache warm (a connection drops its
    /// cache when another one writes).
    writer: SqlitePool,
    /// Writes batches of messages from a thread of its own, in one hop
    /// (`appender.rs`); none for an in-memory database, which lives in its
    /// one pool connection.
    appender: Option<Appender>,
}

impl SqliteStore {
    /// What `Store::backend` answers.
    const NAME: &'static str = "sqlite";
    /// One writer at a time is all SQLite admits.
    const PARALLEL_BATCHES: usize = 1;

    /// Opens (creating it and its folder if missing) the database at `url`,
    /// e.g. `sqlite:/var/lib/ostrog/ostrog.db`, and migrates it.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(db_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let options = TUNING.iter().fold(options, |o, (name, value)| o.pragma(*name, *value));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let folder = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty());
        if let (false, Some(_)) = (in_memory, folder) {
            let file = options.get_filename();
            crate::private::prepare_sqlite_file(file)
                .map_err(|e| StoreError::Database(format!("cannot create {}: {e}", file.display())))?;
        }
        let single =
            || SqlitePoolOptions::new().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None);
        // An in-memory database lives as long as its one connection.
        let pool = if in_memory { single() } else { SqlitePoolOptions::new().max_connections(8) }
            .connect_with(options.clone())
            .await
            .map_err(db_err)?;
        MIGRATOR.run(&pool).await.map_err(migrate_err)?;
        let writer =
            if in_memory { pool.clone() } else { single().connect_with(options.clone()).await.map_err(db_err)? };
        let appender = if in_memory { None } else { Some(Appender::start(options.get_filename())?) };
        Ok(Self { pool, writer, appender })
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// Copies the write-ahead log back into the database without blocking
    /// writers (a PASSIVE checkpoint). Under steady load a reader is always
    /// somewhere in the log, so SQLite never starts it over and the file
    /// grows without end (measured: 48 MB/s at 2,000 messages/s). Past
    /// `WAL_LIMIT_FRAMES`, a RESTART checkpoint on the writer's connection
    /// waits for the readers of the moment, and the next commit writes from
    /// the start of the file again (docs/benchmarks.md: no cost to p99;
    /// TRUNCATE, which also shrinks the file, cost 80 ms of p99).
    pub(crate) async fn maintain_backend(&self) -> Result<(), sqlx::Error> {
        let (_, log_frames, _): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&self.pool).await?;
        if log_frames > WAL_LIMIT_FRAMES {
            let mut writer = self.writer.acquire().await?;
            sqlx::query("PRAGMA wal_checkpoint(RESTART)").execute(&mut *writer).await?;
        }
        Ok(())
    }

    /// `VACUUM` rebuilds the file from the live rows only; the truncating
    /// checkpoints before and after leave an empty write-ahead log.
    pub(crate) async fn compact_backend(&self) -> Result<(), sqlx::Error> {
        let mut conn = self.writer.acquire().await?;
        for step in ["PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"] {
            sqlx::query(step).execute(&mut *conn).await?;
        }
        Ok(())
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }

    /// Batches of messages go to the appender's thread (`appender.rs`); an
    /// in-memory database has none and takes the pool's path.
    async fn append_natively(
        &self,
        batch: &[NewStoredMessage],
        terms: &[Term],
    ) -> Option<StoreResult<Vec<StoreResult<Appended<SealedBody>>>>> {
        Some(self.appender.as_ref()?.append(batch, terms).await)
    }

    /// The write lock taken by `BEGIN IMMEDIATE` already admits one appender
    /// at a time, so reading the chain's end and inserting after it is safe.
    async fn begin_audit(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.begin_write().await
    }

    /// PostgreSQL locks the conversations a transaction will write in the
    /// order of their ids, against deadlocks; SQLite writes one transaction
    /// at a time and needs none of it.
    async fn lock_conversations(
        _tx: &mut Transaction<'static, Sqlite>,
        _ids: impl Iterator<Item = ConversationId>,
    ) -> StoreResult<()> {
        Ok(())
    }
}

crate::widgets::impl_widget_store!(SqliteStore, sqlx::Sqlite);
crate::quick_replies::impl_quick_reply_store!(SqliteStore, sqlx::Sqlite);
crate::labels::impl_label_store!(SqliteStore, sqlx::Sqlite);
crate::teams::impl_team_store!(SqliteStore, sqlx::Sqlite);
crate::visitors::impl_visitor_store!(SqliteStore, sqlx::Sqlite);
crate::contacts::impl_contact_store!(SqliteStore, sqlx::Sqlite);
crate::conversations::impl_conversation_store!(SqliteStore, sqlx::Sqlite);
crate::routing::impl_routing_store!(SqliteStore, sqlx::Sqlite);
crate::legacy::impl_legacy_seal_store!(SqliteStore, sqlx::Sqlite);
crate::files::impl_file_store!(SqliteStore, sqlx::Sqlite);
crate::subjects::impl_subject_store!(SqliteStore, sqlx::Sqlite);
crate::channels::impl_channel_store!(SqliteStore, sqlx::Sqlite);
crate::cluster::impl_cluster_store!(SqliteStore, sqlx::Sqlite);
crate::employees::impl_employee_store!(SqliteStore, sqlx::Sqlite);
crate::sessions::impl_session_store!(SqliteStore, sqlx::Sqlite);
crate::links::impl_link_store!(SqliteStore, sqlx::Sqlite);
crate::attempts::impl_attempt_store!(SqliteStore, sqlx::Sqlite);
crate::audit::impl_audit_store!(SqliteStore, sqlx::Sqlite);
crate::queries::impl_store!(SqliteStore, sqlx::Sqlite);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::{MIGRATOR, SqliteStore};
    use sqlx::migrate::Migrator;
    use sqlx::sqlite::SqlitePoolOptions;

    /// Messages to a database file go through the appender thread (the
    /// conformance suite runs on files); an in-memory database has no file
    /// for a second connection and keeps writing through its pool.
    #[tokio::test]
    async fn a_database_file_has_the_appender_and_memory_has_not() {
        let dir = std::env::temp_dir().join(format!("ostrog-sqlite-{}", uuid::Uuid::new_v4().simple()));
        let file = SqliteStore::connect(&format!("sqlite:{}", dir.join("ostrog.db").display())).await.unwrap();
        assert!(file.appender.is_some());
        let memory = SqliteStore::connect("sqlite::memory:").await.unwrap();
        assert!(memory.appender.is_none());
        drop(file);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// 0006 rebuilds `visitors`, whose deletion cascades to the tokens: an
    /// installation upgraded from 0005 keeps its visitors, their tokens and
    /// conversations, and every foreign key still holds.
    #[tokio::test]
    async fn rebuilding_visitors_keeps_their_rows_and_tokens() {
        let pool = SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
        sqlx::query("PRAGMA foreign_keys = ON").execute(&pool).await.unwrap();
        let before_0006 = Migrator { migrations: MIGRATOR.migrations[..5].to_vec().into(), ..Migrator::DEFAULT };
        before_0006.run(&pool).await.unwrap();
        for sql in [
            "INSERT INTO widgets (id, settings, secret, created_at) VALUES ('w', '{}', x'00', 1)",
            "INSERT INTO visitors (id, widget_id, created_at, external_index) VALUES ('v', 'w', 1, 'ix')",
            "INSERT INTO visitor_tokens (token_hash, visitor_id, created_at) VALUES ('t1', 'v', 1), ('t2', 'v', 2)",
            "INSERT INTO conversations (id, visitor_id, channel, state, created_at, updated_at) \
             VALUES ('c', 'v', 'widget', 'queued', 1, 1)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        MIGRATOR.run(&pool).await.unwrap();
        let count = |sql: &'static str| {
            let pool = pool.clone();
            async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
        };
        assert_eq!(count("SELECT count(*) FROM visitors WHERE widget_id = 'w' AND external_index = 'ix'").await, 1);
        assert_eq!(count("SELECT count(*) FROM visitor_tokens WHERE visitor_id = 'v'").await, 2);
        assert_eq!(count("SELECT count(*) FROM conversations").await, 1);
        let violations = sqlx::query("PRAGMA foreign_key_check").fetch_all(&pool).await.unwrap();
        assert!(violations.is_empty(), "foreign keys hold after the rebuild");
        let leftovers = "SELECT count(*) FROM sqlite_master WHERE name LIKE '%\\_old' ESCAPE '\\'";
        assert_eq!(count(leftovers).await, 0);
        // A visitor of neither or of both sources is refused.
        let neither = sqlx::query("INSERT INTO visitors (id, created_at) VALUES ('x', 1)").execute(&pool).await;
        assert!(neither.is_err());
    }

    /// 0008: Senior Operators of an upgraded installation keep seeing and
    /// transferring every conversation, as grants; an override someone set
    /// before stays; other roles get nothing.
    #[tokio::test]
    async fn senior_operators_keep_their_earlier_rights_as_grants() {
        let pool = SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
        let before_0008 = Migrator { migrations: MIGRATOR.migrations[..7].to_vec().into(), ..Migrator::DEFAULT };
        before_0008.run(&pool).await.unwrap();
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM pragma_table_info('employees') WHERE \"notnull\" = 1 AND dflt_value IS NULL AND pk = 0",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        for (id, role) in [("s1", "senior_operator"), ("s2", "senior_operator"), ("o", "operator")] {
            let names =
                ["id", "role"].iter().map(|c| c.to_string()).chain(columns.iter().filter(|c| *c != "role").cloned());
            let names: Vec<String> = names.collect();
            let values: Vec<String> = names
                .iter()
                .map(|c| match c.as_str() {
                    "id" => format!("'{id}'"),
                    "role" => format!("'{role}'"),
                    other => format!("'{id}-{other}'"),
                })
                .collect();
            let sql = format!("INSERT INTO employees ({}) VALUES ({})", names.join(", "), values.join(", "));
            sqlx::query(&sql).execute(&pool).await.unwrap();
        }
        sqlx::query("INSERT INTO permission_overrides VALUES ('s2', 'conversations.all', 'revoke')")
            .execute(&pool)
            .await
            .unwrap();
        MIGRATOR.run(&pool).await.unwrap();
        let overrides: Vec<(String, String, String)> =
            sqlx::query_as("SELECT employee_id, permission, effect FROM permission_overrides ORDER BY 1, 2")
                .fetch_all(&pool)
                .await
                .unwrap();
        let expected = [
            ("s1", "conversations.all", "grant"),
            ("s1", "conversations.transfer", "grant"),
            ("s2", "conversations.all", "revoke"),
            ("s2", "conversations.transfer", "grant"),
        ];
        let expected: Vec<(String, String, String)> =
            expected.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
        assert_eq!(overrides, expected);
    }
}
