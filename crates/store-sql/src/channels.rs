//! `ChannelStore` queries, written once for both dialects like
//! `queries.rs`, and the outbox rows `append_messages` adds.

use crate::codec;
use ostrog_domain::channel::ChannelSettings;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::{ChannelId, ConversationId, MessageId};
use ostrog_store::{ChannelRecord, Delivery, StoreError, StoreResult};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    pub(crate) const CREATE_CHANNEL: &str = "INSERT INTO channels (id, kind, name, settings, secrets, \
         secrets_changed_at, secrets_changed_by, poll_offset, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    pub(crate) const CHANNEL: &str = "SELECT id, name, settings, secrets, secrets_changed_at, secrets_changed_by, \
         poll_offset, created_at FROM channels WHERE id = $1 AND deleted_at IS NULL";
    pub(crate) const LIST_CHANNELS: &str = "SELECT id, name, settings, secrets, secrets_changed_at, \
         secrets_changed_by, poll_offset, created_at FROM channels WHERE deleted_at IS NULL ORDER BY created_at, id";
    pub(crate) const UPDATE_CHANNEL: &str = "UPDATE channels SET name = $2, settings = $3 \
         WHERE id = $1 AND kind = $4 AND deleted_at IS NULL";
    pub(crate) const SET_CHANNEL_SECRETS: &str = "UPDATE channels SET secrets = $2, secrets_changed_at = $3, \
         secrets_changed_by = $4 WHERE id = $1 AND deleted_at IS NULL";
    /// The secrets go with the channel: nothing can use them any more.
    pub(crate) const DELETE_CHANNEL: &str =
        "UPDATE channels SET deleted_at = $2, secrets = $3 WHERE id = $1 AND deleted_at IS NULL";
    /// The deleted channel's pending deliveries fail, in the same transaction.
    pub(crate) const FAIL_PENDING_OF_CHANNEL: &str = "UPDATE channel_outbox SET status = 'failed', last_error = $2, \
         done_at = $3 WHERE channel_id = $1 AND status = 'pending'";
    pub(crate) const SET_POLL_OFFSET: &str = "UPDATE channels SET poll_offset = $2 WHERE id = $1 AND poll_offset < $2";
    /// A conversation's oldest pending reply first, later ones wait for it.
    pub(crate) const DUE_DELIVERIES: &str = "SELECT message_id, conversation_id, seq, channel_id, status, attempts, \
         next_attempt_at, last_error, created_at, done_at FROM channel_outbox o \
         WHERE o.status = 'pending' AND o.next_attempt_at <= $1 AND NOT EXISTS ( SELECT 1 FROM channel_outbox p \
         WHERE p.conversation_id = o.conversation_id AND p.status = 'pending' AND p.seq < o.seq) \
         ORDER BY o.next_attempt_at, o.created_at LIMIT $2";
    pub(crate) const DELIVERIES_OF: &str = "SELECT message_id, conversation_id, seq, channel_id, status, attempts, \
         next_attempt_at, last_error, created_at, done_at FROM channel_outbox WHERE conversation_id = $1 \
         ORDER BY seq";
    pub(crate) const DELIVERY: &str = "SELECT message_id, conversation_id, seq, channel_id, status, attempts, \
         next_attempt_at, last_error, created_at, done_at FROM channel_outbox WHERE message_id = $1";
    pub(crate) const DEAD_LETTERS: &str = "SELECT message_id, conversation_id, seq, channel_id, status, attempts, \
         next_attempt_at, last_error, created_at, done_at FROM channel_outbox \
         WHERE channel_id = $1 AND status = 'failed' ORDER BY done_at DESC, message_id LIMIT $2";
    pub(crate) const RECORD_ATTEMPT: &str = "UPDATE channel_outbox SET status = $2, attempts = attempts + 1, \
         next_attempt_at = COALESCE($3, next_attempt_at), last_error = $4, done_at = $5 \
         WHERE message_id = $1 AND status = 'pending'";
    pub(crate) const REQUEUE_DELIVERY: &str = "UPDATE channel_outbox SET status = 'pending', next_attempt_at = $2, \
         done_at = NULL, created_at = $2, attempts = 0 \
         WHERE message_id = $1 AND status = 'failed' AND channel_id IN \
         (SELECT id FROM channels WHERE deleted_at IS NULL)";
}

