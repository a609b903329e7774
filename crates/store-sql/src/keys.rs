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

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    /// Followed by `$1, $2, …` for the names, and `)`.
    pub(crate) const KEYS_NAMED: &str = "SELECT name, master_key_id, wrapped FROM data_keys WHERE name IN (";
    pub(crate) const PUT_KEY: &str = "INSERT INTO data_keys (name, master_key_id, wrapped, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING";
    pub(crate) const DESTROY_KEY: &str = "DELETE FROM data_keys WHERE name = $1";
    pub(crate) const KEYS_TO_REWRAP: &str = "SELECT name, master_key_id, wrapped FROM data_keys \
         WHERE master_key_id <> $1 ORDER BY name LIMIT $2";
    pub(crate) const REWRAP: &str = "UPDATE data_keys SET master_key_id = $2, wrapped = $3 \
         WHERE name = $1 AND master_key_id = $4 AND wrapped = $5";
    pub(crate) const COUNT_BY_MASTER_KEY: &str =
        "SELECT master_key_id, COUNT(*) AS n FROM data_keys GROUP BY master_key_id ORDER BY master_key_id";
}

fn master_id(row_value: i64) -> StoreResult<u32> {
    u32::try_from(row_value).map_err(|_| StoreError::Corrupt(format!("master key id {row_value}")))
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    name: String,
    master_key_id: i64,
    wrapped: Vec<u8>,
}

impl KeyRow {
    fn into_record(self) -> StoreResult<WrappedKey> {
        Ok(WrappedKey { name: self.name, master_key_id: master_id(self.master_key_id)?, wrapped: self.wrapped })
    }
}

#[derive(sqlx::FromRow)]
struct CountRow {
    master_key_id: i64,
    n: i64,
}

impl CountRow {
    fn into_record(self) -> StoreResult<(u32, u64)> {
        Ok((master_id(self.master_key_id)?, self.n.unsigned_abs()))
    }
}

macro_rules! impl_key_store {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl KeyStore for $store {
            async fn keys(&self, names: &[String]) -> StoreResult<Vec<WrappedKey>> {
                let mut out = Vec::with_capacity(names.len());
                for chunk in names.chunks(crate::conversations::CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(sql::KEYS_NAMED);
                    let mut list = q.separated(", ");
                    for name in chunk {
                        list.push_bind(name.clone());
                    }
                    list.push_unseparated(")");
                    for row in q.build_query_as::<KeyRow>().fetch_all(&self.pool).await.map_err(db_err)? {
                        out.push(row.into_record()?);
                    }
                }
                Ok(out)
            }

            async fn put_key(&self, key: &WrappedKey, at: Millis) -> StoreResult<WrappedKey> {
                sqlx::query(sql::PUT_KEY)
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
                let done = sqlx::query(sql::DESTROY_KEY).bind(name).execute(&self.pool).await.map_err(db_err)?;
                sqlx::query(Self::AFTER_DESTROY).execute(&self.pool).await.map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn keys_to_rewrap(&self, current: u32, limit: u32) -> StoreResult<Vec<WrappedKey>> {
                let rows: Vec<KeyRow> = sqlx::query_as(sql::KEYS_TO_REWRAP)
                    .bind(i64::from(current))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.into_iter().map(KeyRow::into_record).collect()
            }

            async fn rewrap(&self, old: &WrappedKey, new: &WrappedKey) -> StoreResult<bool> {
                let done = sqlx::query(sql::REWRAP)
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
                let rows: Vec<CountRow> =
                    sqlx::query_as(sql::COUNT_BY_MASTER_KEY).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.into_iter().map(CountRow::into_record).collect()
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
