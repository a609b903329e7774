//! What a batch of new messages becomes, decided apart from how it is
//! written: which messages are new (not stored, and the first of their key
//! in the batch), how many numbers each conversation needs, each message's
//! number once they are reserved, and each entry's outcome. The sqlx path
//! (`conversations.rs`) and SQLite's appender thread (`appender.rs`) run the
//! same plan with their own statements.

use crate::conversations::{ReservedRow, record};
use ostrog_domain::clock::Millis;
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ConversationId, EmployeeId};
use ostrog_store::{Appended, NewStoredMessage, SealedBody, StoreError, StoreResult, StoredMessage, Term};
use std::collections::HashMap;

/// A conversation's first reserved number, and its state and operator
/// after the write (what `RESERVE_SEQS` returns).
pub(crate) type Reserved = HashMap<ConversationId, (i64, State, Option<EmployeeId>)>;

type Outcome = StoreResult<Appended<SealedBody>>;

pub(crate) struct Plan<'a> {
    batch: &'a [NewStoredMessage],
    stored: HashMap<String, StoredMessage>,
    first_of_key: HashMap<&'a str, usize>,
    fresh: Vec<usize>,
    /// (conversation, how many new messages, the latest one's time).
    pub(crate) counts: Vec<(ConversationId, i64, Millis)>,
}

/// The client keys a batch carries: the ones to look up before planning.
pub(crate) fn client_keys(batch: &[NewStoredMessage]) -> Vec<&str> {
    batch.iter().filter_map(|m| m.client_key.as_deref()).collect()
}

impl<'a> Plan<'a> {
    /// `stored`: the messages already stored under the batch's keys, by key.
    pub(crate) fn new(batch: &'a [NewStoredMessage], stored: HashMap<String, StoredMessage>) -> Self {
        let mut first_of_key: HashMap<&str, usize> = HashMap::new();
        let mut fresh = Vec::with_capacity(batch.len());
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
        let counts = counts.into_iter().map(|(id, (n, at))| (id, n, at)).collect();
        Self { batch, stored, first_of_key, fresh, counts }
    }

    /// The new messages in batch order, each with how many new messages of
    /// its conversation come before it: the number `number` gives it is the
    /// conversation's first reserved one plus that rank.
    pub(crate) fn fresh(&self) -> impl Iterator<Item = (&'a NewStoredMessage, i64)> + '_ {
        let mut ranks: HashMap<ConversationId, i64> = HashMap::with_capacity(self.counts.len());
        self.fresh.iter().map(move |&i| {
            let m = &self.batch[i];
            let rank = ranks.entry(m.conversation_id).or_insert(0);
            *rank += 1;
            (m, *rank - 1)
        })
    }

    /// Numbers the new messages in batch order from the reserved numbers:
    /// the rows to insert, and the outcome of every entry decided so far
    /// (a message to a conversation that does not exist is `NotFound`).
    pub(crate) fn number(&self, reserved: &mut Reserved) -> (Vec<StoredMessage>, Vec<Option<Outcome>>) {
        let mut rows = Vec::with_capacity(self.fresh.len());
        let mut outcome: Vec<Option<Outcome>> = (0..self.batch.len()).map(|_| None).collect();
        for &i in &self.fresh {
            let m = &self.batch[i];
            let Some((seq, state, operator)) = reserved.get_mut(&m.conversation_id) else {
                outcome[i] = Some(Err(StoreError::NotFound));
                continue;
            };
            let message = record(m, *seq);
            *seq += 1;
            rows.push(message.clone());
            outcome[i] = Some(Ok(Appended::Stored { message, state: *state, operator: *operator }));
        }
        (rows, outcome)
    }

    /// Every entry's outcome once committed: resends are `Duplicate` of the
    /// stored message, or of the one stored earlier in this batch.
    pub(crate) fn finish(self, mut outcome: Vec<Option<Outcome>>) -> Vec<Outcome> {
        for (i, m) in self.batch.iter().enumerate() {
            if outcome[i].is_some() {
                continue;
            }
            let key = m.client_key.as_deref().unwrap_or_default();
            let earlier = self.first_of_key.get(key).and_then(|&j| match &outcome[j] {
                Some(Ok(a)) => Some(a.message().clone()),
                _ => None,
            });
            outcome[i] = Some(match self.stored.get(key).cloned().or(earlier) {
                Some(message) => Ok(Appended::Duplicate(message)),
                None => Err(StoreError::NotFound),
            });
        }
        outcome.into_iter().map(|o| o.unwrap_or(Err(StoreError::NotFound))).collect()
    }
}

/// Adds what `RESERVE_SEQS` answered for `chunk` of the counts: each row
/// holds the last number taken, the first one reserved is `count` before.
pub(crate) fn note_reserved(
    reserved: &mut Reserved,
    chunk: &[(ConversationId, i64, Millis)],
    rows: Vec<ReservedRow>,
) -> StoreResult<()> {
    let wanted: HashMap<ConversationId, i64> = chunk.iter().map(|(c, n, _)| (*c, *n)).collect();
    for row in rows {
        let (id, last, state, operator) = row.into_record()?;
        let count = wanted.get(&id).copied().unwrap_or(0);
        reserved.insert(id, (last - count + 1, state, operator));
    }
    Ok(())
}

/// The terms of conversations this transaction reserved numbers in: only
/// those are locked, so the writer cannot deadlock with anyone over terms.
pub(crate) fn terms_of_reserved<'t>(terms: &'t [Term], reserved: &Reserved) -> Vec<&'t Term> {
    terms.iter().filter(|t| reserved.contains_key(&t.conversation)).collect()
}

/// The employees' texts and files among `rows`: the ones that may go to a
/// channel's contact (`QUEUE_REPLIES` leaves out those of widget visitors).
pub(crate) fn replies(rows: &[StoredMessage]) -> Vec<&StoredMessage> {
    rows.iter()
        .filter(|m| matches!(m.author, ostrog_domain::message::Author::Employee(_)))
        .filter(|m| m.body.kind == "text" || m.body.kind == "file")
        .collect()
}

/// Terms sorted and without repeats: every writer inserts them in one order.
pub(crate) fn ordered(mut terms: Vec<&Term>) -> Vec<&Term> {
    terms.sort();
    terms.dedup();
    terms
}
