//! Who is connected, and fan-out to them. Every connection has a bounded
//! queue; the hub only ever `try_send`s into it, under a lock that is never
//! held across an await. A connection whose queue is full is too slow: the
//! hub drops it (its socket task then closes it) instead of waiting for it.
//! Closing never goes through the queue, which may be full: the hub leaves
//! the code beside it and drops its end; the socket writes what is queued,
//! then closes with that code.

use axum::extract::ws::Utf8Bytes;
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ConversationId, EmployeeId, SessionId, VisitorId};
use ostrog_domain::message::Author;
use ostrog_domain::routing::Presence;
use ostrog_store::MessageRecord;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, OnceLock, RwLock};
use tokio::sync::mpsc;

use super::Relay;
use super::frames::{self, View};
use crate::realtime::event::Event;
use ostrog_domain::personal_data::Category;
use std::sync::Arc;
use tokio::sync::Notify;

/// Frames a connection may have waiting before it counts as too slow.
pub const QUEUE: usize = 256;

/// Service restart: the client reconnects by itself.
const RESTART: (u16, &str) = (1012, "restarting");

pub type ConnId = u64;

#[derive(Debug)]
pub enum Outbound {
    Frame(Utf8Bytes),
    /// Close with this code and reason; nothing follows.
    Close(u16, &'static str),
}

/// Why a connection's queue ended, when the hub says (else: too slow).
type Farewell = Arc<OnceLock<(u16, &'static str)>>;

/// A connection's end of its queue.
pub struct Outbox {
    rx: mpsc::Receiver<Utf8Bytes>,
    farewell: Farewell,
}

impl Outbox {
    /// The next frame; once the queue is drained and the hub dropped the
    /// connection, the close it asked for.
    pub async fn recv(&mut self) -> Outbound {
        match self.rx.recv().await {
            Some(frame) => Outbound::Frame(frame),
            None => self.farewell(),
        }
    }

    /// What `recv` would give without waiting, if anything.
    pub fn try_recv(&mut self) -> Option<Outbound> {
        match self.rx.try_recv() {
            Ok(frame) => Some(Outbound::Frame(frame)),
            Err(mpsc::error::TryRecvError::Empty) => None,
            Err(mpsc::error::TryRecvError::Disconnected) => Some(self.farewell()),
        }
    }

    fn farewell(&self) -> Outbound {
        let (code, reason) = self.farewell.get().copied().unwrap_or((1013, "too slow; reconnect and sync"));
        Outbound::Close(code, reason)
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Who {
    Visitor(VisitorId),
    Employee {
        id: EmployeeId,
        session: SessionId,
        /// Holds `conversations.all`: sees every conversation change.
        sees_all: bool,
        /// Holds `conversations.own` or `.all`: routing may assign to them.
        takes_chats: bool,
        /// Holds `settings.manage`: receives security alerts (malware stopped).
        alerted: bool,
    },
}

struct Conn {
    tx: mpsc::Sender<Utf8Bytes>,
    farewell: Farewell,
    who: Who,
    attached: Vec<ConversationId>,
    /// Since when the page of this connection is hidden (another tab or
    /// window in front), as the page reported it.
    hidden_since: Option<i64>,
}

#[derive(Default)]
struct Inner {
    next_id: ConnId,
    conns: HashMap<ConnId, Conn>,
    /// Visitor connections and subscribed employees, by conversation.
    attached: HashMap<ConversationId, HashSet<ConnId>>,
    employees: HashMap<EmployeeId, HashSet<ConnId>>,
    /// The status an employee chose while connected.
    presence: HashMap<EmployeeId, Presence>,
    /// Employees set away because their pages stayed hidden: showing a page
    /// brings them back online, which a status they chose does not.
    auto_away: HashSet<EmployeeId>,
    /// The current operator of conversations seen recently.
    operators: HashMap<ConversationId, EmployeeId>,
    /// The server is stopping: a socket that connects now is closed at once.
    shut: bool,
}

/// One employee connected here, as the other nodes learn of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Present {
    #[serde(rename = "e")]
    pub employee: EmployeeId,
    #[serde(rename = "p")]
    pub status: Presence,
    /// Routing may assign to them.
    #[serde(rename = "t")]
    pub takes_chats: bool,
}

/// Every public method that changes what others see acts here and, through
/// the relay, on every other node (`apply` is what a node does with an
/// event from another).
pub struct Hub {
    inner: Mutex<Inner>,
    /// Set from the settings at start and whenever they change.
    masked: RwLock<Vec<Category>>,
    relay: Arc<Relay>,
    /// Someone connected, left the last time or changed status here.
    pub presence_changed: Notify,
}

impl Hub {
    pub fn new(relay: Arc<Relay>) -> Self {
        Self {
            inner: Mutex::default(),
            masked: RwLock::new(Category::ALL.to_vec()),
            relay,
            presence_changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-changed
        // in a way that matters more than losing every connection would.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn connect(&self, who: Who) -> (ConnId, Outbox) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let farewell = Farewell::default();
        let outbox = Outbox { rx, farewell: farewell.clone() };
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        if inner.shut {
            let _ = farewell.set(RESTART);
            return (id, outbox);
        }
        inner.conns.insert(id, Conn { tx, farewell, who, attached: Vec::new(), hidden_since: None });
        if let Who::Employee { id: employee, .. } = who {
            inner.employees.entry(employee).or_default().insert(id);
            inner.presence.entry(employee).or_insert(Presence::Online);
            self.presence_changed.notify_one();
        }
        (id, outbox)
    }

    /// Forgets the connection; when it was the employee's last, they are offline.
    pub fn disconnect(&self, conn: ConnId) -> Option<EmployeeId> {
        let gone = self.lock().remove(conn);
        if gone.is_some() {
            self.presence_changed.notify_one();
        }
        gone
    }

    /// Open connections: (employees, visitors).
    pub fn connection_counts(&self) -> (usize, usize) {
        let inner = self.lock();
        let visitors = inner.conns.values().filter(|c| matches!(c.who, Who::Visitor(_))).count();
        (inner.conns.len() - visitors, visitors)
    }

    pub fn attach(&self, conn: ConnId, conversation: ConversationId) {
        let mut inner = self.lock();
        let Some(c) = inner.conns.get_mut(&conn) else { return };
        if !c.attached.contains(&conversation) {
            c.attached.push(conversation);
        }
        inner.attached.entry(conversation).or_default().insert(conn);
    }

    pub fn detach(&self, conn: ConnId, conversation: ConversationId) {
        let mut inner = self.lock();
        if let Some(c) = inner.conns.get_mut(&conn) {
            c.attached.retain(|a| *a != conversation);
        }
        inner.unattach(conn, conversation);
    }

    /// Sends to one connection (acks, replies).
    pub fn send_to(&self, conn: ConnId, frame: Utf8Bytes) {
        let mut inner = self.lock();
        inner.deliver(&[conn], &frame);
    }

    pub fn send_to_employee(&self, employee: EmployeeId, frame: Utf8Bytes) {
        let mut inner = self.lock();
        let conns = inner.conns_of(employee);
        inner.deliver(&conns, &frame);
    }

    /// Closes every connection of the employee (blocked, deleted, role or
    /// permissions changed): they reconnect, if they still may, with what
    /// they hold now.
    pub fn disconnect_employee(&self, employee: EmployeeId) {
        self.everywhere(Event::RevokeEmployee { employee });
    }

    pub fn disconnect_session(&self, session: SessionId) {
        self.everywhere(Event::RevokeSession { session });
    }

    /// Closes every connection of `who` that matches.
    fn close_where(&self, matches: impl Fn(Who) -> bool) {
        let mut inner = self.lock();
        let conns: Vec<ConnId> = inner.conns.iter().filter(|(_, c)| matches(c.who)).map(|(id, _)| *id).collect();
        inner.close(&conns);
    }

    /// Closes every connection with 1012 (service restart): the web app and
    /// the widget reconnect by themselves, to this server once it is back
    /// or to another node.
    pub fn close_all_for_restart(&self) {
        let mut inner = self.lock();
        let conns: Vec<ConnId> = inner.conns.keys().copied().collect();
        inner.close_with(&conns, RESTART);
    }

    /// `close_all_for_restart` for good: the server stops, and a socket
    /// that connects from now on is closed the same way at once.
    pub fn close_all_for_shutdown(&self) {
        self.lock().shut = true;
        self.close_all_for_restart();
    }

    /// The session a connection of an employee now belongs to (it moves
    /// when the session is replaced by a step of authentication).
    pub fn session_of(&self, conn: ConnId) -> Option<SessionId> {
        match self.lock().conns.get(&conn)?.who {
            Who::Employee { session, .. } => Some(session),
            Who::Visitor(_) => None,
        }
    }

    /// Hands the open connections of session `from` to its replacement `to`,
    /// on every node (the tab keeps its socket through a step-up).
    pub fn move_session(&self, from: SessionId, to: SessionId) {
        self.everywhere(Event::MoveSession { from, to });
    }

    /// Closes the connections of a visitor whose data was erased.
    pub fn disconnect_visitor(&self, visitor: VisitorId) {
        self.everywhere(Event::EraseVisitor { visitor });
    }

    /// A message reached storage: to the visitor (unless it is internal),
    /// the conversation's operator and whoever watches it, on every node.
    pub fn publish_message(&self, m: &MessageRecord, operator: Option<EmployeeId>) {
        self.local_message(m, operator);
        self.relay.send(Event::Message { id: m.id, c: m.conversation_id, seq: m.seq, op: operator });
    }

    /// Whether anyone here would receive a message of `id` (another
    /// node's message is read from the database only then).
    pub fn has_audience(&self, id: ConversationId, operator: Option<EmployeeId>) -> bool {
        let inner = self.lock();
        inner.attached.contains_key(&id) || operator.is_some_and(|op| inner.employees.contains_key(&op))
    }

    pub fn is_connected(&self, employee: EmployeeId) -> bool {
        self.lock().employees.contains_key(&employee)
    }

    /// `publish_message` on this node only.
    pub fn local_message(&self, m: &MessageRecord, operator: Option<EmployeeId>) {
        let to_employees = frames::message(m, View::Employee(&self.masked()));
        let to_visitor = m.body.visible_to_visitor().then(|| frames::message(m, View::Visitor));
        let mut inner = self.lock();
        inner.note_operator(m.conversation_id, operator);
        let targets: Vec<(ConnId, bool)> = inner.audience(m.conversation_id, operator);
        let (visitors, employees): (Vec<_>, Vec<_>) = targets.into_iter().partition(|(_, is_visitor)| *is_visitor);
        let ids = |list: Vec<(ConnId, bool)>| list.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
        inner.deliver(&ids(employees), &to_employees);
        if let Some(frame) = to_visitor {
            inner.deliver(&ids(visitors), &frame);
        }
    }

    /// The categories of personal data employees see masked.
    pub fn masked(&self) -> Vec<Category> {
        self.masked.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_masked(&self, categories: Vec<Category>) {
        self.everywhere(Event::Masked { categories });
    }

    /// A conversation changed state: employees who see everything, the old
    /// and new operators; the visitor learns only of closing.
    pub fn publish_change(
        &self,
        id: ConversationId,
        state: State,
        operator: Option<EmployeeId>,
        seq: i64,
        previous: Option<EmployeeId>,
    ) {
        self.everywhere(Event::Change { c: id, state, op: operator, seq, prev: previous });
    }

    fn local_change(
        &self,
        id: ConversationId,
        state: State,
        operator: Option<EmployeeId>,
        seq: i64,
        previous: Option<EmployeeId>,
    ) {
        let frame = frames::conversation_changed(id, state, operator, seq);
        let mut inner = self.lock();
        inner.note_operator(id, operator.filter(|_| state != State::Closed));
        let mut ids: HashSet<ConnId> = inner
            .conns
            .iter()
            .filter(|(_, c)| matches!(c.who, Who::Employee { sees_all: true, .. }))
            .map(|(id, _)| *id)
            .collect();
        for who in [operator, previous].into_iter().flatten() {
            ids.extend(inner.employees.get(&who).into_iter().flatten());
        }
        let ids: Vec<ConnId> = ids.into_iter().collect();
        inner.deliver(&ids, &frame);
        if state == State::Closed {
            let visitors = inner.visitors_of(id);
            inner.deliver(&visitors, &frames::closed(id));
        }
    }

    /// A security alert, to every connected holder of `settings.manage`.
    pub fn publish_alert(&self, frame: Utf8Bytes) {
        self.everywhere(Event::Alert { frame: frame.as_str().to_owned() });
    }

    fn local_alert(&self, frame: Utf8Bytes) {
        let mut inner = self.lock();
        let ids: Vec<ConnId> = inner
            .conns
            .iter()
            .filter(|(_, c)| matches!(c.who, Who::Employee { alerted: true, .. }))
            .map(|(id, _)| *id)
            .collect();
        inner.deliver(&ids, &frame);
    }

    /// A frame for the employees who see a conversation, never its visitor.
    pub fn publish_to_employees(&self, id: ConversationId, frame: Utf8Bytes) {
        self.everywhere(Event::ToEmployees { c: id, frame: frame.as_str().to_owned() });
    }

    fn local_to_employees(&self, id: ConversationId, frame: Utf8Bytes) {
        let mut inner = self.lock();
        let operator = inner.operators.get(&id).copied();
        let ids: Vec<ConnId> =
            inner.audience(id, operator).into_iter().filter(|(_, is_visitor)| !is_visitor).map(|(c, _)| c).collect();
        inner.deliver(&ids, &frame);
    }

    /// Typing and read receipts go to the other side only; they are not stored.
    pub fn publish_signal(&self, id: ConversationId, from: Author, frame: Utf8Bytes) {
        let from_visitor = matches!(from, Author::Visitor(_));
        self.everywhere(Event::Signal { c: id, from_visitor, frame: frame.as_str().to_owned() });
    }

    fn local_signal(&self, id: ConversationId, from_visitor: bool, frame: Utf8Bytes) {
        let mut inner = self.lock();
        let operator = inner.operators.get(&id).copied();
        let ids: Vec<ConnId> = inner
            .audience(id, operator)
            .into_iter()
            .filter(|(_, is_visitor)| *is_visitor != from_visitor)
            .map(|(c, _)| c)
            .collect();
        inner.deliver(&ids, &frame);
    }

    /// The employee chose a status: on every node where they are
    /// connected (two tabs on two nodes are one operator).
    pub fn set_presence(&self, employee: EmployeeId, status: Presence) {
        self.everywhere(Event::Presence { employee, status });
    }

    fn local_presence(&self, employee: EmployeeId, status: Presence) {
        let mut inner = self.lock();
        if inner.employees.contains_key(&employee) {
            inner.presence.insert(employee, status);
            self.presence_changed.notify_one();
        }
        inner.broadcast_presence(employee, status);
    }

    /// The employees connected here, for the other nodes.
    pub fn present(&self) -> Vec<Present> {
        let inner = self.lock();
        let mut out: Vec<Present> = Vec::with_capacity(inner.employees.len());
        for c in inner.conns.values() {
            if let Who::Employee { id, takes_chats, .. } = c.who
                && !out.iter().any(|p| p.employee == id)
            {
                let status = inner.presence.get(&id).copied().unwrap_or(Presence::Online);
                out.push(Present { employee: id, status, takes_chats });
            }
        }
        out
    }

    /// The sessions of the employees connected here (checked against the
    /// database while the bus is down, so revocation still arrives).
    pub fn sessions(&self) -> Vec<(EmployeeId, SessionId)> {
        let inner = self.lock();
        let mut out: Vec<(EmployeeId, SessionId)> = inner
            .conns
            .values()
            .filter_map(|c| match c.who {
                Who::Employee { id, session, .. } => Some((id, session)),
                Who::Visitor(_) => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Tells the other nodes only (what this node did already).
    pub fn tell_others(&self, event: Event) {
        self.relay.send(event);
    }

    /// Acts here and tells the other nodes.
    fn everywhere(&self, event: Event) {
        self.apply(event.clone());
        self.relay.send(event);
    }

    /// What an event means on this node. Messages and history are not
    /// here: they need the database (`cluster::inbound`).
    pub fn apply(&self, event: Event) {
        match event {
            Event::Change { c, state, op, seq, prev } => self.local_change(c, state, op, seq, prev),
            Event::Signal { c, from_visitor, frame } => self.local_signal(c, from_visitor, frame.into()),
            Event::ToEmployees { c, frame } => self.local_to_employees(c, frame.into()),
            Event::Alert { frame } => self.local_alert(frame.into()),
            Event::Presence { employee, status } => self.local_presence(employee, status),
            Event::RevokeEmployee { employee } => {
                let mut inner = self.lock();
                let conns = inner.conns_of(employee);
                inner.close(&conns);
            }
            Event::RevokeSession { session } => {
                self.close_where(|who| matches!(who, Who::Employee { session: s, .. } if s == session));
            }
            Event::MoveSession { from, to } => {
                for conn in self.lock().conns.values_mut() {
                    if let Who::Employee { session, .. } = &mut conn.who
                        && *session == from
                    {
                        *session = to;
                    }
                }
            }
            Event::EraseVisitor { visitor } => self.close_where(|who| matches!(who, Who::Visitor(v) if v == visitor)),
            Event::Masked { categories } => *self.masked.write().unwrap_or_else(|p| p.into_inner()) = categories,
            Event::Message { .. } | Event::History { .. } | Event::Forget { .. } | Event::Consent => {}
            Event::Route | Event::Deliver | Event::Pollers | Event::Beat | Event::Overflowed => {}
        }
    }

    /// The page of `conn` was hidden since `since`, or shown again (`None`).
    pub fn set_hidden(&self, conn: ConnId, since: Option<i64>) {
        if let Some(c) = self.lock().conns.get_mut(&conn) {
            c.hidden_since = since;
        }
    }

    /// Online employees who take chats and every one of whose pages here
    /// has been hidden since `before` or earlier.
    pub fn hidden_before(&self, before: i64) -> Vec<EmployeeId> {
        let inner = self.lock();
        let mut ids: Vec<EmployeeId> = inner
            .employees
            .iter()
            .filter(|(id, _)| inner.presence.get(id) == Some(&Presence::Online))
            .filter(|(_, conns)| {
                conns.iter().all(|c| {
                    inner.conns.get(c).is_some_and(|c| {
                        matches!(c.who, Who::Employee { takes_chats: true, .. })
                            && c.hidden_since.is_some_and(|at| at <= before)
                    })
                })
            })
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids
    }

    /// Notes (or forgets) that the employee's away status was set for
    /// hidden pages; answers whether it was noted before.
    pub fn note_auto_away(&self, employee: EmployeeId, auto: bool) -> bool {
        let mut inner = self.lock();
        if auto { !inner.auto_away.insert(employee) } else { inner.auto_away.remove(&employee) }
    }

    pub fn presence_of(&self, employee: EmployeeId) -> Presence {
        self.lock().presence.get(&employee).copied().unwrap_or(Presence::Offline)
    }

    /// Everyone connected with a status, for the transfer list.
    pub fn presences(&self) -> Vec<(EmployeeId, Presence)> {
        self.lock().presence.iter().map(|(e, p)| (*e, *p)).collect()
    }

    /// Connected employees who take chats and chose `online`.
    pub fn online_operators(&self) -> Vec<EmployeeId> {
        let inner = self.lock();
        let mut ids: Vec<EmployeeId> = inner
            .conns
            .values()
            .filter_map(|c| match c.who {
                Who::Employee { id, takes_chats: true, .. } => Some(id),
                _ => None,
            })
            .filter(|id| inner.presence.get(id) == Some(&Presence::Online))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

impl Inner {
    fn conns_of(&self, employee: EmployeeId) -> Vec<ConnId> {
        self.employees.get(&employee).map(|s| s.iter().copied().collect()).unwrap_or_default()
    }

    /// Connections that should hear about the conversation, each with
    /// whether it is a visitor's: attached ones and the operator's.
    fn audience(&self, id: ConversationId, operator: Option<EmployeeId>) -> Vec<(ConnId, bool)> {
        let mut out: Vec<(ConnId, bool)> = Vec::new();
        let is_visitor = |c: &ConnId| self.conns.get(c).is_some_and(|c| matches!(c.who, Who::Visitor(_)));
        if let Some(set) = self.attached.get(&id) {
            out.extend(set.iter().map(|c| (*c, is_visitor(c))));
        }
        if let Some(set) = operator.and_then(|op| self.employees.get(&op)) {
            out.extend(
                set.iter().filter(|c| !self.attached.get(&id).is_some_and(|a| a.contains(c))).map(|c| (*c, false)),
            );
        }
        out
    }

    fn visitors_of(&self, id: ConversationId) -> Vec<ConnId> {
        self.audience(id, None).into_iter().filter(|(_, v)| *v).map(|(c, _)| c).collect()
    }

    fn note_operator(&mut self, id: ConversationId, operator: Option<EmployeeId>) {
        match operator {
            Some(op) => self.operators.insert(id, op),
            None => self.operators.remove(&id),
        };
    }

    /// `try_send` to each; the ones that are full are too slow and dropped.
    fn deliver(&mut self, conns: &[ConnId], frame: &Utf8Bytes) {
        let mut slow = Vec::new();
        for id in conns {
            if let Some(c) = self.conns.get(id)
                && c.tx.try_send(frame.clone()).is_err()
            {
                slow.push(*id);
            }
        }
        for id in slow {
            tracing::info!(conn = id, "dropping a connection that cannot keep up");
            self.remove(id);
        }
    }

    fn close(&mut self, conns: &[ConnId]) {
        self.close_with(conns, (4001, "revoked"));
    }

    /// After what is already queued, the sockets close with `farewell`.
    fn close_with(&mut self, conns: &[ConnId], farewell: (u16, &'static str)) {
        for id in conns {
            if let Some(c) = self.conns.get(id) {
                let _ = c.farewell.set(farewell);
            }
            self.remove(*id);
        }
    }

    fn remove(&mut self, conn: ConnId) -> Option<EmployeeId> {
        let c = self.conns.remove(&conn)?;
        for conversation in c.attached {
            self.unattach(conn, conversation);
        }
        let Who::Employee { id, .. } = c.who else { return None };
        let last = self.employees.get_mut(&id).is_some_and(|set| {
            set.remove(&conn);
            set.is_empty()
        });
        if !last {
            return None;
        }
        self.employees.remove(&id);
        self.presence.remove(&id);
        self.auto_away.remove(&id);
        self.broadcast_presence(id, Presence::Offline);
        Some(id)
    }

    fn unattach(&mut self, conn: ConnId, conversation: ConversationId) {
        if let Some(set) = self.attached.get_mut(&conversation) {
            set.remove(&conn);
            if set.is_empty() {
                self.attached.remove(&conversation);
            }
        }
    }

    fn broadcast_presence(&mut self, employee: EmployeeId, status: Presence) {
        let ids: Vec<ConnId> =
            self.conns.iter().filter(|(_, c)| matches!(c.who, Who::Employee { .. })).map(|(id, _)| *id).collect();
        self.deliver(&ids, &frames::presence(employee, status));
    }
}
