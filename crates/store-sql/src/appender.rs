//! SQLite's appender: one thread that owns one connection and writes each
//! batch of messages in one go. Through sqlx, a batch is six round trips to
//! the connection's worker thread (begin, look up keys, reserve numbers,
//! insert, index, commit), each waking two threads; at 1,000 messages a
//! second those wake-ups were most of the server's CPU (docs/benchmarks.md,
//! issue 24). Here the writer task hands the batch over once and is woken
//! once. The statements are the ones the sqlx path runs (`conversations.rs`),
//! and so is the plan (`batch.rs`).

use crate::batch::{Plan, Reserved, client_keys, note_reserved, ordered, replies, terms_of_reserved};
use crate::conversations::{CHUNK, MessageRow, ReservedRow, sql};
use crate::sqlite::TUNING;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::ConversationId;
use ostrog_store::{Appended, Content, NewStoredMessage, SealedBody, StoreError, StoreResult, StoredMessage, Term};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params_from_iter, types::Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

type Outcomes = StoreResult<Vec<StoreResult<Appended<SealedBody>>>>;

struct Request {
    batch: Vec<NewStoredMessage>,
    terms: Vec<Term>,
    reply: oneshot::Sender<Outcomes>,
}

/// The handle: the thread ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Appender {
    requests: mpsc::Sender<Request>,
}

impl Appender {
    /// Opens the (already migrated) database at `path` on a thread of its own.
    pub(crate) fn start(path: &Path) -> StoreResult<Self> {
        let conn = open(path).map_err(failed)?;
        let (requests, queue) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("sqlite-appender".into())
            .spawn(move || serve(conn, queue))
            .map_err(|e| StoreError::Database(format!("cannot start the SQLite appender: {e}")))?;
        Ok(Self { requests })
    }

    /// `MessageStore::append_messages`, in one transaction on the appender's thread.
    pub(crate) async fn append(&self, batch: &[NewStoredMessage], terms: &[Term]) -> Outcomes {
        let (reply, answer) = oneshot::channel();
        let request = Request { batch: batch.to_vec(), terms: terms.to_vec(), reply };
        let gone = || StoreError::Database("the SQLite appender has stopped".into());
        self.requests.send(request).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// How long a batch waits for another writer (a state change, a
/// checkpoint, a VACUUM): as long as a write through the pool waits for
/// its connection.
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// How often a batch that finds the database locked tries again. SQLite's
/// own handler (`busy_timeout`) sleeps 1, 2, 5, 10 … up to 100 ms between
/// tries: batches that met routing's writes waited 34 to 533 ms for a
/// lock held a few milliseconds (docs/benchmarks.md).
const RETRY_EVERY: Duration = Duration::from_micros(250);

/// SQLite's busy handler: `tries` so far; false gives up (SQLITE_BUSY).
fn wait_for_lock(tries: i32) -> bool {
    let waited = RETRY_EVERY.saturating_mul(u32::try_from(tries).unwrap_or(u32::MAX));
    if waited >= LOCK_WAIT {
        return false;
    }
    std::thread::sleep(RETRY_EVERY);
    true
}

/// The connection, set up as the pool's are (`sqlite.rs`): `synchronous`
/// and the rest are settings of a connection, not of the file.
fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_handler(Some(wait_for_lock))?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    for (name, value) in TUNING {
        conn.pragma_update(None, name, value)?;
    }
    Ok(conn)
}

fn serve(mut conn: Connection, queue: mpsc::Receiver<Request>) {
    while let Ok(Request { batch, terms, reply }) = queue.recv() {
        // A writer that stopped waiting still gets its batch stored: resent,
        // each message is found by its key.
        let _ = reply.send(append(&mut conn, &batch, &terms));
    }
}

fn append(conn: &mut Connection, batch: &[NewStoredMessage], terms: &[Term]) -> Outcomes {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(failed)?;
    let plan = Plan::new(batch, stored_by_key(&tx, &client_keys(batch))?);
    let mut reserved = reserve_seqs(&tx, &plan.counts)?;
    let (rows, outcome) = plan.number(&mut reserved);
    insert_messages(&tx, &rows)?;
    queue_replies(&tx, &rows)?;
    insert_terms(&tx, ordered(terms_of_reserved(terms, &reserved)))?;
    tx.commit().map_err(failed)?;
    Ok(plan.finish(outcome))
}

/// `n` placeholders: `?, ?, ?`.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `n` rows of `width` placeholders: `VALUES (?, ?), (?, ?)`.
fn values(n: usize, width: usize) -> String {
    format!("VALUES {}", vec![format!("({})", placeholders(width)); n].join(", "))
}

fn text(s: impl ToString) -> Value {
    Value::Text(s.to_string())
}

fn stored_by_key(conn: &Connection, keys: &[&str]) -> StoreResult<HashMap<String, StoredMessage>> {
    let mut found = HashMap::new();
    for chunk in keys.chunks(CHUNK) {
        let sql = format!("{}{})", sql::STORED_BY_KEY, placeholders(chunk.len()));
        let mut statement = conn.prepare_cached(&sql).map_err(failed)?;
        let rows = statement.query_map(params_from_iter(chunk.iter()), message_row).map_err(failed)?;
        for row in rows {
            let m = row.map_err(failed)?.into_record()?;
            found.insert(m.client_key.clone().unwrap_or_default(), m);
        }
    }
    Ok(found)
}

fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        conversation_id: r.get(0)?,
        seq: r.get(1)?,
        id: r.get(2)?,
        client_key: r.get(3)?,
        author_kind: r.get(4)?,
        author_id: r.get(5)?,
        kind: r.get(6)?,
        body: r.get(7)?,
        sealed: r.get(8)?,
        at: r.get(9)?,
    })
}

