//! `ChannelStore` queries, written once for both dialects like
//! `queries.rs`, and the outbox rows `append_messages` adds.

macro_rules! impl_channel_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::channel::{ChannelSettings, DeliveryStatus};
            use ostrog_domain::clock::Millis;
            use ostrog_domain::ids::{ChannelId, ConversationId, EmployeeId, MessageId};
            use ostrog_store::{Attempt, ChannelRecord, ChannelStore, Delivery, StoreError, StoreResult};
            use sqlx::Row;
            use $crate::codec;
            use $crate::error::db_err;

            type DbRow = <$db as sqlx::Database>::Row;

            const CHANNEL_COLUMNS: &str =
                "id, name, settings, secrets, secrets_changed_at, secrets_changed_by, poll_offset, created_at";
            const DELIVERY_COLUMNS: &str = "message_id, conversation_id, seq, channel_id, status, attempts, \
                 next_attempt_at, last_error, created_at, done_at";

            fn text(row: &DbRow, column: &str) -> StoreResult<String> {
                row.try_get::<String, _>(column).map_err(db_err)
            }

            fn channel_of(row: &DbRow) -> StoreResult<ChannelRecord> {
                let by: Option<String> = row.try_get("secrets_changed_by").map_err(db_err)?;
                Ok(ChannelRecord {
                    id: ChannelId(codec::uuid("channel id", &text(row, "id")?)?),
                    name: text(row, "name")?,
                    settings: codec::channel_settings(&text(row, "settings")?)?,
                    secrets: row.try_get("secrets").map_err(db_err)?,
                    secrets_changed_at: row.try_get("secrets_changed_at").map_err(db_err)?,
                    secrets_changed_by: by.as_deref().map(codec::employee_id).transpose()?,
                    poll_offset: row.try_get("poll_offset").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                })
            }

            fn delivery_of(row: &DbRow) -> StoreResult<Delivery> {
                Ok(Delivery {
                    message_id: MessageId(codec::uuid("message id", &text(row, "message_id")?)?),
                    conversation_id: ConversationId(codec::uuid("conversation id", &text(row, "conversation_id")?)?),
                    seq: row.try_get("seq").map_err(db_err)?,
                    channel_id: ChannelId(codec::uuid("channel id", &text(row, "channel_id")?)?),
                    status: codec::delivery_status(&text(row, "status")?)?,
                    attempts: codec::count(row.try_get("attempts").map_err(db_err)?)?,
                    next_attempt_at: row.try_get("next_attempt_at").map_err(db_err)?,
                    last_error: row.try_get("last_error").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                    done_at: row.try_get("done_at").map_err(db_err)?,
                })
            }

            fn settings_json(s: &ChannelSettings) -> StoreResult<String> {
                serde_json::to_string(s).map_err(|e| StoreError::Corrupt(format!("channel settings: {e}")))
            }

            fn changed(rows: u64) -> StoreResult<()> {
                if rows == 1 { Ok(()) } else { Err(StoreError::NotFound) }
            }

            #[async_trait]
            impl ChannelStore for $store {
                async fn create_channel(&self, c: &ChannelRecord) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO channels (id, kind, name, settings, secrets, secrets_changed_at, \
                         secrets_changed_by, poll_offset, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
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
                    let row = sqlx::query(&format!(
                        "SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1 AND deleted_at IS NULL"
                    ))
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(channel_of).transpose()
                }

                async fn list_channels(&self) -> StoreResult<Vec<ChannelRecord>> {
                    let rows = sqlx::query(&format!(
                        "SELECT {CHANNEL_COLUMNS} FROM channels WHERE deleted_at IS NULL ORDER BY created_at, id"
                    ))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(channel_of).collect()
                }

                async fn update_channel(&self, id: ChannelId, name: &str, s: &ChannelSettings) -> StoreResult<()> {
                    let done = sqlx::query(
                        "UPDATE channels SET name = $2, settings = $3 \
                         WHERE id = $1 AND kind = $4 AND deleted_at IS NULL",
                    )
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
                    let done = sqlx::query(
                        "UPDATE channels SET secrets = $2, secrets_changed_at = $3, secrets_changed_by = $4 \
                         WHERE id = $1 AND deleted_at IS NULL",
                    )
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
                    // The secrets go with the channel: nothing can use them any more.
                    let done = sqlx::query(
                        "UPDATE channels SET deleted_at = $2, secrets = $3 WHERE id = $1 AND deleted_at IS NULL",
                    )
                    .bind(id.to_string())
                    .bind(at)
                    .bind(Vec::<u8>::new())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    changed(done.rows_affected())?;
                    sqlx::query(
                        "UPDATE channel_outbox SET status = 'failed', last_error = $2, done_at = $3 \
                         WHERE channel_id = $1 AND status = 'pending'",
                    )
                    .bind(id.to_string())
                    .bind(reason)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    tx.commit().await.map_err(db_err)
                }

                async fn set_poll_offset(&self, id: ChannelId, offset: i64) -> StoreResult<()> {
                    sqlx::query("UPDATE channels SET poll_offset = $2 WHERE id = $1 AND poll_offset < $2")
                        .bind(id.to_string())
                        .bind(offset)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn due_deliveries(&self, now: Millis, limit: u32) -> StoreResult<Vec<Delivery>> {
                    let rows = sqlx::query(&format!(
                        "SELECT {DELIVERY_COLUMNS} FROM channel_outbox o \
                         WHERE o.status = 'pending' AND o.next_attempt_at <= $1 AND NOT EXISTS ( \
                           SELECT 1 FROM channel_outbox p WHERE p.conversation_id = o.conversation_id \
                           AND p.status = 'pending' AND p.seq < o.seq) \
                         ORDER BY o.next_attempt_at, o.created_at LIMIT $2"
                    ))
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(delivery_of).collect()
                }

                async fn deliveries_of(&self, conversation: ConversationId) -> StoreResult<Vec<Delivery>> {
                    let rows = sqlx::query(&format!(
                        "SELECT {DELIVERY_COLUMNS} FROM channel_outbox WHERE conversation_id = $1 ORDER BY seq"
                    ))
                    .bind(conversation.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(delivery_of).collect()
                }

                async fn delivery(&self, message: MessageId) -> StoreResult<Option<Delivery>> {
                    let row = sqlx::query(&format!(
                        "SELECT {DELIVERY_COLUMNS} FROM channel_outbox WHERE message_id = $1"
                    ))
                    .bind(message.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(delivery_of).transpose()
                }

                async fn dead_letters(&self, channel: ChannelId, limit: u32) -> StoreResult<Vec<Delivery>> {
                    let rows = sqlx::query(&format!(
                        "SELECT {DELIVERY_COLUMNS} FROM channel_outbox WHERE channel_id = $1 AND status = 'failed' \
                         ORDER BY done_at DESC, message_id LIMIT $2"
                    ))
                    .bind(channel.to_string())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(delivery_of).collect()
                }

                async fn record_attempt(&self, message: MessageId, attempt: &Attempt) -> StoreResult<bool> {
                    let (status, next, error, done_at) = match attempt {
                        Attempt::Sent { at } => (DeliveryStatus::Sent, None, None, Some(*at)),
                        Attempt::Retry { next, error } => (DeliveryStatus::Pending, Some(*next), Some(error), None),
                        Attempt::Failed { at, error } => (DeliveryStatus::Failed, None, Some(error), Some(*at)),
                    };
                    let done = sqlx::query(
                        "UPDATE channel_outbox SET status = $2, attempts = attempts + 1, \
                         next_attempt_at = COALESCE($3, next_attempt_at), last_error = $4, done_at = $5 \
                         WHERE message_id = $1 AND status = 'pending'",
                    )
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
                    let done = sqlx::query(
                        "UPDATE channel_outbox SET status = 'pending', next_attempt_at = $2, done_at = NULL, \
                         created_at = $2, attempts = 0 \
                         WHERE message_id = $1 AND status = 'failed' AND channel_id IN \
                         (SELECT id FROM channels WHERE deleted_at IS NULL)",
                    )
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
