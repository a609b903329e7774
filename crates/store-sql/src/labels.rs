//! `LabelStore` queries, written once for both dialects like `queries.rs`.

use crate::codec;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::{ConversationId, LabelId};
use ostrog_domain::label::Colour;
use ostrog_store::{LabelRecord, StoreError, StoreResult};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    pub(crate) const CREATE: &str =
        "INSERT INTO labels (id, name, name_key, colour, created_at) VALUES ($1, $2, $3, $4, $5)";
    pub(crate) const LIST: &str =
        "SELECT id, name, colour, created_at FROM labels WHERE deleted_at IS NULL ORDER BY name_key, id";
    pub(crate) const UPDATE: &str =
        "UPDATE labels SET name = $2, name_key = $3, colour = $4 WHERE id = $1 AND deleted_at IS NULL";
    pub(crate) const DELETE: &str = "UPDATE labels SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL";
    pub(crate) const UNSET_EVERYWHERE: &str = "DELETE FROM conversation_labels WHERE label_id = $1";
    pub(crate) const CONVERSATION_EXISTS: &str = "SELECT COUNT(*) FROM conversations WHERE id = $1";
    pub(crate) const LIVE_AMONG: &str = "SELECT COUNT(*) FROM labels WHERE deleted_at IS NULL AND id IN (";
    pub(crate) const UNSET_ALL: &str = "DELETE FROM conversation_labels WHERE conversation_id = $1";
    pub(crate) const SET: &str = "INSERT INTO conversation_labels (conversation_id, label_id, set_at) ";
    pub(crate) const OF: &str = "SELECT conversation_id, label_id FROM conversation_labels WHERE conversation_id IN (";
    pub(crate) const COUNTS: &str = "SELECT l.label_id, COUNT(*) FROM conversation_labels l \
         JOIN conversations c ON c.id = l.conversation_id WHERE c.created_at >= $1 AND c.created_at < $2 \
         GROUP BY l.label_id";
}

#[derive(sqlx::FromRow)]
pub(crate) struct LabelRow {
    id: String,
    name: String,
    colour: String,
    created_at: Millis,
}

impl LabelRow {
    pub(crate) fn into_record(self) -> StoreResult<LabelRecord> {
        Ok(LabelRecord {
            id: label_id(&self.id)?,
            colour: Colour::parse(&self.colour)
                .ok_or_else(|| StoreError::Corrupt(format!("colour {}", self.colour)))?,
            name: self.name,
            created_at: self.created_at,
        })
    }
}

pub(crate) fn label_id(s: &str) -> StoreResult<LabelId> {
    Ok(LabelId(codec::uuid("label id", s)?))
}

pub(crate) fn pair(conversation: &str, label: &str) -> StoreResult<(ConversationId, LabelId)> {
    Ok((ConversationId(codec::uuid("conversation id", conversation)?), label_id(label)?))
}

macro_rules! impl_label_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_domain::ids::{ConversationId, LabelId};
            use ostrog_domain::label::name_key;
            use ostrog_store::{LabelRecord, LabelStore, StoreError, StoreResult};
            use sqlx::QueryBuilder;
            use $crate::error::{db_err, one_row};
            use $crate::labels::{LabelRow, label_id, pair, sql};

            #[async_trait]
            impl LabelStore for $store {
                async fn create_label(&self, l: &LabelRecord) -> StoreResult<()> {
                    sqlx::query(sql::CREATE)
                        .bind(l.id.to_string())
                        .bind(&l.name)
                        .bind(name_key(&l.name))
                        .bind(l.colour.name())
                        .bind(l.created_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn labels(&self) -> StoreResult<Vec<LabelRecord>> {
                    let rows: Vec<LabelRow> = sqlx::query_as(sql::LIST).fetch_all(&self.pool).await.map_err(db_err)?;
                    rows.into_iter().map(LabelRow::into_record).collect()
                }

                async fn update_label(&self, l: &LabelRecord) -> StoreResult<()> {
                    let done = sqlx::query(sql::UPDATE)
                        .bind(l.id.to_string())
                        .bind(&l.name)
                        .bind(name_key(&l.name))
                        .bind(l.colour.name())
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())
                }

                async fn delete_label(&self, id: LabelId, at: Millis) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let done = sqlx::query(sql::DELETE)
                        .bind(id.to_string())
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())?;
                    sqlx::query(sql::UNSET_EVERYWHERE).bind(id.to_string()).execute(&mut *tx).await.map_err(db_err)?;
                    tx.commit().await.map_err(db_err)
                }

                async fn set_conversation_labels(
                    &self,
                    id: ConversationId,
                    labels: &[LabelId],
                    at: Millis,
                ) -> StoreResult<()> {
                    let mut labels = labels.to_vec();
                    labels.sort();
                    labels.dedup();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let found: i64 = sqlx::query_scalar(sql::CONVERSATION_EXISTS)
                        .bind(id.to_string())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    if found != 1 {
                        return Err(StoreError::NotFound);
                    }
                    if !labels.is_empty() {
                        let mut q = QueryBuilder::<$db>::new(sql::LIVE_AMONG);
                        let mut list = q.separated(", ");
                        for l in &labels {
                            list.push_bind(l.to_string());
                        }
                        q.push(")");
                        let live: i64 = q.build_query_scalar().fetch_one(&mut *tx).await.map_err(db_err)?;
                        if live != labels.len() as i64 {
                            return Err(StoreError::NotFound);
                        }
                    }
                    sqlx::query(sql::UNSET_ALL).bind(id.to_string()).execute(&mut *tx).await.map_err(db_err)?;
                    if !labels.is_empty() {
                        let mut q = QueryBuilder::<$db>::new(sql::SET);
                        q.push_values(&labels, |mut b, l| {
                            b.push_bind(id.to_string()).push_bind(l.to_string()).push_bind(at);
                        });
                        q.build().execute(&mut *tx).await.map_err(db_err)?;
                    }
                    tx.commit().await.map_err(db_err)
                }

                async fn labels_of(
                    &self,
                    conversations: &[ConversationId],
                ) -> StoreResult<Vec<(ConversationId, LabelId)>> {
                    let mut found = Vec::new();
                    for chunk in conversations.chunks(500) {
                        let mut q = QueryBuilder::<$db>::new(sql::OF);
                        let mut list = q.separated(", ");
                        for c in chunk {
                            list.push_bind(c.to_string());
                        }
                        q.push(") ORDER BY conversation_id, label_id");
                        let rows: Vec<(String, String)> =
                            q.build_query_as().fetch_all(&self.pool).await.map_err(db_err)?;
                        for (c, l) in rows {
                            found.push(pair(&c, &l)?);
                        }
                    }
                    Ok(found)
                }

                async fn label_counts(&self, from: Millis, to: Millis) -> StoreResult<Vec<(LabelId, i64)>> {
                    let rows: Vec<(String, i64)> =
                        sqlx::query_as(sql::COUNTS).bind(from).bind(to).fetch_all(&self.pool).await.map_err(db_err)?;
                    rows.into_iter().map(|(l, n)| Ok((label_id(&l)?, n))).collect()
                }
            }
        };
    };
}

pub(crate) use impl_label_store;