fn reserve_seqs(conn: &Connection, counts: &[(ConversationId, i64, Millis)]) -> StoreResult<Reserved> {
    let mut reserved = HashMap::with_capacity(counts.len());
    for chunk in counts.chunks(CHUNK) {
        let sql = format!("{}{}{}", sql::RESERVE_SEQS, values(chunk.len(), 3), sql::RESERVE_SEQS_END);
        let params = chunk.iter().flat_map(|(id, n, at)| [text(id), Value::Integer(*n), Value::Integer(*at)]);
        let mut statement = conn.prepare_cached(&sql).map_err(failed)?;
        let rows = statement
            .query_map(params_from_iter(params), |r| {
                Ok(ReservedRow { id: r.get(0)?, last_seq: r.get(1)?, state: r.get(2)?, operator_id: r.get(3)? })
            })
            .and_then(Iterator::collect)
            .map_err(failed)?;
        note_reserved(&mut reserved, chunk, rows)?;
    }
    Ok(reserved)
}

fn insert_messages(conn: &Connection, rows: &[StoredMessage]) -> StoreResult<()> {
    for chunk in rows.chunks(CHUNK) {
        let sql = format!("{}{}", sql::INSERT_MESSAGES, values(chunk.len(), 10));
        let params = chunk.iter().flat_map(|m| {
            let (body, sealed) = match &m.body.content {
                Content::Sealed(bytes) => (String::new(), Value::Blob(bytes.clone())),
                Content::Legacy(text) => (text.clone(), Value::Null),
            };
            [
                text(m.conversation_id),
                Value::Integer(m.seq),
                text(m.id),
                m.client_key.clone().map_or(Value::Null, Value::Text),
                text(m.author.kind()),
                m.author.id().map_or(Value::Null, text),
                text(&m.body.kind),
                Value::Text(body),
                sealed,
                Value::Integer(m.at),
            ]
        });
        conn.prepare_cached(&sql).and_then(|mut s| s.execute(params_from_iter(params))).map_err(failed)?;
    }
    Ok(())
}

fn queue_replies(conn: &Connection, rows: &[StoredMessage]) -> StoreResult<()> {
    for chunk in replies(rows).chunks(CHUNK) {
        let sql = format!("{}{}{}", sql::QUEUE_REPLIES, values(chunk.len(), 4), sql::QUEUE_REPLIES_END);
        let params = chunk
            .iter()
            .flat_map(|m| [text(m.id), text(m.conversation_id), Value::Integer(m.seq), Value::Integer(m.at)]);
        conn.prepare_cached(&sql).and_then(|mut s| s.execute(params_from_iter(params))).map_err(failed)?;
    }
    Ok(())
}

fn insert_terms(conn: &Connection, terms: Vec<&Term>) -> StoreResult<()> {
    for chunk in terms.chunks(CHUNK) {
        let sql = format!(
            "{}{}{}{}",
            sql::INSERT_TERMS,
            values(chunk.len(), 2),
            sql::INSERT_TERMS_ALL,
            sql::ON_CONFLICT_DO_NOTHING
        );
        let params = chunk.iter().flat_map(|t| [text(t.conversation), Value::Blob(t.term.clone())]);
        conn.prepare_cached(&sql).and_then(|mut s| s.execute(params_from_iter(params))).map_err(failed)?;
    }
    Ok(())
}

/// As `error::db_err` translates sqlx's errors.
fn failed(e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi::{SQLITE_CONSTRAINT_FOREIGNKEY, SQLITE_CONSTRAINT_UNIQUE};
    match e.sqlite_error().map(|f| f.extended_code) {
        Some(SQLITE_CONSTRAINT_UNIQUE) => StoreError::Conflict("message"),
        Some(SQLITE_CONSTRAINT_FOREIGNKEY) => StoreError::NotFound,
        _ => StoreError::Database(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::open;
    use rusqlite::types::Value;

    /// What makes an acknowledged message survive a power cut is a setting
    /// of the connection: the appender's must say FULL, as the pool's do.
    #[test]
    fn the_appender_connection_is_durable_and_checks_foreign_keys() {
        let dir = std::env::temp_dir().join(format!("ostrog-appender-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ostrog.db");
        rusqlite::Connection::open(&path).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
        let conn = open(&path).unwrap();
        let pragma = |name: &str| match conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0)).unwrap() {
            Value::Integer(n) => n.to_string(),
            Value::Text(t) => t,
            other => format!("{other:?}"),
        };
        assert_eq!(pragma("journal_mode"), "wal");
        assert_eq!(pragma("synchronous"), "2", "2 is FULL");
        assert_eq!(pragma("foreign_keys"), "1");
        assert_eq!(pragma("wal_autocheckpoint"), "0");
        drop(conn);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
