//! `ConversationStore`, `MessageStore` and `SearchStore` queries, written
//! once for both dialects like `queries.rs`; they share the helpers that
//! number, store and index messages. Messages are written in batches: one
//! transaction, one sequence update per conversation and one multi-row
//! INSERT for many messages, so that a busy server makes one commit (one
//! fsync) for hundreds of messages instead of one each.

use crate::codec;
use ostrog_domain::clock::Millis;
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ConversationId, EmployeeId, MessageId, VisitorId};
use ostrog_store::{
    ChannelMessage, Content, ConversationRecord, NewStoredMessage, SealedBody, StoreResult, StoredMessage,
};

/// A searched word that fewer conversations and contacts than this hold is
/// looked up by the word; a more common one is found by checking
/// conversations in the listing's order, where a page fills before long.
/// Either way a search costs at most a few thousand index lookups
/// (docs/benchmarks.md, "Search over a million messages").
pub(crate) const TERM_FIRST_BELOW: i64 = 2_000;

/// Rows per multi-row statement: well under SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
pub(crate) const CHUNK: usize = 500;

/// The statements, `$N` placeholders for both dialects. A constant that
/// ends in `(` or a space is the start of a statement `QueryBuilder` ends.
pub(crate) mod sql {
    pub(crate) const CHANGE_STATE: &str = "UPDATE conversations SET state = $2, \
         operator_id = CASE WHEN $3 THEN operator_id ELSE $4 END, \
         last_seq = last_seq + 1, updated_at = $5, \
         queued_at = CASE WHEN $2 = 'queued' AND state <> 'queued' THEN $5 ELSE queued_at END \
         WHERE id = $1 AND state = $6 AND ($7 IS NULL OR operator_id = $7) \
         RETURNING last_seq, operator_id";
    /// Followed by `$1, $2, …` for the keys, and `)`.
    pub(crate) const STORED_BY_KEY: &str = "SELECT conversation_id, seq, id, client_key, author_kind, author_id, \
         kind, body, sealed, at FROM messages WHERE client_key IN (";
    /// Followed by VALUES rows.
    pub(crate) const INSERT_MESSAGES: &str = "INSERT INTO messages (conversation_id, seq, id, client_key, \
         author_kind, author_id, kind, body, sealed, at) ";
    /// Followed by VALUES rows of (message id, conversation id, seq, at), then `QUEUE_REPLIES_END`.
    pub(crate) const QUEUE_REPLIES: &str = "INSERT INTO channel_outbox (message_id, conversation_id, seq, channel_id, \
         status, attempts, next_attempt_at, created_at) \
         SELECT r.column1, r.column2, r.column3, v.channel_id, 'pending', 0, r.column4, r.column4 \
         FROM (";
    pub(crate) const QUEUE_REPLIES_END: &str = ") AS r JOIN conversations c ON c.id = r.column2 \
         JOIN visitors v ON v.id = c.visitor_id WHERE v.channel_id IS NOT NULL";
    /// Followed by VALUES rows of (conversation id, term), then one of the
    /// two ends and `ON_CONFLICT_DO_NOTHING`. VALUES columns are column1..
    /// on both backends.
    pub(crate) const INSERT_TERMS: &str =
        "INSERT INTO message_terms (conversation_id, term) SELECT v.column1, v.column2 FROM (";
    /// Skips conversations erased meanwhile.
    pub(crate) const INSERT_TERMS_UNLESS_GONE: &str =
        ") AS v WHERE EXISTS (SELECT 1 FROM conversations c WHERE c.id = v.column1)";
    /// SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT.
    pub(crate) const INSERT_TERMS_ALL: &str = ") AS v WHERE true";
    pub(crate) const ON_CONFLICT_DO_NOTHING: &str = " ON CONFLICT DO NOTHING";
    /// Followed by VALUES rows of (conversation id, count, latest time), then `RESERVE_SEQS_END`.
    pub(crate) const RESERVE_SEQS: &str = "UPDATE conversations SET last_seq = last_seq + v.column2, \
         updated_at = CASE WHEN updated_at > v.column3 THEN updated_at ELSE v.column3 END FROM (";
    pub(crate) const RESERVE_SEQS_END: &str = ") AS v WHERE conversations.id = v.column1 \
         RETURNING conversations.id, conversations.last_seq, conversations.state, \
         conversations.operator_id";
    pub(crate) const CREATE_CONVERSATION: &str = "INSERT INTO conversations (id, visitor_id, channel, state, \
         operator_id, last_seq, created_at, updated_at, queued_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $4 = 'queued' THEN $7 ELSE NULL END)";
    pub(crate) const CONVERSATION: &str = "SELECT id, visitor_id, channel, state, operator_id, last_seq, created_at, \
         updated_at FROM conversations WHERE id = $1";
    pub(crate) const CONVERSATION_OF_VISITOR: &str = "SELECT id, visitor_id, channel, state, operator_id, last_seq, \
         created_at, updated_at FROM conversations WHERE visitor_id = $1";
    /// Followed by the filter's conditions, then its page's order and limit.
    pub(crate) const LIST_CONVERSATIONS: &str = "SELECT id, visitor_id, channel, state, operator_id, last_seq, \
         created_at, updated_at FROM conversations c WHERE 1 = 1";
    pub(crate) const LIST_IN_STATE: &str = " AND c.state = ";
    pub(crate) const LIST_OF_OPERATOR: &str = " AND c.operator_id = ";
    pub(crate) const LIST_WITH_LABEL: &str =
        " AND EXISTS (SELECT 1 FROM conversation_labels l WHERE l.conversation_id = c.id AND l.label_id = ";
    /// A searched word's condition: `held`, the term, `named`, the term
    /// again, `end`. A word matches the conversation's texts and notes or
    /// its contact's name.
    pub(crate) struct TermCondition {
        pub(crate) held: &'static str,
        pub(crate) named: &'static str,
        pub(crate) end: &'static str,
    }
    /// Checked conversation by conversation, in the listing's order: quick
    /// for a word many conversations hold, the page fills early. `OFFSET 0`
    /// keeps PostgreSQL from reading every conversation that holds the word
    /// into a hash first (180 ms for a word in 40,000 conversations, against
    /// 7 ms); SQLite plans it the same either way.
    pub(crate) const CHECKED_PER_CONVERSATION: TermCondition = TermCondition {
        held: " AND (EXISTS (SELECT 1 FROM message_terms t WHERE t.conversation_id = c.id AND t.term = ",
        named: " LIMIT 1 OFFSET 0) OR EXISTS (SELECT 1 FROM contact_terms n WHERE n.visitor_id = c.visitor_id \
             AND n.term = ",
        end: " LIMIT 1 OFFSET 0))",
    };
    /// Looked up from the word's side: the conversations that hold it come
    /// from the index by term, so a rare word costs as many lookups as
    /// conversations hold it, however many there are. One `IN` over a
    /// `UNION ALL`, not two `IN`s joined by `OR`: with `OR`, PostgreSQL
    /// checked every conversation against both lists (73 ms over 40,000
    /// conversations, against 0.2 ms).
    pub(crate) const LOOKED_UP_BY_TERM: TermCondition = TermCondition {
        held: " AND (c.id IN (SELECT t.conversation_id FROM message_terms t WHERE t.term = ",
        named: " UNION ALL SELECT named.id FROM conversations named \
             JOIN contact_terms n ON n.visitor_id = named.visitor_id WHERE n.term = ",
        end: "))",
    };
    /// How many message conversations and contacts hold a term, each side
    /// counted up to a limit: one column of a `SELECT` per term, made of
    /// these three parts around (term, limit) twice.
    pub(crate) const TERM_COUNT: (&str, &str, &str) = (
        "(SELECT COUNT(*) FROM (SELECT 1 FROM message_terms WHERE term = ",
        ") AS m) + (SELECT COUNT(*) FROM (SELECT 1 FROM contact_terms WHERE term = ",
        ") AS n)",
    );
    /// The conversation listing's page in one direction: the conditions
    /// that continue past (updated_at, id), and the order.
    pub(crate) struct ListPage {
        pub(crate) beyond_at: &'static str,
        pub(crate) same_at: &'static str,
        pub(crate) beyond_id: &'static str,
        pub(crate) order_limit: &'static str,
    }
    pub(crate) const OLDEST_FIRST: ListPage = ListPage {
        beyond_at: " AND (c.updated_at > ",
        same_at: " OR (c.updated_at = ",
        beyond_id: " AND c.id > ",
        order_limit: " ORDER BY c.updated_at ASC, c.id ASC LIMIT ",
    };
    pub(crate) const NEWEST_FIRST: ListPage = ListPage {
        beyond_at: " AND (c.updated_at < ",
        same_at: " OR (c.updated_at = ",
        beyond_id: " AND c.id < ",
        order_limit: " ORDER BY c.updated_at DESC, c.id DESC LIMIT ",
    };
    /// Followed by `$1, $2, …` for the ids, and `)`.
    pub(crate) const MESSAGES_BY_ID: &str = "SELECT conversation_id, seq, id, client_key, author_kind, author_id, \
         kind, body, sealed, at FROM messages WHERE id IN (";
    /// Followed by `(conversation_id = $1 AND seq > $2)` for each conversation, joined by `OR`.
    pub(crate) const MESSAGES_AFTER_EACH: &str = "SELECT conversation_id, seq, id, client_key, author_kind, \
         author_id, kind, body, sealed, at FROM messages WHERE ";
    pub(crate) const MESSAGE_BY_CLIENT_KEY: &str = "SELECT conversation_id, seq, id, client_key, author_kind, \
         author_id, kind, body, sealed, at FROM messages WHERE client_key = $1";
    pub(crate) const MESSAGES_FORWARDS: &str = "SELECT conversation_id, seq, id, client_key, author_kind, author_id, \
         kind, body, sealed, at FROM messages WHERE conversation_id = $1 AND seq > $2 AND ($3 IS NULL OR seq < $3) \
         ORDER BY seq ASC LIMIT $4";
    pub(crate) const EVENTS_AND_FILES: &str = "SELECT conversation_id, seq, id, client_key, author_kind, \
         author_id, kind, body, sealed, at FROM messages \
         WHERE conversation_id = $1 AND seq > $2 AND kind IN ('event', 'file') ORDER BY seq ASC LIMIT $3";
    pub(crate) const MESSAGES_BACKWARDS: &str = "SELECT conversation_id, seq, id, client_key, author_kind, \
         author_id, kind, body, sealed, at FROM messages \
         WHERE conversation_id = $1 AND seq > $2 AND ($3 IS NULL OR seq < $3) ORDER BY seq DESC LIMIT $4";
    pub(crate) const ACTIVITY: &str = "SELECT c.channel, c.visitor_id, m.conversation_id, m.seq, m.id, m.client_key, \
         m.author_kind, m.author_id, m.kind, m.body, m.sealed, m.at FROM messages m \
         JOIN conversations c ON c.id = m.conversation_id WHERE m.kind <> 'note' AND m.conversation_id IN (SELECT id \
         FROM conversations WHERE updated_at >= $1 AND created_at < $2) ORDER BY m.conversation_id, m.seq";
}

