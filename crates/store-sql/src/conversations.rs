//! `ConversationStore` queries, written once for both dialects like
//! `queries.rs`. Messages are written in batches: one transaction, one
//! sequence update per conversation and one multi-row INSERT for many
//! messages, so that a busy server makes one commit (one fsync) for
//! hundreds of messages instead of one each.

/// Rows per multi-row statement: well under SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
pub(crate) const CHUNK: usize = 500;

macro_rules! impl_conversation_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_domain::conversation::State;
            use ostrog_domain::ids::{ChannelId, ConversationId, EmployeeId, FileId, MessageId, VisitorId, WidgetId};
            use ostrog_domain::widget::WidgetSettings;
            use ostrog_store::{
                Appended, Change, ChannelMessage, Content, ConversationFilter, ConversationRecord, ConversationStore,
                Erased, External, FileRecord, FileStore, Load, NewStoredMessage, SealedBody, Source, StoreError,
                StoreResult, StoredMessage, Term, VisitorRecord, WidgetRecord,
            };
            use sqlx::{QueryBuilder, Row};
            use std::collections::HashMap;
            use $crate::codec;
            use $crate::conversations::CHUNK;
            use $crate::error::db_err;

            type DbRow = <$db as sqlx::Database>::Row;

            const MESSAGE_COLUMNS: &str =
                "conversation_id, seq, id, client_key, author_kind, author_id, kind, body, sealed, at";
            /// Messages with their conversation's channel and visitor.
            const CHANNEL_MESSAGES: &str =
                "SELECT c.channel, c.visitor_id, m.conversation_id, m.seq, m.id, m.client_key, m.author_kind, \
                 m.author_id, m.kind, m.body, m.sealed, m.at \
                 FROM messages m JOIN conversations c ON c.id = m.conversation_id";
            const VISITOR_COLUMNS: &str = "id, widget_id, channel_id, external_index, external_sealed, created_at";
            const CONVERSATION_COLUMNS: &str =
                "id, visitor_id, channel, state, operator_id, last_seq, created_at, updated_at";

            fn text(row: &DbRow, column: &str) -> StoreResult<String> {
                row.try_get::<String, _>(column).map_err(db_err)
            }

            fn optional(row: &DbRow, column: &str) -> StoreResult<Option<String>> {
                row.try_get::<Option<String>, _>(column).map_err(db_err)
            }

            fn widget_of(row: &DbRow) -> StoreResult<WidgetRecord> {
                Ok(WidgetRecord {
                    id: WidgetId(codec::uuid("widget id", &text(row, "id")?)?),
                    settings: codec::widget_settings(&text(row, "settings")?)?,
                    secret: row.try_get("secret").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                })
            }

            fn visitor_of(row: &DbRow) -> StoreResult<VisitorRecord> {
                let index = optional(row, "external_index")?;
                let sealed: Option<Vec<u8>> = row.try_get("external_sealed").map_err(db_err)?;
                Ok(VisitorRecord {
                    id: VisitorId(codec::uuid("visitor id", &text(row, "id")?)?),
                    source: source_of(row)?,
                    external: index.zip(sealed).map(|(index, sealed)| External { index, sealed }),
                    created_at: row.try_get("created_at").map_err(db_err)?,
                })
            }

            fn source_of(row: &DbRow) -> StoreResult<Source> {
                match (optional(row, "widget_id")?, optional(row, "channel_id")?) {
                    (Some(w), None) => Ok(Source::Widget(WidgetId(codec::uuid("widget id", &w)?))),
                    (None, Some(c)) => Ok(Source::Channel(ChannelId(codec::uuid("channel id", &c)?))),
                    _ => Err(StoreError::Corrupt("a visitor of neither a widget nor a channel".into())),
                }
            }

            /// The (widget_id, channel_id) columns of a source.
            fn source_columns(s: Source) -> (Option<String>, Option<String>) {
                match s {
                    Source::Widget(w) => (Some(w.to_string()), None),
                    Source::Channel(c) => (None, Some(c.to_string())),
                }
            }

            fn conversation_of(row: &DbRow) -> StoreResult<ConversationRecord> {
                let operator = optional(row, "operator_id")?;
                Ok(ConversationRecord {
                    id: ConversationId(codec::uuid("conversation id", &text(row, "id")?)?),
                    visitor_id: VisitorId(codec::uuid("visitor id", &text(row, "visitor_id")?)?),
                    channel: text(row, "channel")?,
                    state: codec::state(&text(row, "state")?, operator.as_deref())?,
                    operator: operator.as_deref().map(codec::employee_id).transpose()?,
                    last_seq: row.try_get("last_seq").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                    updated_at: row.try_get("updated_at").map_err(db_err)?,
                })
            }

            fn message_of(row: &DbRow) -> StoreResult<StoredMessage> {
                let sealed: Option<Vec<u8>> = row.try_get("sealed").map_err(db_err)?;
                let content = match sealed {
                    Some(bytes) => Content::Sealed(bytes),
                    None => Content::Legacy(text(row, "body")?),
                };
                Ok(StoredMessage {
                    id: MessageId(codec::uuid("message id", &text(row, "id")?)?),
                    conversation_id: ConversationId(codec::uuid("conversation id", &text(row, "conversation_id")?)?),
                    seq: row.try_get("seq").map_err(db_err)?,
                    client_key: optional(row, "client_key")?,
                    author: codec::author(&text(row, "author_kind")?, optional(row, "author_id")?.as_deref())?,
                    body: SealedBody { kind: text(row, "kind")?, content },
                    at: row.try_get("at").map_err(db_err)?,
                })
            }

            fn channel_message_of(row: &DbRow) -> StoreResult<ChannelMessage<SealedBody>> {
                Ok(ChannelMessage {
                    channel: text(row, "channel")?,
                    visitor_id: VisitorId(codec::uuid("visitor id", &text(row, "visitor_id")?)?),
                    message: message_of(row)?,
                })
            }

            fn settings_json(s: &WidgetSettings) -> StoreResult<String> {
                serde_json::to_string(s).map_err(|e| StoreError::Corrupt(format!("widget settings: {e}")))
            }

            /// The stored messages among `keys`, by key.
            async fn stored_by_key(
                tx: &mut sqlx::Transaction<'static, $db>,
                keys: &[&str],
            ) -> StoreResult<HashMap<String, StoredMessage>> {
                let mut found = HashMap::new();
                for chunk in keys.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE client_key IN ("
                    ));
                    let mut list = q.separated(", ");
                    for key in chunk {
                        list.push_bind(key.to_string());
                    }
                    list.push_unseparated(")");
                    for row in q.build().fetch_all(&mut **tx).await.map_err(db_err)? {
                        let m = message_of(&row)?;
                        found.insert(m.client_key.clone().unwrap_or_default(), m);
                    }
                }
                Ok(found)
            }

            /// Inserts messages whose sequence numbers are already assigned.
            async fn insert_messages(
                tx: &mut sqlx::Transaction<'static, $db>,
                rows: &[StoredMessage],
            ) -> StoreResult<()> {
                for chunk in rows.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(format!("INSERT INTO messages ({MESSAGE_COLUMNS}) "));
                    q.push_values(chunk, |mut b, m| {
                        let (body, sealed) = match &m.body.content {
                            Content::Sealed(bytes) => ("", Some(bytes.as_slice())),
                            Content::Legacy(text) => (text.as_str(), None),
                        };
                        b.push_bind(m.conversation_id.to_string())
                            .push_bind(m.seq)
                            .push_bind(m.id.to_string())
                            .push_bind(m.client_key.clone())
                            .push_bind(m.author.kind())
                            .push_bind(m.author.id().map(|id| id.to_string()))
                            .push_bind(m.body.kind.clone())
                            .push_bind(body)
                            .push_bind(sealed)
                            .push_bind(m.at);
                    });
                    q.build().execute(&mut **tx).await.map_err(db_err)?;
                }
                Ok(())
            }

            /// Puts the employees' texts and files among `rows` that go to a
            /// channel's contact into the outbox (others are left out by the
            /// join: a widget visitor has no channel).
            async fn queue_replies(
                tx: &mut sqlx::Transaction<'static, $db>,
                rows: &[StoredMessage],
            ) -> StoreResult<()> {
                let replies: Vec<&StoredMessage> = rows
                    .iter()
                    .filter(|m| matches!(m.author, ostrog_domain::message::Author::Employee(_)))
                    .filter(|m| m.body.kind == "text" || m.body.kind == "file")
                    .collect();
                for chunk in replies.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(
                        "INSERT INTO channel_outbox (message_id, conversation_id, seq, channel_id, status, \
                         attempts, next_attempt_at, created_at) \
                         SELECT r.column1, r.column2, r.column3, v.channel_id, 'pending', 0, r.column4, r.column4 \
                         FROM (",
                    );
                    q.push_values(chunk, |mut b, m| {
                        b.push_bind(m.id.to_string()).push_bind(m.conversation_id.to_string()).push_bind(m.seq).push_bind(m.at);
                    });
                    q.push(
                        ") AS r JOIN conversations c ON c.id = r.column2 JOIN visitors v ON v.id = c.visitor_id \
                         WHERE v.channel_id IS NOT NULL",
                    );
                    q.build().execute(&mut **tx).await.map_err(db_err)?;
                }
                Ok(())
            }

            /// Inserts terms in one order (by conversation, then term);
            /// `unless_gone` skips conversations erased meanwhile (callers
            /// that hold no lock on them).
            async fn insert_terms(
                tx: &mut sqlx::Transaction<'static, $db>,
                mut terms: Vec<&Term>,
                unless_gone: bool,
            ) -> StoreResult<()> {
                terms.sort();
                terms.dedup();
                for chunk in terms.chunks(CHUNK) {
                    // VALUES columns are column1.. on both backends.
                    let mut q = QueryBuilder::<$db>::new(
                        "INSERT INTO message_terms (conversation_id, term) SELECT v.column1, v.column2 FROM (",
                    );
                    q.push_values(chunk, |mut b, t| {
                        b.push_bind(t.conversation.to_string()).push_bind(t.term.clone());
                    });
                    // SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT.
                    q.push(if unless_gone {
                        ") AS v WHERE EXISTS (SELECT 1 FROM conversations c WHERE c.id = v.column1)"
                    } else {
                        ") AS v WHERE true"
                    });
                    q.push(" ON CONFLICT DO NOTHING");
                    q.build().execute(&mut **tx).await.map_err(db_err)?;
                }
                Ok(())
            }

            /// Reserves sequence numbers for many conversations in one
            /// statement: `counts` holds (conversation, how many, latest time).
            /// Returns each existing conversation's first reserved number and
            /// its state after the write; missing conversations are absent.
            async fn reserve_seqs(
                tx: &mut sqlx::Transaction<'static, $db>,
                counts: &[(ConversationId, i64, Millis)],
            ) -> StoreResult<HashMap<ConversationId, (i64, State, Option<EmployeeId>)>> {
                let mut reserved = HashMap::with_capacity(counts.len());
                for chunk in counts.chunks(CHUNK) {
                    // VALUES columns are column1.. on both backends.
                    let mut q = QueryBuilder::<$db>::new(
                        "UPDATE conversations SET last_seq = last_seq + v.column2, \
                         updated_at = CASE WHEN updated_at > v.column3 THEN updated_at ELSE v.column3 END FROM (",
                    );
                    q.push_values(chunk, |mut b, (id, count, at)| {
                        b.push_bind(id.to_string()).push_bind(*count).push_bind(*at);
                    });
                    q.push(
                        ") AS v WHERE conversations.id = v.column1 \
                         RETURNING conversations.id, conversations.last_seq, conversations.state, \
                         conversations.operator_id",
                    );
                    let wanted: HashMap<ConversationId, i64> = chunk.iter().map(|(c, n, _)| (*c, *n)).collect();
                    for row in q.build().fetch_all(&mut **tx).await.map_err(db_err)? {
                        let id = ConversationId(codec::uuid("conversation id", &text(&row, "id")?)?);
                        let last: i64 = row.try_get("last_seq").map_err(db_err)?;
                        let operator = optional(&row, "operator_id")?;
                        let state = codec::state(&text(&row, "state")?, operator.as_deref())?;
                        let operator = operator.as_deref().map(codec::employee_id).transpose()?;
                        let count = wanted.get(&id).copied().unwrap_or(0);
                        reserved.insert(id, (last - count + 1, state, operator));
                    }
                }
                Ok(reserved)
            }

            /// One compare-and-set state change with its event, inside `tx`.
            async fn change_one(
                tx: &mut sqlx::Transaction<'static, $db>,
                c: &Change<SealedBody>,
            ) -> StoreResult<Option<Appended<SealedBody>>> {
                if let Some(key) = c.event.client_key.as_deref()
                    && let Some(done) = stored_by_key(tx, &[key]).await?.remove(key)
                {
                    return Ok(Some(Appended::Duplicate(done)));
                }
                let row = sqlx::query(
                    "UPDATE conversations SET state = $2, \
                     operator_id = CASE WHEN $3 THEN operator_id ELSE $4 END, \
                     last_seq = last_seq + 1, updated_at = $5 \
                     WHERE id = $1 AND state = $6 AND ($7 IS NULL OR operator_id = $7) \
                     RETURNING last_seq, operator_id",
                )
                .bind(c.id.to_string())
                .bind(c.to.name())
                .bind(c.to == State::Closed)
                .bind(c.to.operator().map(|o| o.to_string()))
                .bind(c.event.at)
                .bind(c.from.name())
                .bind(c.from.operator().map(|o| o.to_string()))
                .fetch_optional(&mut **tx)
                .await
                .map_err(db_err)?;
                let Some(row) = row else { return Ok(None) };
                let seq: i64 = row.try_get("last_seq").map_err(db_err)?;
                let operator = optional(&row, "operator_id")?.as_deref().map(codec::employee_id).transpose()?;
                let message = record(&c.event, seq);
                insert_messages(tx, std::slice::from_ref(&message)).await?;
                Ok(Some(Appended::Stored { message, state: c.to, operator }))
            }

            fn record(m: &NewStoredMessage, seq: i64) -> StoredMessage {
                StoredMessage {
                    id: m.id,
                    conversation_id: m.conversation_id,
                    seq,
                    client_key: m.client_key.clone(),
                    author: m.author,
                    body: m.body.clone(),
                    at: m.at,
                }
            }

            #[async_trait]
            impl ConversationStore for $store {
                async fn create_widget(&self, w: &WidgetRecord) -> StoreResult<()> {
                    sqlx::query("INSERT INTO widgets (id, settings, secret, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(w.id.to_string())
                        .bind(settings_json(&w.settings)?)
                        .bind(&w.secret)
                        .bind(w.created_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn widget(&self, id: WidgetId) -> StoreResult<Option<WidgetRecord>> {
                    let row = sqlx::query(
                        "SELECT id, settings, secret, created_at FROM widgets WHERE id = $1 AND deleted_at IS NULL",
                    )
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(widget_of).transpose()
                }

                async fn list_widgets(&self) -> StoreResult<Vec<WidgetRecord>> {
                    let rows = sqlx::query(
                        "SELECT id, settings, secret, created_at FROM widgets WHERE deleted_at IS NULL \
                         ORDER BY created_at, id",
                    )
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(widget_of).collect()
                }

                async fn update_widget(
                    &self,
                    id: WidgetId,
                    settings: &WidgetSettings,
                    secret: Option<&[u8]>,
                ) -> StoreResult<()> {
                    let done = sqlx::query(
                        "UPDATE widgets SET settings = $2, secret = COALESCE($3, secret) \
                         WHERE id = $1 AND deleted_at IS NULL",
                    )
                    .bind(id.to_string())
                    .bind(settings_json(settings)?)
                    .bind(secret)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
                }

                async fn delete_widget(&self, id: WidgetId, at: Millis) -> StoreResult<()> {
                    let done = sqlx::query("UPDATE widgets SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
                        .bind(id.to_string())
                        .bind(at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
                }

                async fn create_visitor(&self, v: &VisitorRecord, token_hash: Option<&str>) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let (widget, channel) = source_columns(v.source);
                    sqlx::query(&format!("INSERT INTO visitors ({VISITOR_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"))
                    .bind(v.id.to_string())
                    .bind(widget)
                    .bind(channel)
                    .bind(v.external.as_ref().map(|e| e.index.clone()))
                    .bind(v.external.as_ref().map(|e| e.sealed.clone()))
                    .bind(v.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    if let Some(token_hash) = token_hash {
                        sqlx::query(
                            "INSERT INTO visitor_tokens (token_hash, visitor_id, created_at) VALUES ($1, $2, $3)",
                        )
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
                    sqlx::query("INSERT INTO visitor_tokens (token_hash, visitor_id, created_at) VALUES ($1, $2, $3)")
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
                    let row = sqlx::query(
                        "SELECT v.id, v.widget_id, v.channel_id, v.external_index, v.external_sealed, v.created_at \
                         FROM visitor_tokens t JOIN visitors v ON v.id = t.visitor_id \
                         WHERE t.token_hash = $1 AND v.widget_id = $2",
                    )
                    .bind(token_hash)
                    .bind(widget.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(visitor_of).transpose()
                }

                async fn visitor_by_external_index(
                    &self,
                    source: Source,
                    index: &str,
                ) -> StoreResult<Option<VisitorRecord>> {
                    let column = match source {
                        Source::Widget(_) => "widget_id",
                        Source::Channel(_) => "channel_id",
                    };
                    let (widget, channel) = source_columns(source);
                    let row = sqlx::query(&format!(
                        "SELECT {VISITOR_COLUMNS} FROM visitors WHERE {column} = $1 AND external_index = $2"
                    ))
                    .bind(widget.or(channel))
                    .bind(index)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(visitor_of).transpose()
                }

                async fn visitor(&self, id: VisitorId) -> StoreResult<Option<VisitorRecord>> {
                    let row = sqlx::query(&format!(
                        "SELECT {VISITOR_COLUMNS} FROM visitors WHERE id = $1 AND erased_at IS NULL"
                    ))
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(visitor_of).transpose()
                }

                async fn erase_visitor(&self, id: VisitorId, at: Millis) -> StoreResult<Erased> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let visitor = id.to_string();
                    let done = sqlx::query(
                        "UPDATE visitors SET external_id = NULL, external_index = NULL, external_sealed = NULL, \
                         erased_at = $2 WHERE id = $1 AND erased_at IS NULL",
                    )
                    .bind(&visitor)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    if done.rows_affected() != 1 {
                        return Err(StoreError::NotFound);
                    }
                    sqlx::query("DELETE FROM visitor_tokens WHERE visitor_id = $1")
                        .bind(&visitor)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let conversation = sqlx::query("SELECT id FROM conversations WHERE visitor_id = $1")
                        .bind(&visitor)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    sqlx::query("DELETE FROM consents WHERE visitor_id = $1")
                        .bind(&visitor)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let mut erased = Erased::default();
                    if let Some(row) = conversation {
                        let cid = text(&row, "id")?;
                        for r in sqlx::query("SELECT id FROM files WHERE conversation_id = $1")
                            .bind(&cid)
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(db_err)?
                        {
                            erased.files.push(FileId(codec::uuid("file id", &text(&r, "id")?)?));
                        }
                        for table in ["files", "message_terms", "channel_outbox"] {
                            sqlx::query(&format!("DELETE FROM {table} WHERE conversation_id = $1"))
                                .bind(&cid)
                                .execute(&mut *tx)
                                .await
                                .map_err(db_err)?;
                        }
                        erased.messages = sqlx::query("DELETE FROM messages WHERE conversation_id = $1")
                            .bind(&cid)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?
                            .rows_affected();
                        sqlx::query("DELETE FROM conversations WHERE id = $1")
                            .bind(&cid)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        erased.conversation = Some(ConversationId(codec::uuid("conversation id", &cid)?));
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(erased)
                }

                async fn create_conversation(&self, c: &ConversationRecord) -> StoreResult<()> {
                    sqlx::query(&format!(
                        "INSERT INTO conversations ({CONVERSATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                    ))
                    .bind(c.id.to_string())
                    .bind(c.visitor_id.to_string())
                    .bind(&c.channel)
                    .bind(c.state.name())
                    .bind(c.operator.map(|o| o.to_string()))
                    .bind(c.last_seq)
                    .bind(c.created_at)
                    .bind(c.updated_at)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                }

                async fn conversation(&self, id: ConversationId) -> StoreResult<Option<ConversationRecord>> {
                    let row = sqlx::query(&format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1"))
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(conversation_of).transpose()
                }

                async fn conversation_of_visitor(&self, visitor: VisitorId) -> StoreResult<Option<ConversationRecord>> {
                    let row =
                        sqlx::query(&format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE visitor_id = $1"))
                            .bind(visitor.to_string())
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(db_err)?;
                    row.as_ref().map(conversation_of).transpose()
                }

                async fn list_conversations(&self, f: &ConversationFilter) -> StoreResult<Vec<ConversationRecord>> {
                    let (order, beyond) = if f.oldest_first { ("ASC", ">") } else { ("DESC", "<") };
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE 1 = 1"
                    ));
                    if let Some(state) = f.state {
                        q.push(" AND c.state = ").push_bind(state);
                    }
                    if let Some(operator) = f.operator {
                        q.push(" AND c.operator_id = ").push_bind(operator.to_string());
                    }
                    for term in &f.terms {
                        q.push(" AND EXISTS (SELECT 1 FROM message_terms t WHERE t.conversation_id = c.id AND t.term = ")
                            .push_bind(term.clone())
                            .push(")");
                    }
                    if let Some((at, id)) = f.before {
                        q.push(format!(" AND (c.updated_at {beyond} "))
                            .push_bind(at)
                            .push(" OR (c.updated_at = ")
                            .push_bind(at)
                            .push(format!(" AND c.id {beyond} "))
                            .push_bind(id.to_string())
                            .push("))");
                    }
                    q.push(format!(" ORDER BY c.updated_at {order}, c.id {order} LIMIT "))
                        .push_bind(i64::from(f.limit));
                    let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
                    rows.iter().map(conversation_of).collect()
                }

                async fn change_conversations(
                    &self,
                    changes: &[Change<SealedBody>],
                ) -> StoreResult<Vec<Option<Appended<SealedBody>>>> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    Self::lock_conversations(&mut tx, changes.iter().map(|c| c.id)).await?;
                    let mut out = Vec::with_capacity(changes.len());
                    for change in changes {
                        out.push(change_one(&mut tx, change).await?);
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(out)
                }

                async fn append_messages(
                    &self,
                    batch: &[NewStoredMessage],
                    terms: &[Term],
                ) -> StoreResult<Vec<StoreResult<Appended<SealedBody>>>> {
                    if batch.is_empty() {
                        return Ok(vec![]);
                    }
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let keys: Vec<&str> = batch.iter().filter_map(|m| m.client_key.as_deref()).collect();
                    let stored = stored_by_key(&mut tx, &keys).await?;
                    // Which messages are new: not stored, and first of their key in the batch.
                    let mut first_of_key: HashMap<&str, usize> = HashMap::new();
                    let mut fresh: Vec<usize> = Vec::with_capacity(batch.len());
                    let mut counts: HashMap<ConversationId, (i64, Millis)> = HashMap::new();
                    for (i, m) in batch.iter().enumerate() {
                        if let Some(key) = m.client_key.as_deref() {
                            if stored.contains_key(key) || first_of_key.contains_key(key) {
                                continue;
                            }
                            first_of_key.insert(key, i);
                        }
                        fresh.push(i);
                        let entry = counts.entry(m.conversation_id).or_insert((0, m.at));
                        entry.0 += 1;
                        entry.1 = entry.1.max(m.at);
                    }
                    // One reservation for every conversation, then number in batch order.
                    let counts: Vec<(ConversationId, i64, Millis)> =
                        counts.into_iter().map(|(id, (n, at))| (id, n, at)).collect();
                    Self::lock_conversations(&mut tx, counts.iter().map(|(id, ..)| *id)).await?;
                    let mut next = reserve_seqs(&mut tx, &counts).await?;
                    let mut rows = Vec::with_capacity(fresh.len());
                    let mut outcome: Vec<Option<StoreResult<Appended<SealedBody>>>> =
                        (0..batch.len()).map(|_| None).collect();
                    for &i in &fresh {
                        let m = &batch[i];
                        let Some((seq, state, operator)) = next.get_mut(&m.conversation_id) else {
                            outcome[i] = Some(Err(StoreError::NotFound));
                            continue;
                        };
                        let message = record(m, *seq);
                        *seq += 1;
                        rows.push(message.clone());
                        outcome[i] = Some(Ok(Appended::Stored { message, state: *state, operator: *operator }));
                    }
                    insert_messages(&mut tx, &rows).await?;
                    queue_replies(&mut tx, &rows).await?;
                    // Only conversations this transaction locked: no other lock is taken,
                    // so the writer cannot deadlock with anyone over terms.
                    let locked: Vec<&Term> = terms.iter().filter(|t| next.contains_key(&t.conversation)).collect();
                    insert_terms(&mut tx, locked, false).await?;
                    tx.commit().await.map_err(db_err)?;
                    // Resends: the stored message, or the one stored earlier in this batch.
                    for (i, m) in batch.iter().enumerate() {
                        if outcome[i].is_some() {
                            continue;
                        }
                        let key = m.client_key.as_deref().unwrap_or_default();
                        let earlier = first_of_key.get(key).and_then(|&j| match &outcome[j] {
                            Some(Ok(a)) => Some(a.message().clone()),
                            _ => None,
                        });
                        outcome[i] = Some(match stored.get(key).cloned().or(earlier) {
                            Some(message) => Ok(Appended::Duplicate(message)),
                            None => Err(StoreError::NotFound),
                        });
                    }
                    Ok(outcome.into_iter().map(|o| o.unwrap_or(Err(StoreError::NotFound))).collect())
                }

                async fn messages_by_id(&self, ids: &[MessageId]) -> StoreResult<Vec<StoredMessage>> {
                    let mut found = Vec::with_capacity(ids.len());
                    for chunk in ids.chunks(CHUNK) {
                        let mut q =
                            QueryBuilder::<$db>::new(format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id IN ("));
                        let mut list = q.separated(", ");
                        for id in chunk {
                            list.push_bind(id.to_string());
                        }
                        list.push_unseparated(")");
                        for row in q.build().fetch_all(&self.pool).await.map_err(db_err)? {
                            found.push(message_of(&row)?);
                        }
                    }
                    Ok(found)
                }

                async fn message_by_client_key(&self, key: &str) -> StoreResult<Option<StoredMessage>> {
                    let row = sqlx::query(&format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE client_key = $1"))
                        .bind(key)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(message_of).transpose()
                }

                async fn messages(
                    &self,
                    conversation: ConversationId,
                    after: i64,
                    before: Option<i64>,
                    limit: u32,
                ) -> StoreResult<Vec<StoredMessage>> {
                    // Only `before`: the page just before it, read backwards and turned round.
                    let backwards = after <= 0 && before.is_some();
                    let order = if backwards { "DESC" } else { "ASC" };
                    let rows = sqlx::query(&format!(
                        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND seq > $2 \
                         AND ($3 IS NULL OR seq < $3) ORDER BY seq {order} LIMIT $4"
                    ))
                    .bind(conversation.to_string())
                    .bind(after)
                    .bind(before)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    let mut out = rows.iter().map(message_of).collect::<StoreResult<Vec<_>>>()?;
                    if backwards {
                        out.reverse();
                    }
                    Ok(out)
                }

                async fn activity(&self, from: Millis, to: Millis) -> StoreResult<Vec<ChannelMessage<SealedBody>>> {
                    let rows = sqlx::query(&format!(
                        "{CHANNEL_MESSAGES} WHERE m.kind <> 'note' AND m.conversation_id IN \
                         (SELECT id FROM conversations WHERE updated_at >= $1 AND created_at < $2) \
                         ORDER BY m.conversation_id, m.seq"
                    ))
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(channel_message_of).collect()
                }

                async fn add_terms(&self, terms: &[Term]) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    insert_terms(&mut tx, terms.iter().collect(), true).await?;
                    tx.commit().await.map_err(db_err)
                }

                async fn legacy_messages(
                    &self,
                    after: Option<(ConversationId, i64)>,
                    limit: u32,
                ) -> StoreResult<Vec<ChannelMessage<SealedBody>>> {
                    let (conversation, seq) = after.map(|(c, s)| (c.to_string(), s)).unwrap_or_default();
                    let rows = sqlx::query(&format!(
                        "{CHANNEL_MESSAGES} WHERE m.sealed IS NULL \
                         AND (m.conversation_id > $1 OR (m.conversation_id = $1 AND m.seq > $2)) \
                         ORDER BY m.conversation_id, m.seq LIMIT $3"
                    ))
                    .bind(conversation)
                    .bind(seq)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(channel_message_of).collect()
                }

                async fn reseal_messages(&self, sealed: &[StoredMessage]) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    for m in sealed {
                        let Content::Sealed(bytes) = &m.body.content else { continue };
                        sqlx::query(
                            "UPDATE messages SET sealed = $3, body = '' \
                             WHERE conversation_id = $1 AND seq = $2 AND sealed IS NULL",
                        )
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
                    let rows = sqlx::query(&format!(
                        "SELECT {VISITOR_COLUMNS}, external_id FROM visitors WHERE external_id IS NOT NULL \
                         AND external_index IS NULL AND erased_at IS NULL ORDER BY id LIMIT $1"
                    ))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(|row| Ok((visitor_of(row)?, text(row, "external_id")?))).collect()
                }

                async fn reseal_visitor(&self, id: VisitorId, external: &External) -> StoreResult<()> {
                    sqlx::query(
                        "UPDATE visitors SET external_index = $2, external_sealed = $3, external_id = NULL \
                         WHERE id = $1 AND external_index IS NULL",
                    )
                    .bind(id.to_string())
                    .bind(&external.index)
                    .bind(&external.sealed)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                }

                async fn set_chat_limit(&self, id: EmployeeId, limit: u32) -> StoreResult<()> {
                    let done =
                        sqlx::query("UPDATE employees SET chat_limit = $2 WHERE id = $1 AND status <> 'deleted'")
                            .bind(id.to_string())
                            .bind(i64::from(limit))
                            .execute(&self.pool)
                            .await
                            .map_err(db_err)?;
                    if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
                }

                async fn chat_limit(&self, id: EmployeeId) -> StoreResult<u32> {
                    let row = sqlx::query("SELECT chat_limit FROM employees WHERE id = $1")
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound)?;
                    codec::count(row.try_get("chat_limit").map_err(db_err)?)
                }

                async fn loads(&self, operators: &[EmployeeId]) -> StoreResult<Vec<Load>> {
                    let mut loads = Vec::with_capacity(operators.len());
                    for chunk in operators.chunks(CHUNK) {
                        let mut q = QueryBuilder::<$db>::new(
                            "SELECT e.id, e.chat_limit, \
                             (SELECT COUNT(*) FROM conversations c WHERE c.operator_id = e.id \
                              AND c.state = 'assigned') AS active, \
                             (SELECT COALESCE(MAX(c.updated_at), 0) FROM conversations c \
                              WHERE c.operator_id = e.id) AS last_at \
                             FROM employees e WHERE e.id IN (",
                        );
                        let mut list = q.separated(", ");
                        for id in chunk {
                            list.push_bind(id.to_string());
                        }
                        list.push_unseparated(")");
                        for row in q.build().fetch_all(&self.pool).await.map_err(db_err)? {
                            loads.push(Load {
                                operator: codec::employee_id(&text(&row, "id")?)?,
                                active: codec::count(row.try_get("active").map_err(db_err)?)?,
                                limit: codec::count(row.try_get("chat_limit").map_err(db_err)?)?,
                                last_assigned_at: row.try_get("last_at").map_err(db_err)?,
                            });
                        }
                    }
                    Ok(loads)
                }
            }

            #[async_trait]
            impl FileStore for $store {
                async fn create_file(&self, f: &FileRecord) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO files (id, conversation_id, uploader_kind, uploader_id, name, content_type, \
                         size, sha256, sealed_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(f.id.to_string())
                    .bind(f.conversation_id.to_string())
                    .bind(f.uploader.kind())
                    .bind(f.uploader.id().map(|id| id.to_string()))
                    .bind(&f.name)
                    .bind(&f.content_type)
                    .bind(i64::try_from(f.size).map_err(|_| StoreError::Corrupt("file size".into()))?)
                    .bind(&f.sha256)
                    .bind(&f.sealed_key)
                    .bind(f.created_at)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                }

                async fn file(&self, id: FileId) -> StoreResult<Option<FileRecord>> {
                    let row = sqlx::query(&format!("SELECT {FILE_COLUMNS} FROM files WHERE id = $1"))
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(file_of).transpose()
                }

                async fn files_of(&self, conversation: ConversationId) -> StoreResult<Vec<FileRecord>> {
                    let rows = sqlx::query(&format!(
                        "SELECT {FILE_COLUMNS} FROM files WHERE conversation_id = $1 ORDER BY created_at, id"
                    ))
                    .bind(conversation.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(file_of).collect()
                }
            }

            const FILE_COLUMNS: &str = "id, conversation_id, uploader_kind, uploader_id, name, content_type, size, \
                                        sha256, sealed_key, created_at";

            fn file_of(row: &DbRow) -> StoreResult<FileRecord> {
                    let size: i64 = row.try_get("size").map_err(db_err)?;
                    Ok(FileRecord {
                        id: FileId(codec::uuid("file id", &text(row, "id")?)?),
                        conversation_id: ConversationId(codec::uuid("conversation id", &text(row, "conversation_id")?)?),
                        uploader: codec::author(&text(row, "uploader_kind")?, optional(row, "uploader_id")?.as_deref())?,
                        name: text(row, "name")?,
                        content_type: text(row, "content_type")?,
                        size: u64::try_from(size).map_err(|_| StoreError::Corrupt("file size".into()))?,
                        sha256: text(row, "sha256")?,
                        sealed_key: row.try_get("sealed_key").map_err(db_err)?,
                        created_at: row.try_get("created_at").map_err(db_err)?,
                    })
            }
        };
    };
}

pub(crate) use impl_conversation_store;
