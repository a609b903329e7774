//! `ClusterStore` queries, written once for both dialects like `queries.rs`.

macro_rules! impl_cluster_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_store::{ClusterStore, NodeRecord, StoreResult};
            use sqlx::Row;
            use $crate::error::db_err;

            #[async_trait]
            impl ClusterStore for $store {
                async fn try_lease(&self, name: &str, holder: &str, now: Millis, until: Millis) -> StoreResult<bool> {
                    // One statement: the row lock of the upsert decides races.
                    let done = sqlx::query(
                        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                         WHERE leases.holder = excluded.holder OR leases.expires_at < $4",
                    )
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
                    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                        .bind(name)
                        .bind(holder)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn lease_holder(&self, name: &str, now: Millis) -> StoreResult<Option<String>> {
                    let row = sqlx::query("SELECT holder FROM leases WHERE name = $1 AND expires_at >= $2")
                        .bind(name)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(|r| r.try_get::<String, _>("holder").map_err(db_err)).transpose()
                }

                async fn put_node(&self, n: &NodeRecord) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO nodes (id, presence, started_at, seen_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (id) DO UPDATE SET presence = excluded.presence, seen_at = excluded.seen_at",
                    )
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
                    let rows = sqlx::query(
                        "SELECT id, presence, started_at, seen_at FROM nodes WHERE seen_at >= $1 ORDER BY id",
                    )
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter()
                        .map(|r| {
                            Ok(NodeRecord {
                                id: r.try_get("id").map_err(db_err)?,
                                presence: r.try_get("presence").map_err(db_err)?,
                                started_at: r.try_get("started_at").map_err(db_err)?,
                                seen_at: r.try_get("seen_at").map_err(db_err)?,
                            })
                        })
                        .collect()
                }

                async fn delete_node(&self, id: &str) -> StoreResult<()> {
                    sqlx::query("DELETE FROM nodes WHERE id = $1")
                        .bind(id)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }
            }
        };
    };
}

pub(crate) use impl_cluster_store;
