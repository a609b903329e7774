//! What nodes tell each other (signed by the sender: `tasks::sign`).
//! Events carry ids, never what was written:
//! a node that needs a message reads it from the database, where it is
//! sealed, so the bus never holds personal data in the clear. A frame is
//! carried as is only for signals that hold none (typing, read receipts,
//! delivery marks, alerts).

use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ConversationId, EmployeeId, MessageId, SessionId, VisitorId};
use ostrog_domain::personal_data::Category;
use ostrog_domain::routing::Presence;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Event {
    /// A message was stored (`Hub::publish_message`).
    Message {
        id: MessageId,
        c: ConversationId,
        seq: i64,
        op: Option<EmployeeId>,
    },
    /// A conversation changed state (`Hub::publish_change`).
    Change {
        c: ConversationId,
        state: State,
        op: Option<EmployeeId>,
        seq: i64,
        prev: Option<EmployeeId>,
    },
    /// The new operator of `c` gets what was said up to `upto`.
    History {
        employee: EmployeeId,
        c: ConversationId,
        upto: i64,
    },
    /// Typing or a read receipt, to the other side of `c`.
    Signal {
        c: ConversationId,
        from_visitor: bool,
        frame: String,
    },
    /// A frame for the employees who see `c` (delivery marks).
    ToEmployees {
        c: ConversationId,
        frame: String,
    },
    /// A security alert for holders of `settings.manage`.
    Alert {
        frame: String,
    },
    Presence {
        employee: EmployeeId,
        status: Presence,
    },
    RevokeEmployee {
        employee: EmployeeId,
    },
    RevokeSession {
        session: SessionId,
    },
    /// A session was replaced by a new one (a step of authentication): its
    /// open connections now belong to the new one.
    MoveSession {
        from: SessionId,
        to: SessionId,
    },
    EraseVisitor {
        visitor: VisitorId,
    },
    /// The visitor's key was destroyed: every node drops its cached copies.
    Forget {
        visitor: VisitorId,
        c: Option<ConversationId>,
    },
    /// The consent settings changed: every node reads them again.
    Consent,
    Masked {
        categories: Vec<Category>,
    },
    /// Routing, the outbox or the pollers have work (for the leader).
    Route,
    Deliver,
    Pollers,
    /// Sent every second by each node to itself: the bus works end to end.
    Beat,
}

/// One payload on the bus: the sending node and its events, in order.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub n: String,
    pub e: Vec<Event>,
}

/// The events as payloads of at most `max` bytes each (PostgreSQL's
/// NOTIFY takes under 8000), in order; an event never spans two.
pub fn encode(node: &str, events: &[Event], max: usize) -> Vec<String> {
    let head = format!(r#"{{"n":{},"e":["#, serde_json::Value::from(node));
    let mut out = Vec::new();
    let mut current = head.clone();
    for event in events {
        let Ok(json) = serde_json::to_string(event) else { continue };
        let fresh = current.len() == head.len();
        if !fresh && current.len() + 1 + json.len() + 2 > max {
            out.push(current + "]}");
            current = head.clone();
        }
        if current.len() > head.len() {
            current.push(',');
        }
        current.push_str(&json);
    }
    if current.len() > head.len() {
        out.push(current + "]}");
    }
    out
}

pub fn decode(payload: &[u8]) -> Option<Envelope> {
    serde_json::from_slice(payload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_stay_under_the_limit_and_keep_every_event_in_order() {
        let events: Vec<Event> = (0..500)
            .map(|seq| Event::Message {
                id: MessageId::random(),
                c: ConversationId::random(),
                seq,
                op: Some(EmployeeId::random()),
            })
            .collect();
        let payloads = encode("node-a", &events, 7900);
        assert!(payloads.len() > 1, "500 messages do not fit one NOTIFY");
        assert!(payloads.iter().all(|p| p.len() <= 7900));
        let back: Vec<Event> = payloads
            .iter()
            .flat_map(|p| {
                let envelope = decode(p.as_bytes()).expect("decodes");
                assert_eq!(envelope.n, "node-a");
                envelope.e
            })
            .collect();
        assert_eq!(back, events);
    }

    #[test]
    fn nothing_to_say_is_no_payload_and_garbage_is_refused() {
        assert!(encode("n", &[], 7900).is_empty());
        assert_eq!(decode(encode("n", &[Event::Route], 7900)[0].as_bytes()).unwrap().e, vec![Event::Route]);
        assert!(decode(br#"{"n":1}"#).is_none(), "events are required");
        assert!(decode(b"not json").is_none());
    }
}
