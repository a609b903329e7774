//! PostgreSQL: a connection pool; audit appends are serialised by a
//! transaction-scoped advisory lock. Also the helpers that make and remove a
//! throw-away database for tests.

use crate::conversations::CHUNK;
use crate::error::{db_err, migrate_err};
use ostrog_domain::ids::ConversationId;
use ostrog_store::{Appended, NewStoredMessage, SealedBody, StoreError, StoreResult, Term};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Postgres, QueryBuilder, Transaction};
use std::str::FromStr;
use std::time::Duration;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The advisory lock key held while appending to the audit log ("OSTRAUDT").
const AUDIT_APPEND_LOCK: i64 = 0x4F53_5452_4155_4454;

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
}

impl PostgresStore {
    /// What `Store::backend` answers.
    const NAME: &'static str = "postgres";
    /// Two batches of messages in flight: while one commits, the next is
    /// planned and sent, on a second connection (docs/benchmarks.md).
    const PARALLEL_BATCHES: usize = 2;

    /// Connects to `url` (`postgres://…`) and migrates the database.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(db_err)?;
        MIGRATOR.run(&pool).await.map_err(migrate_err)?;
        Ok(Self { pool })
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// PostgreSQL maintains itself (autovacuum, checkpoints).
    pub(crate) async fn maintain_backend(&self) -> Result<(), sqlx::Error> {
        Ok(())
    }

    pub(crate) async fn compact_backend(&self) -> Result<(), sqlx::Error> {
        sqlx::query("VACUUM").execute(&self.pool).await.map(|_| ())
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    /// Batches of messages go in one statement (`postgres_batch.rs`).
    async fn append_natively(
        &self,
        batch: &[NewStoredMessage],
        terms: &[Term],
    ) -> Option<StoreResult<Vec<StoreResult<Appended<SealedBody>>>>> {
        Some(self.append_in_one_statement(batch, terms).await)
    }

    /// Holding the lock until commit makes "read the chain's end, insert
    /// after it" one step for concurrent appenders, even across processes.
    async fn begin_audit(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_APPEND_LOCK).execute(&mut *tx).await?;
        Ok(tx)
    }

    /// PostgreSQL locks rows as a statement meets them, in no order one
    /// can choose. Two transactions over the same conversations (the writer
    /// on one node, routing on another) first lock them here in the order
    /// of their ids, so neither ever waits for the other in a cycle (a
    /// deadlock costs a second and a lost batch).
    async fn lock_conversations(
        tx: &mut Transaction<'static, Postgres>,
        ids: impl Iterator<Item = ConversationId>,
    ) -> StoreResult<()> {
        let mut ids: Vec<String> = ids.map(|id| id.to_string()).collect();
        ids.sort();
        ids.dedup();
        for chunk in ids.chunks(CHUNK) {
            let mut q = QueryBuilder::<Postgres>::new("SELECT id FROM conversations WHERE id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.clone());
            }
            list.push_unseparated(") ORDER BY id FOR UPDATE");
            q.build().fetch_all(&mut **tx).await.map_err(db_err)?;
        }
        Ok(())
    }
}

crate::widgets::impl_widget_store!(PostgresStore, sqlx::Postgres);
crate::quick_replies::impl_quick_reply_store!(PostgresStore, sqlx::Postgres);
crate::labels::impl_label_store!(PostgresStore, sqlx::Postgres);
crate::teams::impl_team_store!(PostgresStore, sqlx::Postgres);
crate::visitors::impl_visitor_store!(PostgresStore, sqlx::Postgres);
crate::contacts::impl_contact_store!(PostgresStore, sqlx::Postgres);
crate::conversations::impl_conversation_store!(PostgresStore, sqlx::Postgres);
crate::routing::impl_routing_store!(PostgresStore, sqlx::Postgres);
crate::legacy::impl_legacy_seal_store!(PostgresStore, sqlx::Postgres);
crate::files::impl_file_store!(PostgresStore, sqlx::Postgres);
crate::subjects::impl_subject_store!(PostgresStore, sqlx::Postgres);
crate::channels::impl_channel_store!(PostgresStore, sqlx::Postgres);
crate::cluster::impl_cluster_store!(PostgresStore, sqlx::Postgres);
crate::employees::impl_employee_store!(PostgresStore, sqlx::Postgres);
crate::sessions::impl_session_store!(PostgresStore, sqlx::Postgres);
crate::links::impl_link_store!(PostgresStore, sqlx::Postgres);
crate::attempts::impl_attempt_store!(PostgresStore, sqlx::Postgres);
crate::audit::impl_audit_store!(PostgresStore, sqlx::Postgres);
crate::queries::impl_store!(PostgresStore, sqlx::Postgres);