/// The stored form of a new message numbered `seq`.
pub(crate) fn record(m: &NewStoredMessage, seq: i64) -> StoredMessage {
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

pub(crate) fn conversation_id(id: &str) -> StoreResult<ConversationId> {
    Ok(ConversationId(codec::uuid("conversation id", id)?))
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConversationRow {
    id: String,
    visitor_id: String,
    channel: String,
    state: String,
    operator_id: Option<String>,
    last_seq: i64,
    created_at: Millis,
    updated_at: Millis,
}

impl ConversationRow {
    pub(crate) fn into_record(self) -> StoreResult<ConversationRecord> {
        let operator = self.operator_id.as_deref();
        Ok(ConversationRecord {
            id: conversation_id(&self.id)?,
            visitor_id: VisitorId(codec::uuid("visitor id", &self.visitor_id)?),
            channel: self.channel,
            state: codec::state(&self.state, operator)?,
            operator: operator.map(codec::employee_id).transpose()?,
            last_seq: self.last_seq,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A conversation's numbering after `RESERVE_SEQS`.
#[derive(sqlx::FromRow)]
pub(crate) struct ReservedRow {
    pub(crate) id: String,
    pub(crate) last_seq: i64,
    pub(crate) state: String,
    pub(crate) operator_id: Option<String>,
}

impl ReservedRow {
    /// (conversation, last number now taken, state, operator).
    pub(crate) fn into_record(self) -> StoreResult<(ConversationId, i64, State, Option<EmployeeId>)> {
        let operator = self.operator_id.as_deref();
        let state = codec::state(&self.state, operator)?;
        let operator = operator.map(codec::employee_id).transpose()?;
        Ok((conversation_id(&self.id)?, self.last_seq, state, operator))
    }
}

/// What `CHANGE_STATE` returns.
#[derive(sqlx::FromRow)]
pub(crate) struct ChangedRow {
    last_seq: i64,
    operator_id: Option<String>,
}

impl ChangedRow {
    pub(crate) fn into_record(self) -> StoreResult<(i64, Option<EmployeeId>)> {
        Ok((self.last_seq, self.operator_id.as_deref().map(codec::employee_id).transpose()?))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    pub(crate) conversation_id: String,
    pub(crate) seq: i64,
    pub(crate) id: String,
    pub(crate) client_key: Option<String>,
    pub(crate) author_kind: String,
    pub(crate) author_id: Option<String>,
    pub(crate) kind: String,
    pub(crate) body: String,
    pub(crate) sealed: Option<Vec<u8>>,
    pub(crate) at: Millis,
}

impl MessageRow {
    pub(crate) fn into_record(self) -> StoreResult<StoredMessage> {
        let content = match self.sealed {
            Some(bytes) => Content::Sealed(bytes),
            None => Content::Legacy(self.body),
        };
        Ok(StoredMessage {
            id: MessageId(codec::uuid("message id", &self.id)?),
            conversation_id: conversation_id(&self.conversation_id)?,
            seq: self.seq,
            client_key: self.client_key,
            author: codec::author(&self.author_kind, self.author_id.as_deref())?,
            body: SealedBody { kind: self.kind, content },
            at: self.at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ChannelMessageRow {
    channel: String,
    visitor_id: String,
    #[sqlx(flatten)]
    message: MessageRow,
}

impl ChannelMessageRow {
    pub(crate) fn into_record(self) -> StoreResult<ChannelMessage<SealedBody>> {
        Ok(ChannelMessage {
            channel: self.channel,
            visitor_id: VisitorId(codec::uuid("visitor id", &self.visitor_id)?),
            message: self.message.into_record()?,
        })
    }
}

macro_rules! impl_conversation_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_domain::conversation::State;
            use ostrog_domain::ids::{ConversationId, MessageId, VisitorId};
            use ostrog_store::{
                Appended, Change, ChannelMessage, Content, ConversationFilter, ConversationRecord, ConversationStore,
                MessageStore, NewStoredMessage, SealedBody, SearchStore, StoreResult, StoredMessage, Term,
            };
            use sqlx::{QueryBuilder, Row};
            use std::collections::HashMap;
            use $crate::batch::{Plan, Reserved, client_keys, note_reserved, ordered, replies, terms_of_reserved};
            use $crate::conversations::{
                CHUNK, ChangedRow, ChannelMessageRow, ConversationRow, MessageRow, ReservedRow, record, sql,
            };
            use $crate::error::db_err;

            /// The stored messages among `keys`, by key.
            async fn stored_by_key(
                tx: &mut sqlx::Transaction<'static, $db>,
                keys: &[&str],
            ) -> StoreResult<HashMap<String, StoredMessage>> {
                let mut found = HashMap::new();
                for chunk in keys.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(sql::STORED_BY_KEY);
                    let mut list = q.separated(", ");
                    for key in chunk {
                        list.push_bind(key.to_string());
                    }
                    list.push_unseparated(")");
                    for row in q.build_query_as::<MessageRow>().fetch_all(&mut **tx).await.map_err(db_err)? {
                        let m = row.into_record()?;
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
                    let mut q = QueryBuilder::<$db>::new(sql::INSERT_MESSAGES);
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
                for chunk in replies(rows).chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(sql::QUEUE_REPLIES);
                    q.push_values(chunk, |mut b, m| {
                        b.push_bind(m.id.to_string())
                            .push_bind(m.conversation_id.to_string())
                            .push_bind(m.seq)
                            .push_bind(m.at);
                    });
                    q.push(sql::QUEUE_REPLIES_END);
                    q.build().execute(&mut **tx).await.map_err(db_err)?;
                }
                Ok(())
            }

            /// Inserts terms in one order (by conversation, then term);
            /// `unless_gone` skips conversations erased meanwhile (callers
            /// that hold no lock on them).
            async fn insert_terms(
                tx: &mut sqlx::Transaction<'static, $db>,
                terms: Vec<&Term>,
                unless_gone: bool,
            ) -> StoreResult<()> {
                for chunk in ordered(terms).chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(sql::INSERT_TERMS);
                    q.push_values(chunk, |mut b, t| {
                        b.push_bind(t.conversation.to_string()).push_bind(t.term.clone());
                    });
                    q.push(if unless_gone { sql::INSERT_TERMS_UNLESS_GONE } else { sql::INSERT_TERMS_ALL });
                    q.push(sql::ON_CONFLICT_DO_NOTHING);
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
            ) -> StoreResult<Reserved> {
                let mut reserved = HashMap::with_capacity(counts.len());
                for chunk in counts.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(sql::RESERVE_SEQS);
                    q.push_values(chunk, |mut b, (id, count, at)| {
                        b.push_bind(id.to_string()).push_bind(*count).push_bind(*at);
                    });
                    q.push(sql::RESERVE_SEQS_END);
                    let rows = q.build_query_as::<ReservedRow>().fetch_all(&mut **tx).await.map_err(db_err)?;
                    note_reserved(&mut reserved, chunk, rows)?;
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
                let row: Option<ChangedRow> = sqlx::query_as(sql::CHANGE_STATE)
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
                let (seq, operator) = row.into_record()?;
                let message = record(&c.event, seq);
                insert_messages(tx, std::slice::from_ref(&message)).await?;
                Ok(Some(Appended::Stored { message, state: c.to, operator }))
            }

            impl $store {
                /// The listing, with each searched word checked from the
                /// conversations' side or, for the rarest word when fewer
                /// than `term_first_below` conversations and contacts hold
                /// it, looked up from the word's side.
                pub(crate) async fn list_searching(
                    &self,
                    f: &ConversationFilter,
                    term_first_below: i64,
                ) -> StoreResult<Vec<ConversationRecord>> {
                    let page = if f.oldest_first { sql::OLDEST_FIRST } else { sql::NEWEST_FIRST };
                    let rarest = self.rarest_term(&f.terms, term_first_below).await?;
                    let mut q = QueryBuilder::<$db>::new(sql::LIST_CONVERSATIONS);
                    if let Some(state) = f.state {
                        q.push(sql::LIST_IN_STATE).push_bind(state);
                    }
                    if let Some(operator) = f.operator {
                        q.push(sql::LIST_OF_OPERATOR).push_bind(operator.to_string());
                    }
                    if let Some(label) = f.label {
                        q.push(sql::LIST_WITH_LABEL).push_bind(label.to_string()).push(")");
                    }
                    for (i, term) in f.terms.iter().enumerate() {
                        let condition =
                            if rarest == Some(i) { sql::LOOKED_UP_BY_TERM } else { sql::CHECKED_PER_CONVERSATION };
                        q.push(condition.held).push_bind(term.clone());
                        q.push(condition.named).push_bind(term.clone()).push(condition.end);
                    }
                    if let Some((at, id)) = f.before {
                        q.push(page.beyond_at)
                            .push_bind(at)
                            .push(page.same_at)
                            .push_bind(at)
                            .push(page.beyond_id)
                            .push_bind(id.to_string())
                            .push("))");
                    }
                    q.push(page.order_limit).push_bind(i64::from(f.limit));
                    // Planned for its own values each time: PostgreSQL's plan
                    // for any values of a prepared statement read all
                    // conversations for one operator's search (86 ms against
                    // 0.3 ms over 40,000 conversations).
                    let query = q.build_query_as::<ConversationRow>().persistent(false);
                    let rows = query.fetch_all(&self.pool).await.map_err(db_err)?;
                    rows.into_iter().map(ConversationRow::into_record).collect()
                }

                /// Which of `terms` fewest conversations and contacts hold,
                /// if fewer than `below` do (counting stops there).
                async fn rarest_term(&self, terms: &[Vec<u8>], below: i64) -> StoreResult<Option<usize>> {
                    if terms.is_empty() {
                        return Ok(None);
                    }
                    let mut q = QueryBuilder::<$db>::new("SELECT ");
                    let (messages, contacts, end) = sql::TERM_COUNT;
                    for (i, term) in terms.iter().enumerate() {
                        if i > 0 {
                            q.push(", ");
                        }
                        q.push(messages).push_bind(term.clone()).push(" LIMIT ").push_bind(below).push(contacts);
                        q.push_bind(term.clone()).push(" LIMIT ").push_bind(below).push(end);
                    }
                    let row = q.build().fetch_one(&self.pool).await.map_err(db_err)?;
                    let mut rarest: Option<(usize, i64)> = None;
                    for i in 0..terms.len() {
                        let count: i64 = row.try_get(i).map_err(db_err)?;
                        if count < below && rarest.is_none_or(|(_, least)| count < least) {
                            rarest = Some((i, count));
                        }
                    }
                    Ok(rarest.map(|(i, _)| i))
                }
            }

            #[async_trait]
            impl ConversationStore for $store {
                async fn create_conversation(&self, c: &ConversationRecord) -> StoreResult<()> {
                    sqlx::query(sql::CREATE_CONVERSATION)
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
                    let row: Option<ConversationRow> = sqlx::query_as(sql::CONVERSATION)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(ConversationRow::into_record).transpose()
                }

                async fn conversation_of_visitor(&self, visitor: VisitorId) -> StoreResult<Option<ConversationRecord>> {
                    let row: Option<ConversationRow> = sqlx::query_as(sql::CONVERSATION_OF_VISITOR)
                        .bind(visitor.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(ConversationRow::into_record).transpose()
                }

                async fn list_conversations(&self, f: &ConversationFilter) -> StoreResult<Vec<ConversationRecord>> {
                    self.list_searching(f, $crate::conversations::TERM_FIRST_BELOW).await
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
            }

            #[async_trait]
            impl MessageStore for $store {
                fn parallel_batches(&self) -> usize {
                    Self::PARALLEL_BATCHES
                }

                async fn append_messages(
                    &self,
                    batch: &[NewStoredMessage],
                    terms: &[Term],
                ) -> StoreResult<Vec<StoreResult<Appended<SealedBody>>>> {
                    if batch.is_empty() {
                        return Ok(vec![]);
                    }
                    if let Some(done) = self.append_natively(batch, terms).await {
                        return done;
                    }
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let plan = Plan::new(batch, stored_by_key(&mut tx, &client_keys(batch)).await?);
                    Self::lock_conversations(&mut tx, plan.counts.iter().map(|(id, ..)| *id)).await?;
                    let mut reserved = reserve_seqs(&mut tx, &plan.counts).await?;
                    let (rows, outcome) = plan.number(&mut reserved);
                    insert_messages(&mut tx, &rows).await?;
                    queue_replies(&mut tx, &rows).await?;
                    insert_terms(&mut tx, terms_of_reserved(terms, &reserved), false).await?;
                    tx.commit().await.map_err(db_err)?;
                    Ok(plan.finish(outcome))
                }

                async fn messages_by_id(&self, ids: &[MessageId]) -> StoreResult<Vec<StoredMessage>> {
                    let mut found = Vec::with_capacity(ids.len());
                    for chunk in ids.chunks(CHUNK) {
                        let mut q = QueryBuilder::<$db>::new(sql::MESSAGES_BY_ID);
                        let mut list = q.separated(", ");
                        for id in chunk {
                            list.push_bind(id.to_string());
                        }
                        list.push_unseparated(")");
                        for row in q.build_query_as::<MessageRow>().fetch_all(&self.pool).await.map_err(db_err)? {
                            found.push(row.into_record()?);
                        }
                    }
                    Ok(found)
                }

                async fn messages_after_each(&self, ends: &[(ConversationId, i64)]) -> StoreResult<Vec<StoredMessage>> {
                    let mut found = Vec::new();
                    // Two values per end; each `OR` term is one range of the
                    // (conversation_id, seq) key on either database.
                    for chunk in ends.chunks(CHUNK / 2) {
                        let mut q = QueryBuilder::<$db>::new(sql::MESSAGES_AFTER_EACH);
                        for (i, (conversation, after)) in chunk.iter().enumerate() {
                            q.push(if i == 0 { "(conversation_id = " } else { " OR (conversation_id = " });
                            q.push_bind(conversation.to_string()).push(" AND seq > ").push_bind(*after).push(")");
                        }
                        for row in q.build_query_as::<MessageRow>().fetch_all(&self.pool).await.map_err(db_err)? {
                            found.push(row.into_record()?);
                        }
                    }
                    Ok(found)
                }

                async fn events_and_files(
                    &self,
                    conversation: ConversationId,
                    after: i64,
                    limit: u32,
                ) -> StoreResult<Vec<StoredMessage>> {
                    let rows: Vec<MessageRow> = sqlx::query_as(sql::EVENTS_AND_FILES)
                        .bind(conversation.to_string())
                        .bind(after)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(MessageRow::into_record).collect()
                }

                async fn message_by_client_key(&self, key: &str) -> StoreResult<Option<StoredMessage>> {
                    let row: Option<MessageRow> = sqlx::query_as(sql::MESSAGE_BY_CLIENT_KEY)
                        .bind(key)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(MessageRow::into_record).transpose()
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
                    let statement = if backwards { sql::MESSAGES_BACKWARDS } else { sql::MESSAGES_FORWARDS };
                    let rows: Vec<MessageRow> = sqlx::query_as(statement)
                        .bind(conversation.to_string())
                        .bind(after)
                        .bind(before)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    let mut out = rows.into_iter().map(MessageRow::into_record).collect::<StoreResult<Vec<_>>>()?;
                    if backwards {
                        out.reverse();
                    }
                    Ok(out)
                }

                async fn activity(&self, from: Millis, to: Millis) -> StoreResult<Vec<ChannelMessage<SealedBody>>> {
                    let rows: Vec<ChannelMessageRow> = sqlx::query_as(sql::ACTIVITY)
                        .bind(from)
                        .bind(to)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(ChannelMessageRow::into_record).collect()
                }
            }

            #[async_trait]
            impl SearchStore for $store {
                async fn add_terms(&self, terms: &[Term]) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    insert_terms(&mut tx, terms.iter().collect(), true).await?;
                    tx.commit().await.map_err(db_err)
                }
            }
        };
    };
}

pub(crate) use impl_conversation_store;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use ostrog_domain::contact::NameSource;
    use ostrog_domain::conversation::State;
    use ostrog_domain::ids::{ConversationId, EmployeeId, VisitorId, WidgetId};
    use ostrog_domain::widget::{WidgetSettings, WorkingHours};
    use ostrog_store::{ConversationFilter, ConversationRecord, SealedName, Source, Store, Term, VisitorRecord};

    /// Twelve conversations, newest last: "every" in all of them, "some" in
    /// 2, 5 and 9 (9 by its contact's name), "pair" in 5 only; the odd ones
    /// assigned to one operator.
    async fn seed(store: &dyn Store) -> (EmployeeId, Vec<ConversationId>) {
        use ostrog_domain::employee::{Employee, EmployeeStatus};
        let operator = Employee {
            id: EmployeeId::random(),
            email: "op@example.com".into(),
            name: "Operator".into(),
            role: ostrog_domain::role::Role::Operator,
            status: EmployeeStatus::Active,
            created_at: 1,
        };
        let new =
            ostrog_store::NewEmployee { employee: operator.clone(), password_hash: None, must_change_password: false };
        store.create_employee(&new).await.unwrap();
        let operator = operator.id;
        let widget = ostrog_store::WidgetRecord {
            id: WidgetId::random(),
            settings: WidgetSettings {
                name: "Shop".into(),
                greeting: String::new(),
                working_hours: WorkingHours::default(),
                allowed_origins: vec![],
                language: Default::default(),
            },
            secret: vec![1],
            created_at: 1,
        };
        store.create_widget(&widget).await.unwrap();
        let mut ids = Vec::new();
        for i in 0..12_i64 {
            let visitor = VisitorRecord {
                id: VisitorId::random(),
                source: Source::Widget(widget.id),
                external: None,
                created_at: 1,
            };
            store.create_visitor(&visitor, None).await.unwrap();
            let c = ConversationRecord {
                id: ConversationId::random(),
                visitor_id: visitor.id,
                channel: "widget".into(),
                state: State::Closed,
                operator: (i % 2 == 1).then_some(operator),
                last_seq: 0,
                created_at: 10 + i,
                updated_at: 10 + i,
            };
            store.create_conversation(&c).await.unwrap();
            let mut words = vec!["every"];
            words.extend(match i {
                2 => &["some"][..],
                5 => &["some", "pair"][..],
                _ => &[][..],
            });
            let terms: Vec<Term> =
                words.iter().map(|w| Term { conversation: c.id, term: w.as_bytes().to_vec() }).collect();
            store.add_terms(&terms).await.unwrap();
            if i == 9 {
                let name = SealedName { sealed: vec![9], source: NameSource::Operator };
                store.set_contact_name(visitor.id, &name, &[b"some".to_vec()], 20).await.unwrap();
            }
            ids.push(c.id);
        }
        (operator, ids)
    }

    /// Each search, from the word's side (every word counts as rare) and
    /// from the conversations' side (none does): the same page, newest first.
    macro_rules! both_ways_agree {
        ($store:expr) => {{
            let store = $store;
            let (operator, ids) = seed(&store).await;
            let search = |words: &[&str], operator: Option<EmployeeId>, limit: u32| ConversationFilter {
                terms: words.iter().map(|w| w.as_bytes().to_vec()).collect(),
                operator,
                limit,
                ..Default::default()
            };
            let expected = |numbers: &[usize]| numbers.iter().map(|&n| ids[n]).collect::<Vec<_>>();
            let cases = [
                (search(&["some"], None, 10), expected(&[9, 5, 2])),
                (search(&["every"], None, 3), expected(&[11, 10, 9])),
                (search(&["every", "some"], None, 10), expected(&[9, 5, 2])),
                (search(&["some", "pair"], None, 10), expected(&[5])),
                (search(&["some", "absent"], None, 10), expected(&[])),
                (search(&["some"], Some(operator), 10), expected(&[9, 5])),
                (search(&["every"], Some(operator), 2), expected(&[11, 9])),
            ];
            for (filter, expected) in cases {
                for below in [i64::MAX, 0] {
                    let found = store.list_searching(&filter, below).await.unwrap();
                    let found: Vec<ConversationId> = found.iter().map(|c| c.id).collect();
                    assert_eq!(found, expected, "{filter:?} with term_first_below {below}");
                }
            }
            // Paging past the first page, from the word's side.
            let first = &store.list_searching(&search(&["some"], None, 1), i64::MAX).await.unwrap()[0];
            let next = ConversationFilter { before: Some((first.updated_at, first.id)), ..search(&["some"], None, 10) };
            let rest: Vec<ConversationId> =
                store.list_searching(&next, i64::MAX).await.unwrap().iter().map(|c| c.id).collect();
            assert_eq!(rest, expected(&[5, 2]));
        }};
    }

    #[tokio::test]
    async fn searching_from_either_side_finds_the_same_on_sqlite() {
        let dir = std::env::temp_dir().join(format!("ostrog-search-{}", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite:{}", dir.join("ostrog.db").display());
        both_ways_agree!(crate::SqliteStore::connect(&url).await.unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn searching_from_either_side_finds_the_same_on_postgres() {
        let admin = std::env::var("OSTROG_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let url = crate::create_fresh_postgres_database(&admin, "ostrog_t").await.unwrap();
        let checked = tokio::spawn({
            let url = url.clone();
            async move { both_ways_agree!(crate::PostgresStore::connect(&url).await.unwrap()) }
        })
        .await;
        crate::drop_postgres_database(&admin, &url).await.unwrap();
        if let Err(failure) = checked {
            std::panic::resume_unwind(failure.into_panic());
        }
    }
}
