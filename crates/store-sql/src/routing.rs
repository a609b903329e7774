//! `RoutingStore` queries: operators' chat limits and current loads, and
//! the assignments not attended to yet.

use crate::codec;
use ostrog_domain::clock::Millis;
use ostrog_store::{Load, StoreResult, Unattended};

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
    pub(crate) const NOTE_ASSIGNED: &str = "INSERT INTO assignments (conversation_id, operator_id, assigned_at) \
         VALUES ($1, $2, $3) ON CONFLICT (conversation_id) DO UPDATE \
         SET operator_id = excluded.operator_id, assigned_at = excluded.assigned_at, attended_at = NULL";
    pub(crate) const NOTE_ATTENDED: &str = "UPDATE assignments SET attended_at = $3 \
         WHERE conversation_id = $1 AND operator_id = $2 AND attended_at IS NULL";
    pub(crate) const UNATTENDED: &str = "SELECT conversation_id, operator_id, assigned_at FROM assignments \
         WHERE attended_at IS NULL AND assigned_at <= $1 ORDER BY assigned_at, conversation_id LIMIT $2";
    pub(crate) const FORGET: &str = "DELETE FROM assignments \
         WHERE conversation_id = $1 AND operator_id = $2 AND assigned_at = $3";
}

#[derive(sqlx::FromRow)]
pub(crate) struct UnattendedRow {
    conversation_id: String,
    operator_id: String,
    assigned_at: Millis,
}

impl UnattendedRow {
    pub(crate) fn into_record(self) -> StoreResult<Unattended> {
        Ok(Unattended {
            conversation: ostrog_domain::ids::ConversationId(codec::uuid("conversation id", &self.conversation_id)?),
            operator: codec::employee_id(&self.operator_id)?,
            assigned_at: self.assigned_at,
        })
    }
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
            use ostrog_domain::clock::Millis;
            use ostrog_domain::ids::{ConversationId, EmployeeId};
            use ostrog_store::{Load, RoutingStore, StoreError, StoreResult, Unattended};
            use sqlx::QueryBuilder;
            use $crate::codec;
            use $crate::conversations::CHUNK;
            use $crate::error::db_err;
            use $crate::routing::{LoadRow, UnattendedRow, sql};

            impl $store {
                /// Runs one of the assignment statements, which all bind a
                /// conversation, its operator and a time.
                async fn note(
                    &self,
                    statement: &str,
                    id: ConversationId,
                    operator: EmployeeId,
                    at: Millis,
                ) -> StoreResult<()> {
                    sqlx::query(statement)
                        .bind(id.to_string())
                        .bind(operator.to_string())
                        .bind(at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }
            }

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

                async fn note_assigned(&self, id: ConversationId, operator: EmployeeId, at: Millis) -> StoreResult<()> {
                    self.note(sql::NOTE_ASSIGNED, id, operator, at).await
                }

                async fn note_attended(&self, id: ConversationId, operator: EmployeeId, at: Millis) -> StoreResult<()> {
                    self.note(sql::NOTE_ATTENDED, id, operator, at).await
                }

                async fn unattended(&self, before: Millis, limit: u32) -> StoreResult<Vec<Unattended>> {
                    let rows: Vec<UnattendedRow> = sqlx::query_as(sql::UNATTENDED)
                        .bind(before)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(UnattendedRow::into_record).collect()
                }

                async fn forget_assignment(&self, u: &Unattended) -> StoreResult<()> {
                    self.note(sql::FORGET, u.conversation, u.operator, u.assigned_at).await
                }
            }
        };
    };
}

pub(crate) use impl_routing_store;
