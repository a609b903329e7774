//! What nodes tell each other, by id (the cluster carries these between
//! nodes, signed: `cluster::envelope`).
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
    /// The sender dropped events because the bus could not keep up: the
    /// others resynchronise their clients, as after a lost connection.
    Overflowed,
}
