//! `RoutingStore` queries: operators' chat limits and current loads.

use crate::codec;
use ostrog_domain::clock::Millis;
use ostrog_store::{Load, StoreResult};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    pub(crate) const SET_CHAT_LIMIT: &str =
        "UPDATE employees SET chat_limit = $2 WHERE id = $1 AND status <> 'deleted'";
    pub(crate) const CHAT_LIMIT: &str = "SELECT chat_limit FROM employees WHERE id = $1";
    /// Followed by `$1, $2, …` for the operators, and `)`.
    pub(crate) const LOADS: &str = "SELECT e.id, e.chat_limit, \
         (SELECT COUNT(*) FROM conversations c WHERE c.operator_id = e.id \
          AND c.state = 'assigned') AS active, \
         (SELECT COALESCE(MAX(c.updated_at), 0) FROM conversations c \
          WHERE c.operator_id = e.id) AS last_at \
         FROM employees e WHERE e.id IN (";
}

#[derive(sqlx::FromRow)]
pub(crate) struct LoadRow {
    id: String,
    chat_limit: i64,
    active: i64,
    last_at: Millis,
}

impl LoadRow {
    pub(crate) fn into_record(self) -> StoreResult<Load> {
        Ok(Load {
            operator: codec::employee_id(&self.id)?,
            active: codec::count(self.active)?,
            limit: codec::count(self.chat_limit)?,
            last_assigned_at: self.last_at,
        })
    }
}

macro_rules! impl_routing_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::ids::EmployeeId;
            use ostrog_store::{Load, RoutingStore, StoreError, StoreResult};
            use sqlx::QueryBuilder;
            use $crate::codec;
            use $crate::conversations::CHUNK;
            use $crate::error::db_err;
            use $crate::routing::{LoadRow, sql};

            #[async_trait]
            impl RoutingStore for $store {
                async fn set_chat_limit(&self, id: EmployeeId, limit: u32) -> StoreResult<()> {
                    let done = sqlx::query(sql::SET_CHAT_LIMIT)
                        .bind(id.to_string())
                        .bind(i64::from(limit))
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
                }

                async fn chat_limit(&self, id: EmployeeId) -> StoreResult<u32> {
                    let limit: i64 = sqlx::query_scalar(sql::CHAT_LIMIT)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound)?;
                    codec::count(limit)
                }

                async fn loads(&self, operators: &[EmployeeId]) -> StoreResult<Vec<Load>> {
                    let mut loads = Vec::with_capacity(operators.len());
                    for chunk in operators.chunks(CHUNK) {
                        let mut q = QueryBuilder::<$db>::new(sql::LOADS);
                        let mut list = q.separated(", ");
                        for id in chunk {
                            list.push_bind(id.to_string());
                        }
                        list.push_unseparated(")");
                        for row in q.build_query_as::<LoadRow>().fetch_all(&self.pool).await.map_err(db_err)? {
                            loads.push(row.into_record()?);
                        }
                    }
                    Ok(loads)
                }
            }
        };
    };
}

pub(crate) use impl_routing_store;
