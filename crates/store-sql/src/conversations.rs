//! The queries of widgets, visitors, conversations, messages, search terms,
//! routing loads, re-sealing and files (`WidgetStore` … `FileStore`),
//! written once for both dialects like `queries.rs`. Messages are written in batches: one transaction, one
//! sequence update per conversation and one multi-row INSERT for many
//! messages, so that a busy server makes one commit (one fsync) for
//! hundreds of messages instead of one each.

use crate::codec;
use ostrog_domain::clock::Millis;
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ChannelId, ConversationId, EmployeeId, FileId, MessageId, VisitorId, WidgetId};
use ostrog_domain::widget::WidgetSettings;
use ostrog_store::{
    ChannelMessage, Content, ConversationRecord, External, FileRecord, Load, NewStoredMessage, SealedBody, Source,
    StoreError, StoreResult, StoredMessage, VisitorRecord, WidgetRecord,
};

/// Rows per multi-row statement: well under SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
pub(crate) const CHUNK: usize = 500;

/// The statements, `$N` placeholders for both dialects. A constant that
/// ends in `(` or a space is the start of a statement `QueryBuilder` ends.
pub(crate) mod sql {
    macro_rules! message_columns {
        () => {
            "conversation_id, seq, id, client_key, author_kind, author_id, kind, body, sealed, at"
        };
    }
    /// Messages with their conversation's channel and visitor.
    macro_rules! channel_messages {
        () => {
            "SELECT c.channel, c.visitor_id, m.conversation_id, m.seq, m.id, m.client_key, m.author_kind, \
             m.author_id, m.kind, m.body, m.sealed, m.at \
             FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        };
    }
    macro_rules! visitor_columns {
        () => {
            "id, widget_id, channel_id, external_index, external_sealed, created_at"
        };
    }
    macro_rules! conversation_columns {
        () => {
            "id, visitor_id, channel, state, operator_id, last_seq, created_at, updated_at"
        };
    }
    macro_rules! file_columns {
        () => {
            "id, conversation_id, uploader_kind, uploader_id, name, content_type, size, \
             sha256, sealed_key, created_at"
        };
    }

    pub(crate) const CHANGE_STATE: &str = "UPDATE conversations SET state = $2, \
         operator_id = CASE WHEN $3 THEN operator_id ELSE $4 END, \
         last_seq = last_seq + 1, updated_at = $5 \
         WHERE id = $1 AND state = $6 AND ($7 IS NULL OR operator_id = $7) \
         RETURNING last_seq, operator_id";
    pub(crate) const CREATE_WIDGET: &str =
        "INSERT INTO widgets (id, settings, secret, created_at) VALUES ($1, $2, $3, $4)";
    pub(crate) const WIDGET: &str =
        "SELECT id, settings, secret, created_at FROM widgets WHERE id = $1 AND deleted_at IS NULL";
    pub(crate) const LIST_WIDGETS: &str = "SELECT id, settings, secret, created_at FROM widgets WHERE deleted_at IS NULL \
         ORDER BY created_at, id";
    pub(crate) const UPDATE_WIDGET: &str = "UPDATE widgets SET settings = $2, secret = COALESCE($3, secret) \
         WHERE id = $1 AND deleted_at IS NULL";
    pub(crate) const DELETE_WIDGET: &str = "UPDATE widgets SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL";
    pub(crate) const ADD_VISITOR_TOKEN: &str =
        "INSERT INTO visitor_tokens (token_hash, visitor_id, created_at) VALUES ($1, $2, $3)";
    pub(crate) const VISITOR_BY_TOKEN: &str = "SELECT v.id, v.widget_id, v.channel_id, v.external_index, v.external_sealed, v.created_at \
         FROM visitor_tokens t JOIN visitors v ON v.id = t.visitor_id \
         WHERE t.token_hash = $1 AND v.widget_id = $2";
    pub(crate) const ERASE_VISITOR: &str = "UPDATE visitors SET external_id = NULL, external_index = NULL, external_sealed = NULL, \
         erased_at = $2 WHERE id = $1 AND erased_at IS NULL";
    pub(crate) const DELETE_VISITOR_TOKENS: &str = "DELETE FROM visitor_tokens WHERE visitor_id = $1";
    pub(crate) const CONVERSATION_ID_OF_VISITOR: &str = "SELECT id FROM conversations WHERE visitor_id = $1";
    pub(crate) const DELETE_CONSENTS: &str = "DELETE FROM consents WHERE visitor_id = $1";
    pub(crate) const FILE_IDS_OF_CONVERSATION: &str = "SELECT id FROM files WHERE conversation_id = $1";
    pub(crate) const DELETE_MESSAGES: &str = "DELETE FROM messages WHERE conversation_id = $1";
    pub(crate) const DELETE_CONVERSATION: &str = "DELETE FROM conversations WHERE id = $1";
    pub(crate) const RESEAL_MESSAGE: &str = "UPDATE messages SET sealed = $3, body = '' \
         WHERE conversation_id = $1 AND seq = $2 AND sealed IS NULL";
    pub(crate) const RESEAL_VISITOR: &str = "UPDATE visitors SET external_index = $2, external_sealed = $3, external_id = NULL \
         WHERE id = $1 AND external_index IS NULL";
    pub(crate) const SET_CHAT_LIMIT: &str =
        "UPDATE employees SET chat_limit = $2 WHERE id = $1 AND status <> 'deleted'";
    pub(crate) const CHAT_LIMIT: &str = "SELECT chat_limit FROM employees WHERE id = $1";
    pub(crate) const CREATE_FILE: &str = "INSERT INTO files (id, conversation_id, uploader_kind, uploader_id, name, content_type, \
         size, sha256, sealed_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    /// Followed by `$1, $2, …` for the keys, and `)`.
    pub(crate) const STORED_BY_KEY: &str =
        concat!("SELECT ", message_columns!(), " FROM messages WHERE client_key IN (");
    /// Followed by VALUES rows.
    pub(crate) const INSERT_MESSAGES: &str = concat!("INSERT INTO messages (", message_columns!(), ") ");
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
    pub(crate) const CREATE_VISITOR: &str =
        concat!("INSERT INTO visitors (", visitor_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6)");
    pub(crate) const VISITOR_BY_WIDGET_INDEX: &str =
        concat!("SELECT ", visitor_columns!(), " FROM visitors WHERE widget_id = $1 AND external_index = $2");
    pub(crate) const VISITOR_BY_CHANNEL_INDEX: &str =
        concat!("SELECT ", visitor_columns!(), " FROM visitors WHERE channel_id = $1 AND external_index = $2");
    pub(crate) const VISITOR: &str =
        concat!("SELECT ", visitor_columns!(), " FROM visitors WHERE id = $1 AND erased_at IS NULL");
    /// What an erased visitor's conversation leaves besides its messages.
    pub(crate) const DELETE_CONVERSATION_ROWS: [&str; 3] = [
        "DELETE FROM files WHERE conversation_id = $1",
        "DELETE FROM message_terms WHERE conversation_id = $1",
        "DELETE FROM channel_outbox WHERE conversation_id = $1",
    ];
    pub(crate) const CREATE_CONVERSATION: &str =
        concat!("INSERT INTO conversations (", conversation_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
    pub(crate) const CONVERSATION: &str =
        concat!("SELECT ", conversation_columns!(), " FROM conversations WHERE id = $1");
    pub(crate) const CONVERSATION_OF_VISITOR: &str =
        concat!("SELECT ", conversation_columns!(), " FROM conversations WHERE visitor_id = $1");
    /// Followed by the filter's conditions, then its page's order and limit.
    pub(crate) const LIST_CONVERSATIONS: &str =
        concat!("SELECT ", conversation_columns!(), " FROM conversations c WHERE 1 = 1");
    pub(crate) const LIST_IN_STATE: &str = " AND c.state = ";
    pub(crate) const LIST_OF_OPERATOR: &str = " AND c.operator_id = ";
    /// Followed by the term and `)`.
    pub(crate) const LIST_WITH_TERM: &str =
        " AND EXISTS (SELECT 1 FROM message_terms t WHERE t.conversation_id = c.id AND t.term = ";

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
    pub(crate) const MESSAGES_BY_ID: &str = concat!("SELECT ", message_columns!(), " FROM messages WHERE id IN (");
    pub(crate) const MESSAGE_BY_CLIENT_KEY: &str =
        concat!("SELECT ", message_columns!(), " FROM messages WHERE client_key = $1");
    macro_rules! messages {
        ($order:literal) => {
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE conversation_id = $1 AND seq > $2 \
                 AND ($3 IS NULL OR seq < $3) ORDER BY seq ",
                $order,
                " LIMIT $4"
            )
        };
    }
    pub(crate) const MESSAGES_FORWARDS: &str = messages!("ASC");
    pub(crate) const MESSAGES_BACKWARDS: &str = messages!("DESC");
    pub(crate) const ACTIVITY: &str = concat!(
        channel_messages!(),
        " WHERE m.kind <> 'note' AND m.conversation_id IN \
         (SELECT id FROM conversations WHERE updated_at >= $1 AND created_at < $2) \
         ORDER BY m.conversation_id, m.seq"
    );
    pub(crate) const LEGACY_MESSAGES: &str = concat!(
        channel_messages!(),
        " WHERE m.sealed IS NULL \
         AND (m.conversation_id > $1 OR (m.conversation_id = $1 AND m.seq > $2)) \
         ORDER BY m.conversation_id, m.seq LIMIT $3"
    );
    pub(crate) const LEGACY_VISITORS: &str = concat!(
        "SELECT ",
        visitor_columns!(),
        ", external_id FROM visitors WHERE external_id IS NOT NULL \
         AND external_index IS NULL AND erased_at IS NULL ORDER BY id LIMIT $1"
    );
    /// Followed by `$1, $2, …` for the operators, and `)`.
    pub(crate) const LOADS: &str = "SELECT e.id, e.chat_limit, \
         (SELECT COUNT(*) FROM conversations c WHERE c.operator_id = e.id \
          AND c.state = 'assigned') AS active, \
         (SELECT COALESCE(MAX(c.updated_at), 0) FROM conversations c \
          WHERE c.operator_id = e.id) AS last_at \
         FROM employees e WHERE e.id IN (";
    pub(crate) const FILE: &str = concat!("SELECT ", file_columns!(), " FROM files WHERE id = $1");
    pub(crate) const FILES_OF: &str =
        concat!("SELECT ", file_columns!(), " FROM files WHERE conversation_id = $1 ORDER BY created_at, id");
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

pub(crate) fn settings_json(s: &WidgetSettings) -> StoreResult<String> {
    serde_json::to_string(s).map_err(|e| StoreError::Corrupt(format!("widget settings: {e}")))
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

fn conversation_id(id: &str) -> StoreResult<ConversationId> {
    Ok(ConversationId(codec::uuid("conversation id", id)?))
}

#[derive(sqlx::FromRow)]
pub(crate) struct WidgetRow {
    id: String,
    settings: String,
    secret: Vec<u8>,
    created_at: Millis,
}

impl WidgetRow {
    pub(crate) fn into_record(self) -> StoreResult<WidgetRecord> {
        Ok(WidgetRecord {
            id: WidgetId(codec::uuid("widget id", &self.id)?),
            settings: codec::widget_settings(&self.settings)?,
            secret: self.secret,
            created_at: self.created_at,
        })
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
    id: String,
    last_seq: i64,
    state: String,
    operator_id: Option<String>,
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
    conversation_id: String,
    seq: i64,
    id: String,
    client_key: Option<String>,
    author_kind: String,
    author_id: Option<String>,
    kind: String,
    body: String,
    sealed: Option<Vec<u8>>,
    at: Millis,
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

#[derive(sqlx::FromRow)]
pub(crate) struct FileRow {
    id: String,
    conversation_id: String,
    uploader_kind: String,
    uploader_id: Option<String>,
    name: String,
    content_type: String,
    size: i64,
    sha256: String,
    sealed_key: Vec<u8>,
    created_at: Millis,
}

impl FileRow {
    pub(crate) fn into_record(self) -> StoreResult<FileRecord> {
        Ok(FileRecord {
            id: FileId(codec::uuid("file id", &self.id)?),
            conversation_id: conversation_id(&self.conversation_id)?,
            uploader: codec::author(&self.uploader_kind, self.uploader_id.as_deref())?,
            name: self.name,
            content_type: self.content_type,
            size: u64::try_from(self.size).map_err(|_| StoreError::Corrupt("file size".into()))?,
            sha256: self.sha256,
            sealed_key: self.sealed_key,
            created_at: self.created_at,
        })
    }
}

macro_rules! impl_conversation_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_domain::conversation::State;
            use ostrog_domain::ids::{ConversationId, EmployeeId, FileId, MessageId, VisitorId, WidgetId};
            use ostrog_domain::widget::WidgetSettings;
            use ostrog_store::{
                Appended, Change, ChannelMessage, Content, ConversationFilter, ConversationRecord, ConversationStore,
                Erased, External, FileRecord, FileStore, LegacySealStore, Load, MessageStore, NewStoredMessage,
                RoutingStore, SealedBody, SearchStore, Source, StoreError, StoreResult, StoredMessage, Term,
                VisitorRecord, VisitorStore, WidgetRecord, WidgetStore,
            };
            use sqlx::QueryBuilder;
            use std::collections::HashMap;
            use $crate::codec;
            use $crate::conversations::{
                CHUNK, ChangedRow, ChannelMessageRow, ConversationRow, FileRow, LegacyVisitorRow, LoadRow, MessageRow,
                ReservedRow, VisitorRow, WidgetRow, record, settings_json, source_columns, sql,
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
                let replies: Vec<&StoredMessage> = rows
                    .iter()
                    .filter(|m| matches!(m.author, ostrog_domain::message::Author::Employee(_)))
                    .filter(|m| m.body.kind == "text" || m.body.kind == "file")
                    .collect();
                for chunk in replies.chunks(CHUNK) {
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
                mut terms: Vec<&Term>,
                unless_gone: bool,
            ) -> StoreResult<()> {
                terms.sort();
                terms.dedup();
                for chunk in terms.chunks(CHUNK) {
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
            ) -> StoreResult<HashMap<ConversationId, (i64, State, Option<EmployeeId>)>> {
                let mut reserved = HashMap::with_capacity(counts.len());
                for chunk in counts.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(sql::RESERVE_SEQS);
                    q.push_values(chunk, |mut b, (id, count, at)| {
                        b.push_bind(id.to_string()).push_bind(*count).push_bind(*at);
                    });
                    q.push(sql::RESERVE_SEQS_END);
                    let wanted: HashMap<ConversationId, i64> = chunk.iter().map(|(c, n, _)| (*c, *n)).collect();
                    for row in q.build_query_as::<ReservedRow>().fetch_all(&mut **tx).await.map_err(db_err)? {
                        let (id, last, state, operator) = row.into_record()?;
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

            #[async_trait]
            impl WidgetStore for $store {
                async fn create_widget(&self, w: &WidgetRecord) -> StoreResult<()> {
                    sqlx::query(sql::CREATE_WIDGET)
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
                    let row: Option<WidgetRow> = sqlx::query_as(sql::WIDGET)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(WidgetRow::into_record).transpose()
                }

                async fn list_widgets(&self) -> StoreResult<Vec<WidgetRecord>> {
                    let rows: Vec<WidgetRow> =
                        sqlx::query_as(sql::LIST_WIDGETS).fetch_all(&self.pool).await.map_err(db_err)?;
                    rows.into_iter().map(WidgetRow::into_record).collect()
                }

                async fn update_widget(
                    &self,
                    id: WidgetId,
                    settings: &WidgetSettings,
                    secret: Option<&[u8]>,
                ) -> StoreResult<()> {
                    let done = sqlx::query(sql::UPDATE_WIDGET)
                        .bind(id.to_string())
                        .bind(settings_json(settings)?)
                        .bind(secret)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
                }

                async fn delete_widget(&self, id: WidgetId, at: Millis) -> StoreResult<()> {
                    let done = sqlx::query(sql::DELETE_WIDGET)
                        .bind(id.to_string())
                        .bind(at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
                }
            }

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
                    let page = if f.oldest_first { sql::OLDEST_FIRST } else { sql::NEWEST_FIRST };
                    let mut q = QueryBuilder::<$db>::new(sql::LIST_CONVERSATIONS);
                    if let Some(state) = f.state {
                        q.push(sql::LIST_IN_STATE).push_bind(state);
                    }
                    if let Some(operator) = f.operator {
                        q.push(sql::LIST_OF_OPERATOR).push_bind(operator.to_string());
                    }
                    for term in &f.terms {
                        q.push(sql::LIST_WITH_TERM).push_bind(term.clone()).push(")");
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
                    let rows = q.build_query_as::<ConversationRow>().fetch_all(&self.pool).await.map_err(db_err)?;
                    rows.into_iter().map(ConversationRow::into_record).collect()
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

            #[async_trait]
            impl FileStore for $store {
                async fn create_file(&self, f: &FileRecord) -> StoreResult<()> {
                    sqlx::query(sql::CREATE_FILE)
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
                    let row: Option<FileRow> = sqlx::query_as(sql::FILE)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(FileRow::into_record).transpose()
                }

                async fn files_of(&self, conversation: ConversationId) -> StoreResult<Vec<FileRecord>> {
                    let rows: Vec<FileRow> = sqlx::query_as(sql::FILES_OF)
                        .bind(conversation.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(FileRow::into_record).collect()
                }
            }
        };
    };
}

pub(crate) use impl_conversation_store;
