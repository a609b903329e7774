//! PostgreSQL's batch of new messages in one round trip instead of eight:
//! one statement that locks the conversations, reserves their numbers,
//! inserts the messages, queues the channel replies and indexes the terms,
//! committed on its own (a single statement is its own transaction). The statements' texts never change
//! with the batch's size (arrays, not rows of parameters), so each is
//! prepared once per connection. The plan (`batch.rs`) is the one SQLite's
//! appender runs; only the statements differ.

use crate::batch::{Plan, client_keys, note_reserved};
use crate::conversations::{MessageRow, ReservedRow};
use crate::error::db_err;
use crate::postgres::PostgresStore;
use ostrog_store::{Appended, Content, NewStoredMessage, SealedBody, StoreError, StoreResult, Term};
use sqlx::PgConnection;
use std::collections::HashMap;

mod sql {
    /// The messages already stored under some of a batch's keys.
    pub(super) const STORED_BY_KEY: &str = "SELECT conversation_id, seq, id, client_key, author_kind, author_id, \
         kind, body, sealed, at FROM messages WHERE client_key = ANY($1)";

    /// The whole write. `$1`–`$3`: each conversation, how many new messages
    /// it gets and the latest one's time. `$4`–`$13`: the new messages, each
    /// with its rank among its conversation's new ones (its number is the
    /// first reserved one plus its rank). `$14`–`$15`: the search terms.
    ///
    /// `locked` takes the conversations' row locks in the order of their
    /// ids, as every multi-conversation writer does (`lock_conversations`),
    /// so that two writers never wait on each other in a cycle. The
    /// `reserve` update is gated on it by a condition that refers to no row
    /// (PostgreSQL evaluates such a "one-time filter" before the update reads
    /// anything), so no row is locked in the update's own order first.
    /// Sub-statements see the snapshot taken when the statement began; the
    /// update still adds to the latest `last_seq` (under READ COMMITTED an
    /// update re-reads a row changed since), and the rest only read what
    /// does not change (a conversation's visitor, a visitor's channel).
    pub(super) const WRITE: &str = "WITH locked AS MATERIALIZED ( \
             SELECT id FROM conversations WHERE id = ANY($1) ORDER BY id FOR UPDATE), \
         reserved AS ( \
             UPDATE conversations c SET last_seq = c.last_seq + v.n, updated_at = GREATEST(c.updated_at, v.at) \
             FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v(id, n, at) \
             WHERE c.id = v.id AND (SELECT count(*) FROM locked) >= 0 \
             RETURNING c.id, c.last_seq, c.last_seq - v.n + 1 AS first, c.state, c.operator_id, c.visitor_id), \
         inserted AS ( \
             INSERT INTO messages (conversation_id, seq, id, client_key, author_kind, author_id, kind, body, \
                 sealed, at) \
             SELECT m.conversation_id, r.first + m.rank, m.id, m.client_key, m.author_kind, m.author_id, m.kind, \
                 m.body, m.sealed, m.at \
             FROM unnest($4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
                 $11::text[], $12::bytea[], $13::bigint[]) \
                 AS m(conversation_id, rank, id, client_key, author_kind, author_id, kind, body, sealed, at) \
             JOIN reserved r ON r.id = m.conversation_id \
             RETURNING conversation_id, seq, id, author_kind, kind, at), \
         queued AS ( \
             INSERT INTO channel_outbox (message_id, conversation_id, seq, channel_id, status, attempts, \
                 next_attempt_at, created_at) \
             SELECT i.id, i.conversation_id, i.seq, v.channel_id, 'pending', 0, i.at, i.at \
             FROM inserted i JOIN reserved r ON r.id = i.conversation_id JOIN visitors v ON v.id = r.visitor_id \
             WHERE v.channel_id IS NOT NULL AND i.author_kind = 'employee' AND i.kind IN ('text', 'file')), \
         indexed AS ( \
             INSERT INTO message_terms (conversation_id, term) \
             SELECT t.conversation_id, t.term FROM unnest($14::text[], $15::bytea[]) AS t(conversation_id, term) \
             WHERE t.conversation_id IN (SELECT id FROM reserved) ORDER BY t.conversation_id, t.term \
             ON CONFLICT DO NOTHING) \
         SELECT id, last_seq, state, operator_id FROM reserved";
}

