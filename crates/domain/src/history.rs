//! A conversation's history as rounds. A visitor has one conversation: when
//! they write again after it was closed, it reopens. Each stretch from its
//! opening (or a reopening) to its closing is what people call "a
//! conversation": the contact panel lists the earlier ones with their
//! dates and outcomes, and each opens read-only by its range of sequence
//! numbers. Derived from the conversation's events alone; nothing stored.

use crate::clock::Millis;
use crate::ids::EmployeeId;
use crate::message::Event;

/// One round of a conversation: the messages with `after_seq < seq <=
/// to_seq` (to the newest while it is open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    /// The sequence number the round follows (0 for the first): the
    /// previous round's closing.
    pub after_seq: i64,
    /// When it opened (queued or reopened).
    pub started_at: Millis,
    /// Its closing event's sequence number; `None` while it is open.
    pub to_seq: Option<i64>,
    pub closed_at: Option<Millis>,
    /// Who closed it; `None` when no employee did (or it is open).
    pub closed_by: Option<EmployeeId>,
    /// The last operator it was assigned or transferred to.
    pub operator: Option<EmployeeId>,
    /// The visitor's rating of its closing.
    pub rating: Option<u8>,
}

/// The rounds of a conversation from its events `(seq, at, event)` in
/// order, oldest first.
pub fn rounds<'a>(events: impl IntoIterator<Item = (i64, Millis, &'a Event)>) -> Vec<Round> {
    let mut done: Vec<Round> = Vec::new();
    let mut open: Option<Round> = None;
    for (seq, at, event) in events {
        // A rating follows its closing, before anything else opens.
        if let (Event::Rated { rating, .. }, None) = (event, &open) {
            if let Some(last) = done.last_mut() {
                last.rating = Some(*rating);
            }
            continue;
        }
        let after_seq = done.last().and_then(|r| r.to_seq).unwrap_or(0);
        let round = open.get_or_insert(Round {
            after_seq,
            started_at: at,
            to_seq: None,
            closed_at: None,
            closed_by: None,
            operator: None,
            rating: None,
        });
        match event {
            Event::Assigned { operator }
            | Event::Transferred { to: operator, .. }
            | Event::TakenOver { by: operator, .. } => round.operator = Some(*operator),
            Event::Closed { by } => {
                round.to_seq = Some(seq);
                round.closed_at = Some(at);
                round.closed_by = *by;
                done.extend(open.take());
            }
            // Requeued: the last operator stays the one it was with.
            Event::Queued | Event::Requeued { .. } | Event::Reopened | Event::Rated { .. } => {}
        }
    }
    done.extend(open);
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_closing_ends_a_round_and_the_rating_follows_it() {
        let (a, b) = (EmployeeId::random(), EmployeeId::random());
        let events = [
            (1, 10, Event::Queued),
            (3, 11, Event::Assigned { operator: a }),
            (6, 12, Event::Closed { by: Some(a) }),
            (7, 13, Event::Rated { rating: 4, comment: None }),
            (9, 20, Event::Reopened),
            (10, 21, Event::Assigned { operator: a }),
            (11, 22, Event::Transferred { from: a, to: b, note: String::new() }),
            (14, 23, Event::Closed { by: None }),
            (16, 30, Event::Reopened),
        ];
        let got = rounds(events.iter().map(|(s, t, e)| (*s, *t, e)));
        assert_eq!(got.len(), 3);
        assert_eq!(
            (got[0].after_seq, got[0].started_at, got[0].to_seq, got[0].closed_by, got[0].rating),
            (0, 10, Some(6), Some(a), Some(4))
        );
        assert_eq!((got[1].after_seq, got[1].to_seq, got[1].closed_by, got[1].operator), (6, Some(14), None, Some(b)));
        assert_eq!((got[1].rating, got[1].closed_at), (None, Some(23)));
        assert_eq!((got[2].after_seq, got[2].started_at, got[2].to_seq, got[2].operator), (14, 30, None, None));
        assert!(rounds([]).is_empty());
    }

    #[test]
    fn a_rating_without_a_closing_and_events_without_an_opening_are_tolerated() {
        let op = EmployeeId::random();
        let events = [(1, 5, Event::Rated { rating: 5, comment: None }), (2, 6, Event::Assigned { operator: op })];
        let got = rounds(events.iter().map(|(s, t, e)| (*s, *t, e)));
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].started_at, got[0].operator, got[0].rating), (6, Some(op), None));
    }
}
