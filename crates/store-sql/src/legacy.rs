//! `LegacySealStore` queries: finding what an installation from before
//! bodies and user ids were sealed still holds in the clear, and replacing
//! it by its sealed form.

use crate::visitors::VisitorRow;
use ostrog_store::{StoreResult, VisitorRecord};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    pub(crate) const LEGACY_MESSAGES: &str = "SELECT c.channel, c.visitor_id, m.conversation_id, m.seq, m.id, \
         m.client_key, m.author_kind, m.author_id, m.kind, m.body, m.sealed, m.at FROM messages m \
         JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.sealed IS NULL AND (m.conversation_id > $1 OR (m.conversation_id = $1 AND m.seq > $2)) \
         ORDER BY m.conversation_id, m.seq LIMIT $3";
    pub(crate) const RESEAL_MESSAGE: &str = "UPDATE messages SET sealed = $3, body = '' \
         WHERE conversation_id = $1 AND seq = $2 AND sealed IS NULL";
    pub(crate) const LEGACY_VISITORS: &str = "SELECT id, widget_id, channel_id, external_index, external_sealed, \
         created_at, external_id FROM visitors \
         WHERE external_id IS NOT NULL AND external_index IS NULL AND erased_at IS NULL ORDER BY id LIMIT $1";
    pub(crate) const RESEAL_VISITOR: &str = "UPDATE visitors SET external_index = $2, external_sealed = $3, external_id = NULL \
         WHERE id = $1 AND external_index IS NULL";
}

/// A visitor whose external id is still in the clear.
#[derive(sqlx::FromRow)]
pub(crate) struct LegacyVisitorRow {
    #[sqlx(flatten)]
    visitor: VisitorRow,
    external_id: String,
}

impl LegacyVisitorRow {
    pub(crate) fn into_record(self) -> StoreResult<(VisitorRecord, String)> {
        Ok((self.visitor.into_record()?, self.external_id))
    }
}

macro_rules! impl_legacy_seal_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::ids::{ConversationId, VisitorId};
            use ostrog_store::{
                ChannelMessage, Content, External, LegacySealStore, SealedBody, StoreResult, StoredMessage,
                VisitorRecord,
            };
            use $crate::conversations::ChannelMessageRow;
            use $crate::error::db_err;
            use $crate::legacy::{LegacyVisitorRow, sql};

            #[async_trait]
            impl LegacySealStore for $store {
                async fn legacy_messages(
                    &self,
                    after: Option<(ConversationId, i64)>,
                    limit: u32,
                ) -> StoreResult<Vec<ChannelMessage<SealedBody>>> {
                    let (conversation, seq) = after.map(|(c, s)| (c.to_string(), s)).unwrap_or_default();
                    let rows: Vec<ChannelMessageRow> = sqlx::query_as(sql::LEGACY_MESSAGES)
                        .bind(conversation)
                        .bind(seq)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(ChannelMessageRow::into_record).collect()
                }

                async fn reseal_messages(&self, sealed: &[StoredMessage]) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    for m in sealed {
                        let Content::Sealed(bytes) = &m.body.content else { continue };
                        sqlx::query(sql::RESEAL_MESSAGE)
                            .bind(m.conversation_id.to_string())
                            .bind(m.seq)
                            .bind(bytes)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    }
                    tx.commit().await.map_err(db_err)
                }

                async fn legacy_visitors(&self, limit: u32) -> StoreResult<Vec<(VisitorRecord, String)>> {
                    let rows: Vec<LegacyVisitorRow> = sqlx::query_as(sql::LEGACY_VISITORS)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(LegacyVisitorRow::into_record).collect()
                }

                async fn reseal_visitor(&self, id: VisitorId, external: &External) -> StoreResult<()> {
                    sqlx::query(sql::RESEAL_VISITOR)
                        .bind(id.to_string())
                        .bind(&external.index)
                        .bind(&external.sealed)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }
            }
        };
    };
}

pub(crate) use impl_legacy_seal_store;
