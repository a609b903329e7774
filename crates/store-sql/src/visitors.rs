//! `VisitorStore` queries, written once for both dialects like
//! `queries.rs`, and erasure: a visitor's contact, conversation, messages,
//! terms, files and outbox rows go in one transaction, the visitor row stays as a
//! tombstone.

use crate::codec;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::{ChannelId, VisitorId, WidgetId};
use ostrog_store::{External, Source, StoreError, StoreResult, VisitorRecord};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    pub(crate) const CREATE_VISITOR: &str = "INSERT INTO visitors (id, widget_id, channel_id, external_index, \
         external_sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
    pub(crate) const ADD_VISITOR_TOKEN: &str =
        "INSERT INTO visitor_tokens (token_hash, visitor_id, created_at) VALUES ($1, $2, $3)";
    pub(crate) const VISITOR_BY_TOKEN: &str = "SELECT v.id, v.widget_id, v.channel_id, v.external_index, v.external_sealed, v.created_at \
         FROM visitor_tokens t JOIN visitors v ON v.id = t.visitor_id \
         WHERE t.token_hash = $1 AND v.widget_id = $2";
    pub(crate) const VISITOR_BY_WIDGET_INDEX: &str = "SELECT id, widget_id, channel_id, external_index, \
         external_sealed, created_at FROM visitors WHERE widget_id = $1 AND external_index = $2";
    pub(crate) const VISITOR_BY_CHANNEL_INDEX: &str = "SELECT id, widget_id, channel_id, external_index, \
         external_sealed, created_at FROM visitors WHERE channel_id = $1 AND external_index = $2";
    pub(crate) const VISITOR: &str = "SELECT id, widget_id, channel_id, external_index, external_sealed, created_at \
         FROM visitors WHERE id = $1 AND erased_at IS NULL";
    pub(crate) const ERASE_VISITOR: &str = "UPDATE visitors SET external_id = NULL, external_index = NULL, external_sealed = NULL, \
         erased_at = $2 WHERE id = $1 AND erased_at IS NULL";
    pub(crate) const DELETE_VISITOR_TOKENS: &str = "DELETE FROM visitor_tokens WHERE visitor_id = $1";
    pub(crate) const CONVERSATION_ID_OF_VISITOR: &str = "SELECT id FROM conversations WHERE visitor_id = $1";
    pub(crate) const DELETE_CONSENTS: &str = "DELETE FROM consents WHERE visitor_id = $1";
    pub(crate) const FILE_IDS_OF_CONVERSATION: &str = "SELECT id FROM files WHERE conversation_id = $1";
    /// What an erased visitor's conversation leaves besides its messages.
    pub(crate) const DELETE_CONVERSATION_ROWS: [&str; 5] = [
        "DELETE FROM assignments WHERE conversation_id = $1",
        "DELETE FROM conversation_labels WHERE conversation_id = $1",
        "DELETE FROM files WHERE conversation_id = $1",
        "DELETE FROM message_terms WHERE conversation_id = $1",
        "DELETE FROM channel_outbox WHERE conversation_id = $1",
    ];
    pub(crate) const DELETE_MESSAGES: &str = "DELETE FROM messages WHERE conversation_id = $1";
    pub(crate) const DELETE_CONVERSATION: &str = "DELETE FROM conversations WHERE id = $1";
}

fn source_of(widget_id: Option<&str>, channel_id: Option<&str>) -> StoreResult<Source> {
    match (widget_id, channel_id) {
        (Some(w), None) => Ok(Source::Widget(WidgetId(codec::uuid("widget id", w)?))),
        (None, Some(c)) => Ok(Source::Channel(ChannelId(codec::uuid("channel id", c)?))),
        _ => Err(StoreError::Corrupt("a visitor of neither a widget nor a channel".into())),
    }
}

