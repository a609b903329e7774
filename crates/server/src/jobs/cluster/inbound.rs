//! What a node does with the events of the others.

use super::Node;
use crate::realtime::event::Event;
use ostrog_domain::ids::MessageId;
use std::collections::HashMap;

/// Applies the events of one payload in order. Messages someone here
/// should see are read from the database in one query first.
pub(super) async fn apply(app: &Node, events: Vec<Event>) {
    let hub = &app.hub;
    let wanted: Vec<MessageId> = events
        .iter()
        .filter_map(|e| match e {
            Event::Message { id, c, op, .. } if hub.has_audience(*c, *op) => Some(*id),
            _ => None,
        })
        .collect();
    let mut found = HashMap::new();
    if !wanted.is_empty() {
        match app.ledger.messages_by_id(&wanted).await {
            Ok(list) => found = list.into_iter().map(|m| (m.id, m)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the messages another node announced");
                super::resynchronise(app);
            }
        }
    }
    for event in events {
        match event {
            Event::Message { id, op, .. } => {
                if let Some(m) = found.remove(&id) {
                    hub.local_message(&m, op);
                }
            }
            Event::History { employee, c, upto } if hub.is_connected(employee) => {
                if let Err(e) = app.conversations.send_history(employee, c, upto).await {
                    tracing::warn!(error = %e, "could not send a conversation's history to its new operator");
                }
            }
            Event::Route | Event::Deliver => app.signals.apply(&event),
            Event::Pollers => app.connectors.pollers_changed(),
            Event::Overflowed => super::resynchronise(app),
            Event::Forget { visitor, c } => {
                app.vault.forget_subject(visitor);
                if let Some(c) = c {
                    app.ledger.forget(c);
                }
            }
            Event::Consent => {
                if let Err(e) = app.consent.reload_consent().await {
                    tracing::warn!(error = %e, "could not read the consent settings another node changed");
                }
            }
            other => hub.apply(other),
        }
    }
}
