//! How every query file of this crate is written, and the queries of
//! settings and of `Store` itself. Queries are written once for both
//! dialects and expanded per backend by an `impl_…!` macro. They use `$N`
//! placeholders (which SQLite reads too) and only types both backends map
//! alike: BIGINT as i64, TEXT as String, BLOB/BYTEA as Vec<u8>, BOOLEAN as
//! bool. Dialect-specific work (pool set-up, how an audit append is
//! serialised, how a write transaction begins) is done by the backend's
//! methods, `begin_write` and `begin_audit` among them.

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    pub(crate) const SETTING: &str = "SELECT value FROM settings WHERE key = $1";
    pub(crate) const PUT_SETTING: &str = "INSERT INTO settings (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    pub(crate) const PING: &str = "SELECT 1";
}

/// Implements `SettingsStore` and `Store` for `$store`, a struct with a
/// `pool: sqlx::Pool<$db>` field, a `NAME` and the dialect's methods
/// (`maintain_backend`, `compact_backend`).
macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_store::{SettingsStore, Store, StoreResult};
            use $crate::codec;
            use $crate::error::db_err;
            use $crate::queries::sql;

            #[async_trait]
            impl SettingsStore for $store {
                async fn setting(&self, key: &str) -> StoreResult<Option<serde_json::Value>> {
                    let value: Option<String> =
                        sqlx::query_scalar(sql::SETTING).bind(key).fetch_optional(&self.pool).await.map_err(db_err)?;
                    value.as_deref().map(codec::json).transpose()
                }

                async fn put_setting(&self, key: &str, value: &serde_json::Value) -> StoreResult<()> {
                    sqlx::query(sql::PUT_SETTING)
                        .bind(key)
                        .bind(codec::json_text(value)?)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }
            }

            #[async_trait]
            impl Store for $store {
                async fn ping(&self) -> StoreResult<()> {
                    sqlx::query(sql::PING).execute(&self.pool).await.map_err(db_err)?;
                    Ok(())
                }

                fn backend(&self) -> &'static str {
                    Self::NAME
                }

                async fn maintain(&self) -> StoreResult<()> {
                    self.maintain_backend().await.map_err(db_err)
                }

                async fn compact(&self) -> StoreResult<()> {
                    self.compact_backend().await.map_err(db_err)
                }
            }
        };
    };
}

pub(crate) use impl_store;