/// The (widget_id, channel_id) columns of a source.
pub(crate) fn source_columns(s: Source) -> (Option<String>, Option<String>) {
    match s {
        Source::Widget(w) => (Some(w.to_string()), None),
        Source::Channel(c) => (None, Some(c.to_string())),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct VisitorRow {
    id: String,
    widget_id: Option<String>,
    channel_id: Option<String>,
    external_index: Option<String>,
    external_sealed: Option<Vec<u8>>,
    created_at: Millis,
}

impl VisitorRow {
    pub(crate) fn into_record(self) -> StoreResult<VisitorRecord> {
        Ok(VisitorRecord {
            id: VisitorId(codec::uuid("visitor id", &self.id)?),
            source: source_of(self.widget_id.as_deref(), self.channel_id.as_deref())?,
            external: self.external_index.zip(self.external_sealed).map(|(index, sealed)| External { index, sealed }),
            created_at: self.created_at,
        })
    }
}

macro_rules! impl_visitor_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_domain::ids::{ConversationId, FileId, VisitorId, WidgetId};
            use ostrog_store::{Erased, Source, StoreError, StoreResult, VisitorRecord, VisitorStore};
            use $crate::codec;
            use $crate::contacts::sql as contacts;
            use $crate::error::db_err;
            use $crate::visitors::{VisitorRow, source_columns, sql};

            #[async_trait]
            impl VisitorStore for $store {
                async fn create_visitor(&self, v: &VisitorRecord, token_hash: Option<&str>) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let (widget, channel) = source_columns(v.source);
                    sqlx::query(sql::CREATE_VISITOR)
                        .bind(v.id.to_string())
                        .bind(widget)
                        .bind(channel)
                        .bind(v.external.as_ref().map(|e| e.index.clone()))
                        .bind(v.external.as_ref().map(|e| e.sealed.clone()))
                        .bind(v.created_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    // Every visitor has its contact, numbered in order of arrival.
                    let number: i64 =
                        sqlx::query_scalar(contacts::NEXT_NUMBER).fetch_one(&mut *tx).await.map_err(db_err)?;
                    sqlx::query(contacts::CREATE_CONTACT)
                        .bind(v.id.to_string())
                        .bind(number)
                        .bind(v.created_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    if let Some(token_hash) = token_hash {
                        sqlx::query(sql::ADD_VISITOR_TOKEN)
                            .bind(token_hash)
                            .bind(v.id.to_string())
                            .bind(v.created_at)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    }
                    tx.commit().await.map_err(db_err)
                }

                async fn add_visitor_token(&self, visitor: VisitorId, token_hash: &str, at: Millis) -> StoreResult<()> {
                    sqlx::query(sql::ADD_VISITOR_TOKEN)
                        .bind(token_hash)
                        .bind(visitor.to_string())
                        .bind(at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn visitor_by_token(
                    &self,
                    widget: WidgetId,
                    token_hash: &str,
                ) -> StoreResult<Option<VisitorRecord>> {
                    let row: Option<VisitorRow> = sqlx::query_as(sql::VISITOR_BY_TOKEN)
                        .bind(token_hash)
                        .bind(widget.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(VisitorRow::into_record).transpose()
                }

                async fn visitor_by_external_index(
                    &self,
                    source: Source,
                    index: &str,
                ) -> StoreResult<Option<VisitorRecord>> {
                    let statement = match source {
                        Source::Widget(_) => sql::VISITOR_BY_WIDGET_INDEX,
                        Source::Channel(_) => sql::VISITOR_BY_CHANNEL_INDEX,
                    };
                    let (widget, channel) = source_columns(source);
                    let row: Option<VisitorRow> = sqlx::query_as(statement)
                        .bind(widget.or(channel))
                        .bind(index)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(VisitorRow::into_record).transpose()
                }

                async fn visitor(&self, id: VisitorId) -> StoreResult<Option<VisitorRecord>> {
                    let row: Option<VisitorRow> = sqlx::query_as(sql::VISITOR)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(VisitorRow::into_record).transpose()
                }

                async fn erase_visitor(&self, id: VisitorId, at: Millis) -> StoreResult<Erased> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let visitor = id.to_string();
                    let done = sqlx::query(sql::ERASE_VISITOR)
                        .bind(&visitor)
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() != 1 {
                        return Err(StoreError::NotFound);
                    }
                    sqlx::query(sql::DELETE_VISITOR_TOKENS).bind(&visitor).execute(&mut *tx).await.map_err(db_err)?;
                    let conversation: Option<String> = sqlx::query_scalar(sql::CONVERSATION_ID_OF_VISITOR)
                        .bind(&visitor)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    sqlx::query(sql::DELETE_CONSENTS).bind(&visitor).execute(&mut *tx).await.map_err(db_err)?;
                    for statement in contacts::ERASE_CONTACT {
                        sqlx::query(statement).bind(&visitor).execute(&mut *tx).await.map_err(db_err)?;
                    }
                    let mut erased = Erased::default();
                    if let Some(cid) = conversation {
                        let files: Vec<String> = sqlx::query_scalar(sql::FILE_IDS_OF_CONVERSATION)
                            .bind(&cid)
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        for file in files {
                            erased.files.push(FileId(codec::uuid("file id", &file)?));
                        }
                        for statement in sql::DELETE_CONVERSATION_ROWS {
                            sqlx::query(statement).bind(&cid).execute(&mut *tx).await.map_err(db_err)?;
                        }
                        erased.messages = sqlx::query(sql::DELETE_MESSAGES)
                            .bind(&cid)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?
                            .rows_affected();
                        sqlx::query(sql::DELETE_CONVERSATION).bind(&cid).execute(&mut *tx).await.map_err(db_err)?;
                        erased.conversation = Some(ConversationId(codec::uuid("conversation id", &cid)?));
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(erased)
                }
            }
        };
    };
}

pub(crate) use impl_visitor_store;