/// Creates an empty database named `<prefix>_<random>` on the server of
/// `admin_url` and returns the URL to reach it (same credentials and
/// options). `prefix` may hold only ASCII letters, digits and `_`.
pub async fn create_fresh_postgres_database(admin_url: &str, prefix: &str) -> Result<String, StoreError> {
    if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::Database(format!("invalid database prefix {prefix:?}")));
    }
    let name = format!("{}_{}", prefix.to_ascii_lowercase(), uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(admin_url).await.map_err(db_err)?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut admin).await.map_err(db_err)?;
    admin.close().await.map_err(db_err)?;
    Ok(with_database(admin_url, &name))
}

/// Drops the database `url` points at and its key store beside it (see
/// `keys_url_beside`), ending their open connections.
pub async fn drop_postgres_database(admin_url: &str, url: &str) -> Result<(), StoreError> {
    let name = database_name(url)?;
    let mut admin = PgConnection::connect(admin_url).await.map_err(db_err)?;
    for db in [name.clone(), format!("{name}_keys")] {
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", db.replace('"', "\"\"")))
            .execute(&mut admin)
            .await
            .map_err(db_err)?;
    }
    admin.close().await.map_err(db_err)?;
    Ok(())
}

fn database_name(url: &str) -> Result<String, StoreError> {
    let options = PgConnectOptions::from_str(url).map_err(db_err)?;
    options.get_database().map(str::to_string).ok_or_else(|| StoreError::Database("the URL names no database".into()))
}

/// Drops the database `url` names (ending its connections) and creates it
/// again, empty: a restore with `--force` starts from nothing.
pub(crate) async fn recreate_database(url: &str) -> Result<(), StoreError> {
    let name = database_name(url)?.replace('"', "\"\"");
    let mut conn = PgConnection::connect(&with_database(url, "postgres")).await.map_err(db_err)?;
    for sql in [format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"), format!("CREATE DATABASE \"{name}\"")] {
        sqlx::query(&sql).execute(&mut conn).await.map_err(db_err)?;
    }
    conn.close().await.map_err(db_err)?;
    Ok(())
}

/// Where the key store of the PostgreSQL database at `url` lives by
/// default: a database of its own beside it, `<name>_keys`, so that a dump
/// of the main database holds no key.
pub fn keys_url_beside(url: &str) -> Result<String, StoreError> {
    Ok(with_database(url, &format!("{}_keys", database_name(url)?)))
}

/// Creates the database `url` names unless it exists, connecting to the
/// server's `postgres` database to do so.
pub(crate) async fn create_database_if_missing(url: &str) -> Result<(), StoreError> {
    let name = database_name(url)?;
    let mut conn = PgConnection::connect(&with_database(url, "postgres")).await.map_err(db_err)?;
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await
        .map_err(db_err)?
        .is_some();
    if !exists {
        let created =
            sqlx::query(&format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""))).execute(&mut conn).await;
        // Another node may have created it meanwhile (42P04: duplicate database).
        if let Err(e) = created
            && !matches!(&e, sqlx::Error::Database(d) if d.code().as_deref() == Some("42P04"))
        {
            return Err(db_err(e));
        }
    }
    conn.close().await.map_err(db_err)?;
    Ok(())
}

/// `url` with its path (the database name) replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_and_options_kept() {
        assert_eq!(with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(
            with_database("postgresql://u:p@h/test?sslmode=disable", "x"),
            "postgresql://u:p@h/x?sslmode=disable"
        );
    }
}