#[derive(sqlx::FromRow)]
pub(crate) struct ChannelRow {
    id: String,
    name: String,
    settings: String,
    secrets: Vec<u8>,
    secrets_changed_at: Millis,
    secrets_changed_by: Option<String>,
    poll_offset: i64,
    created_at: Millis,
}

impl ChannelRow {
    pub(crate) fn into_record(self) -> StoreResult<ChannelRecord> {
        Ok(ChannelRecord {
            id: ChannelId(codec::uuid("channel id", &self.id)?),
            name: self.name,
            settings: codec::channel_settings(&self.settings)?,
            secrets: self.secrets,
            secrets_changed_at: self.secrets_changed_at,
            secrets_changed_by: self.secrets_changed_by.as_deref().map(codec::employee_id).transpose()?,
            poll_offset: self.poll_offset,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    message_id: String,
    conversation_id: String,
    seq: i64,
    channel_id: String,
    status: String,
    attempts: i64,
    next_attempt_at: Millis,
    last_error: Option<String>,
    created_at: Millis,
    done_at: Option<Millis>,
}

impl DeliveryRow {
    pub(crate) fn into_record(self) -> StoreResult<Delivery> {
        Ok(Delivery {
            message_id: MessageId(codec::uuid("message id", &self.message_id)?),
            conversation_id: ConversationId(codec::uuid("conversation id", &self.conversation_id)?),
            seq: self.seq,
            channel_id: ChannelId(codec::uuid("channel id", &self.channel_id)?),
            status: codec::delivery_status(&self.status)?,
            attempts: codec::count(self.attempts)?,
            next_attempt_at: self.next_attempt_at,
            last_error: self.last_error,
            created_at: self.created_at,
            done_at: self.done_at,
        })
    }
}

pub(crate) fn settings_json(s: &ChannelSettings) -> StoreResult<String> {
    serde_json::to_string(s).map_err(|e| StoreError::Corrupt(format!("channel settings: {e}")))
}

/// `NotFound` unless the statement changed exactly one row.
pub(crate) fn changed(rows: u64) -> StoreResult<()> {
    if rows == 1 { Ok(()) } else { Err(StoreError::NotFound) }
}

macro_rules! impl_channel_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::channel::{ChannelSettings, DeliveryStatus};
            use ostrog_domain::clock::Millis;
            use ostrog_domain::ids::{ChannelId, ConversationId, EmployeeId, MessageId};
            use ostrog_store::{Attempt, ChannelRecord, ChannelStore, Delivery, StoreResult};
            use $crate::channels::{ChannelRow, DeliveryRow, changed, settings_json, sql};
            use $crate::error::db_err;

            #[async_trait]
            impl ChannelStore for $store {
                async fn create_channel(&self, c: &ChannelRecord) -> StoreResult<()> {
                    sqlx::query(sql::CREATE_CHANNEL)
                        .bind(c.id.to_string())
                        .bind(c.settings.kind().name())
                        .bind(&c.name)
                        .bind(settings_json(&c.settings)?)
                        .bind(&c.secrets)
                        .bind(c.secrets_changed_at)
                        .bind(c.secrets_changed_by.map(|e| e.to_string()))
                        .bind(c.poll_offset)
                        .bind(c.created_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn channel(&self, id: ChannelId) -> StoreResult<Option<ChannelRecord>> {
                    let row: Option<ChannelRow> = sqlx::query_as(sql::CHANNEL)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(ChannelRow::into_record).transpose()
                }

                async fn list_channels(&self) -> StoreResult<Vec<ChannelRecord>> {
                    let rows: Vec<ChannelRow> =
                        sqlx::query_as(sql::LIST_CHANNELS).fetch_all(&self.pool).await.map_err(db_err)?;
                    rows.into_iter().map(ChannelRow::into_record).collect()
                }

                async fn update_channel(&self, id: ChannelId, name: &str, s: &ChannelSettings) -> StoreResult<()> {
                    let done = sqlx::query(sql::UPDATE_CHANNEL)
                        .bind(id.to_string())
                        .bind(name)
                        .bind(settings_json(s)?)
                        .bind(s.kind().name())
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    changed(done.rows_affected())
                }

                async fn set_channel_secrets(
                    &self,
                    id: ChannelId,
                    sealed: &[u8],
                    at: Millis,
                    by: Option<EmployeeId>,
                ) -> StoreResult<()> {
                    let done = sqlx::query(sql::SET_CHANNEL_SECRETS)
                        .bind(id.to_string())
                        .bind(sealed)
                        .bind(at)
                        .bind(by.map(|e| e.to_string()))
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    changed(done.rows_affected())
                }

                async fn delete_channel(&self, id: ChannelId, at: Millis, reason: &str) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let done = sqlx::query(sql::DELETE_CHANNEL)
                        .bind(id.to_string())
                        .bind(at)
                        .bind(Vec::<u8>::new())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    changed(done.rows_affected())?;
                    sqlx::query(sql::FAIL_PENDING_OF_CHANNEL)
                        .bind(id.to_string())
                        .bind(reason)
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    tx.commit().await.map_err(db_err)
                }

                async fn set_poll_offset(&self, id: ChannelId, offset: i64) -> StoreResult<()> {
                    sqlx::query(sql::SET_POLL_OFFSET)
                        .bind(id.to_string())
                        .bind(offset)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn due_deliveries(&self, now: Millis, limit: u32) -> StoreResult<Vec<Delivery>> {
                    let rows: Vec<DeliveryRow> = sqlx::query_as(sql::DUE_DELIVERIES)
                        .bind(now)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(DeliveryRow::into_record).collect()
                }

                async fn deliveries_of(&self, conversation: ConversationId) -> StoreResult<Vec<Delivery>> {
                    let rows: Vec<DeliveryRow> = sqlx::query_as(sql::DELIVERIES_OF)
                        .bind(conversation.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(DeliveryRow::into_record).collect()
                }

                async fn delivery(&self, message: MessageId) -> StoreResult<Option<Delivery>> {
                    let row: Option<DeliveryRow> = sqlx::query_as(sql::DELIVERY)
                        .bind(message.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(DeliveryRow::into_record).transpose()
                }

                async fn dead_letters(&self, channel: ChannelId, limit: u32) -> StoreResult<Vec<Delivery>> {
                    let rows: Vec<DeliveryRow> = sqlx::query_as(sql::DEAD_LETTERS)
                        .bind(channel.to_string())
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(DeliveryRow::into_record).collect()
                }

                async fn record_attempt(&self, message: MessageId, attempt: &Attempt) -> StoreResult<bool> {
                    let (status, next, error, done_at) = match attempt {
                        Attempt::Sent { at } => (DeliveryStatus::Sent, None, None, Some(*at)),
                        Attempt::Retry { next, error } => (DeliveryStatus::Pending, Some(*next), Some(error), None),
                        Attempt::Failed { at, error } => (DeliveryStatus::Failed, None, Some(error), Some(*at)),
                    };
                    let done = sqlx::query(sql::RECORD_ATTEMPT)
                        .bind(message.to_string())
                        .bind(status.name())
                        .bind(next)
                        .bind(error)
                        .bind(done_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn requeue_delivery(&self, message: MessageId, at: Millis) -> StoreResult<bool> {
                    let done = sqlx::query(sql::REQUEUE_DELIVERY)
                        .bind(message.to_string())
                        .bind(at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }
            }
        };
    };
}

pub(crate) use impl_channel_store;
