//! `ClusterStore` queries, written once for both dialects like `queries.rs`.

use ostrog_domain::clock::Millis;
use ostrog_store::{NodeRecord, StoreResult};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    /// One statement: the row lock of the upsert decides races.
    pub(crate) const TRY_LEASE: &str = "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE leases.holder = excluded.holder OR leases.expires_at < $4";
    pub(crate) const RELEASE_LEASE: &str = "DELETE FROM leases WHERE name = $1 AND holder = $2";
    pub(crate) const LEASE_HOLDER: &str = "SELECT holder FROM leases WHERE name = $1 AND expires_at >= $2";
    pub(crate) const PUT_NODE: &str = "INSERT INTO nodes (id, presence, started_at, seen_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET presence = excluded.presence, seen_at = excluded.seen_at";
    pub(crate) const NODES: &str =
        "SELECT id, presence, started_at, seen_at FROM nodes WHERE seen_at >= $1 ORDER BY id";
    pub(crate) const DELETE_NODE: &str = "DELETE FROM nodes WHERE id = $1";
}

#[derive(sqlx::FromRow)]
pub(crate) struct NodeRow {
    id: String,
    presence: String,
    started_at: Millis,
    seen_at: Millis,
}

impl NodeRow {
    pub(crate) fn into_record(self) -> StoreResult<NodeRecord> {
        Ok(NodeRecord { id: self.id, presence: self.presence, started_at: self.started_at, seen_at: self.seen_at })
    }
}

macro_rules! impl_cluster_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_store::{ClusterStore, NodeRecord, StoreResult};
            use $crate::cluster::{NodeRow, sql};
            use $crate::error::db_err;

            #[async_trait]
            impl ClusterStore for $store {
                async fn try_lease(&self, name: &str, holder: &str, now: Millis, until: Millis) -> StoreResult<bool> {
                    let done = sqlx::query(sql::TRY_LEASE)
                        .bind(name)
                        .bind(holder)
                        .bind(until)
                        .bind(now)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
                    sqlx::query(sql::RELEASE_LEASE)
                        .bind(name)
                        .bind(holder)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn lease_holder(&self, name: &str, now: Millis) -> StoreResult<Option<String>> {
                    sqlx::query_scalar(sql::LEASE_HOLDER)
                        .bind(name)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)
                }

                async fn put_node(&self, n: &NodeRecord) -> StoreResult<()> {
                    sqlx::query(sql::PUT_NODE)
                        .bind(&n.id)
                        .bind(&n.presence)
                        .bind(n.started_at)
                        .bind(n.seen_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn nodes(&self, since: Millis) -> StoreResult<Vec<NodeRecord>> {
                    let rows: Vec<NodeRow> =
                        sqlx::query_as(sql::NODES).bind(since).fetch_all(&self.pool).await.map_err(db_err)?;
                    rows.into_iter().map(NodeRow::into_record).collect()
                }

                async fn delete_node(&self, id: &str) -> StoreResult<()> {
                    sqlx::query(sql::DELETE_NODE).bind(id).execute(&self.pool).await.map_err(db_err)?;
                    Ok(())
                }
            }
        };
    };
}

pub(crate) use impl_cluster_store;