/// The columns of `sql::WRITE`'s new messages, one array each.
#[derive(Default)]
struct Columns<'a> {
    conversation_id: Vec<String>,
    rank: Vec<i64>,
    id: Vec<String>,
    client_key: Vec<Option<&'a str>>,
    author_kind: Vec<&'static str>,
    author_id: Vec<Option<String>>,
    kind: Vec<&'a str>,
    body: Vec<&'a str>,
    sealed: Vec<Option<&'a [u8]>>,
    at: Vec<i64>,
}

impl<'a> Columns<'a> {
    fn of(fresh: impl Iterator<Item = (&'a NewStoredMessage, i64)>) -> Self {
        let mut c = Columns::default();
        for (m, rank) in fresh {
            let (body, sealed) = match &m.body.content {
                Content::Sealed(bytes) => ("", Some(bytes.as_slice())),
                Content::Legacy(text) => (text.as_str(), None),
            };
            c.conversation_id.push(m.conversation_id.to_string());
            c.rank.push(rank);
            c.id.push(m.id.to_string());
            c.client_key.push(m.client_key.as_deref());
            c.author_kind.push(m.author.kind());
            c.author_id.push(m.author.id().map(|id| id.to_string()));
            c.kind.push(&m.body.kind);
            c.body.push(body);
            c.sealed.push(sealed);
            c.at.push(m.at);
        }
        c
    }
}

impl PostgresStore {
    /// Resends are rare, so a batch is first written as if none of its keys
    /// were stored: the unique index on client keys refuses the whole
    /// statement if one was, and only then are the stored ones looked up
    /// and left out. (A lookup first would be a second round trip for every
    /// batch, planned once per connection while the table was small: a
    /// sequential scan, which took seconds a batch once it had grown.)
    pub(crate) async fn append_in_one_statement(
        &self,
        batch: &[NewStoredMessage],
        terms: &[Term],
    ) -> StoreResult<Vec<StoreResult<Appended<SealedBody>>>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        match write(&mut conn, Plan::new(batch, HashMap::new()), terms).await {
            Err(StoreError::Conflict("message")) => {}
            done => return done,
        }
        let keys = client_keys(batch);
        // Planned for the keys given and the table as it is now.
        let rows: Vec<MessageRow> = sqlx::query_as(sql::STORED_BY_KEY)
            .bind(&keys)
            .persistent(false)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        let mut stored = HashMap::with_capacity(rows.len());
        for row in rows {
            let m = row.into_record()?;
            stored.insert(m.client_key.clone().unwrap_or_default(), m);
        }
        write(&mut conn, Plan::new(batch, stored), terms).await
    }
}

/// `sql::WRITE` for the plan's new messages: every entry's outcome.
async fn write(
    conn: &mut PgConnection,
    plan: Plan<'_>,
    terms: &[Term],
) -> StoreResult<Vec<StoreResult<Appended<SealedBody>>>> {
    let (mut ids, mut counts, mut latest) = (vec![], vec![], vec![]);
    for (id, n, at) in &plan.counts {
        ids.push(id.to_string());
        counts.push(*n);
        latest.push(*at);
    }
    let m = Columns::of(plan.fresh());
    let (term_conversations, term_words): (Vec<String>, Vec<&[u8]>) =
        terms.iter().map(|t| (t.conversation.to_string(), t.term.as_slice())).unzip();
    let rows: Vec<ReservedRow> = sqlx::query_as(sql::WRITE)
        .bind(ids)
        .bind(counts)
        .bind(latest)
        .bind(m.conversation_id)
        .bind(m.rank)
        .bind(m.id)
        .bind(m.client_key)
        .bind(m.author_kind)
        .bind(m.author_id)
        .bind(m.kind)
        .bind(m.body)
        .bind(m.sealed)
        .bind(m.at)
        .bind(term_conversations)
        .bind(term_words)
        .fetch_all(conn)
        .await
        .map_err(db_err)?;
    let mut reserved = HashMap::with_capacity(rows.len());
    note_reserved(&mut reserved, &plan.counts, rows)?;
    let (_, outcome) = plan.number(&mut reserved);
    Ok(plan.finish(outcome))
}
