//! The key store on SQLite or PostgreSQL: a database of its own (see
//! `ostrog_store::KeyStore`), with its own migrations. Destroying a key
//! leaves as little behind as each database allows: SQLite runs with
//! `secure_delete` (freed pages are zeroed) and truncates its write-ahead
//! log afterwards; PostgreSQL vacuums the table, which frees the row but
//! does not promise to overwrite its bytes on disk. Whatever remains is
//! still wrapped by the master key: rotating it makes remnants unreadable.

use crate::error::{db_err, migrate_err};
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_store::{KeyStore, StoreError, StoreResult, WrappedKey};
use sqlx::Row;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub(crate) static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/keys/sqlite");
pub(crate) static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/keys/postgres");

pub struct SqliteKeyStore {
    pool: sqlx::SqlitePool,
}

pub struct PostgresKeyStore {
    pool: sqlx::PgPool,
}

/// Opens the key store at `url` (`sqlite:…` or `postgres://…`), creating a
/// PostgreSQL database that does not exist yet, and migrates it.
pub async fn connect_keys(url: &str) -> Result<Arc<dyn KeyStore>, StoreError> {
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(db_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .pragma("secure_delete", "ON");
        let file = options.get_filename();
        if !url.contains(":memory:") && file.parent().is_some_and(|d| !d.as_os_str().is_empty()) {
            crate::private::prepare_sqlite_file(file)
                .map_err(|e| StoreError::Database(format!("cannot create {}: {e}", file.display())))?;
        }
        // One connection: the key store is small and `:memory:` must persist.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(db_err)?;
        SQLITE_MIGRATOR.run(&pool).await.map_err(migrate_err)?;
        Ok(Arc::new(SqliteKeyStore { pool }))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        crate::postgres::create_database_if_missing(url).await?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(db_err)?;
        POSTGRES_MIGRATOR.run(&pool).await.map_err(migrate_err)?;
        Ok(Arc::new(PostgresKeyStore { pool }))
    } else {
        Err(StoreError::Database("unsupported key store URL: expected sqlite:, postgres: or postgresql:".into()))
    }
}

fn master_id(row_value: i64) -> StoreResult<u32> {
    u32::try_from(row_value).map_err(|_| StoreError::Corrupt(format!("master key id {row_value}")))
}

macro_rules! impl_key_store {
    ($store:ty, $db:ty) => {
        impl $store {
            fn key_of(row: &<$db as sqlx::Database>::Row) -> StoreResult<WrappedKey> {
                Ok(WrappedKey {
                    name: row.try_get("name").map_err(db_err)?,
                    master_key_id: master_id(row.try_get("master_key_id").map_err(db_err)?)?,
                    wrapped: row.try_get("wrapped").map_err(db_err)?,
                })
            }
        }

        #[async_trait]
        impl KeyStore for $store {
            async fn keys(&self, names: &[String]) -> StoreResult<Vec<WrappedKey>> {
                let mut out = Vec::with_capacity(names.len());
                for chunk in names.chunks(crate::conversations::CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT name, master_key_id, wrapped FROM data_keys WHERE name IN (",
                    );
                    let mut list = q.separated(", ");
                    for name in chunk {
                        list.push_bind(name.clone());
                    }
                    list.push_unseparated(")");
                    for row in q.build().fetch_all(&self.pool).await.map_err(db_err)? {
                        out.push(Self::key_of(&row)?);
                    }
                }
                Ok(out)
            }

            async fn put_key(&self, key: &WrappedKey, at: Millis) -> StoreResult<WrappedKey> {
                sqlx::query(
                    "INSERT INTO data_keys (name, master_key_id, wrapped, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(&key.name)
                .bind(i64::from(key.master_key_id))
                .bind(&key.wrapped)
                .bind(at)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                self.keys(std::slice::from_ref(&key.name)).await?.into_iter().next().ok_or(StoreError::NotFound)
            }

            async fn destroy_key(&self, name: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM data_keys WHERE name = $1")
                    .bind(name)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                sqlx::query(Self::AFTER_DESTROY).execute(&self.pool).await.map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn keys_to_rewrap(&self, current: u32, limit: u32) -> StoreResult<Vec<WrappedKey>> {
                let rows = sqlx::query(
                    "SELECT name, master_key_id, wrapped FROM data_keys WHERE master_key_id <> $1 \
                     ORDER BY name LIMIT $2",
                )
                .bind(i64::from(current))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter().map(Self::key_of).collect()
            }

            async fn rewrap(&self, old: &WrappedKey, new: &WrappedKey) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE data_keys SET master_key_id = $2, wrapped = $3 \
                     WHERE name = $1 AND master_key_id = $4 AND wrapped = $5",
                )
                .bind(&old.name)
                .bind(i64::from(new.master_key_id))
                .bind(&new.wrapped)
                .bind(i64::from(old.master_key_id))
                .bind(&old.wrapped)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn count_by_master_key(&self) -> StoreResult<Vec<(u32, u64)>> {
                let rows = sqlx::query(
                    "SELECT master_key_id, COUNT(*) AS n FROM data_keys GROUP BY master_key_id ORDER BY master_key_id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|r| {
                        let n: i64 = r.try_get("n").map_err(db_err)?;
                        Ok((master_id(r.try_get("master_key_id").map_err(db_err)?)?, n.unsigned_abs()))
                    })
                    .collect()
            }
        }
    };
}

impl SqliteKeyStore {
    /// Run after a key is destroyed: the checkpoint empties the write-ahead
    /// log that still held the key's page.
    const AFTER_DESTROY: &'static str = "PRAGMA wal_checkpoint(TRUNCATE)";
}

impl PostgresKeyStore {
    /// Run after a key is destroyed: frees the row's space (see the module doc).
    const AFTER_DESTROY: &'static str = "VACUUM data_keys";
}

impl_key_store!(SqliteKeyStore, sqlx::Sqlite);
impl_key_store!(PostgresKeyStore, sqlx::Postgres);
