//! Events on the bus: one payload holds the sending node and its events,
//! in order, and stays under the bus's size limit.

use crate::realtime::event::Event;
#[cfg(test)]
use ostrog_domain::ids::{ConversationId, EmployeeId, MessageId};
use serde::{Deserialize, Serialize};

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
