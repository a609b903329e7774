//! The operator's socket: everything in their own conversations arrives
//! by itself; with `conversations.all` they also see every conversation
//! change and may subscribe to any conversation.

use super::{Session, Verdict, drive, refusal};
use crate::app::App;
use crate::realtime::frames::{self, Activity, OperatorFrame};
use crate::realtime::hub::{ConnId, Who};
use crate::realtime::writer::Reply;
use crate::services::caller::Caller;
use axum::extract::ws::{Message, WebSocket};
use ostrog_domain::ids::ConversationId;
use ostrog_domain::message::Author;
use ostrog_domain::permission::Permission;
use std::sync::Arc;

const PAGE: u32 = 200;

pub async fn serve(mut socket: WebSocket, app: Arc<App>, caller: Caller) {
    let actor = &caller.actor;
    let who = Who::Employee {
        id: actor.id,
        session: caller.session.id,
        sees_all: actor.holds(Permission::ConversationsAll),
        takes_chats: ostrog_domain::conversation::takes_chats(&actor.permissions),
        alerted: actor.holds(Permission::SettingsManage),
    };
    let hub = &app.realtime.hub;
    let ticket = app.realtime.shutdown.ticket();
    let (conn, outbox) = hub.connect(who);
    app.presence.operator_arrived(actor.id);
    let welcome = frames::operator_welcome(actor.id, hub.presence_of(actor.id));
    app.realtime.signals.route();
    if socket.send(Message::Text(welcome)).await.is_ok() {
        drive(socket, outbox, OperatorSession { app: app.clone(), conn, caller }, ticket).await;
    }
    if let Some(employee) = app.realtime.hub.disconnect(conn) {
        app.presence.operator_left(employee);
    }
}

struct OperatorSession {
    app: Arc<App>,
    conn: ConnId,
    caller: Caller,
}

impl OperatorSession {
    async fn sync(&self, id: ConversationId, mut after: i64) -> Verdict {
        let mut out = Vec::new();
        loop {
            let page = match self.app.conversations.history(&self.caller, id, after, None, PAGE).await {
                Ok(page) => page,
                Err(e) => return refusal(e, None),
            };
            let full = page.len() == PAGE as usize;
            after = page.last().map_or(after, |m| m.seq);
            out.push(frames::messages(id, &page, frames::View::Employee(&self.app.realtime.hub.masked())));
            if !full {
                return Verdict::Reply(out);
            }
        }
    }

    /// Typing and read receipts, only in conversations the operator may see.
    /// Typing is also shown to the colleagues in the conversation.
    async fn signal(&self, id: ConversationId, frame: axum::extract::ws::Utf8Bytes, typing: bool) -> Verdict {
        match self.app.conversations.visible(&self.caller.actor, id).await {
            Ok(_) => {
                let hub = &self.app.realtime.hub;
                hub.publish_signal(id, Author::Employee(self.caller.actor.id), frame);
                if typing {
                    hub.publish_to_employees(id, frames::colleague(id, self.caller.actor.id, Activity::Typing));
                }
                Verdict::none()
            }
            Err(e) => refusal(e, None),
        }
    }

    /// The employee opened or left a conversation: the colleagues in it
    /// (its operator, those watching it) learn who else is there.
    async fn here(&self, id: ConversationId, activity: Activity) -> Verdict {
        match self.app.conversations.visible(&self.caller.actor, id).await {
            Ok(_) => {
                let frame = frames::colleague(id, self.caller.actor.id, activity);
                self.app.realtime.hub.publish_to_employees(id, frame);
                Verdict::none()
            }
            Err(e) => refusal(e, None),
        }
    }
}

impl OperatorSession {
    /// The person did something: their session does not idle out.
    async fn acted(&mut self) {
        let id = self.app.realtime.hub.session_of(self.conn).unwrap_or(self.caller.session.id);
        self.caller.session.id = id;
        let now = self.app.now();
        if let Ok(true) = self.app.sessions.touch(&self.caller.session, now).await {
            self.caller.session.last_seen_at = now;
        }
    }
}

impl Session for OperatorSession {
    fn throttled(&self) {
        self.app.refusals.record("rate_limited", self.caller.ctx().ip);
    }

    async fn on_text(&mut self, text: &str) -> Verdict {
        let frame = match frames::parse::<OperatorFrame>(text) {
            Ok(f) => f,
            Err(e) => return Verdict::bad(e),
        };
        if is_the_persons(&frame) {
            self.acted().await;
        }
        let (app, actor) = (&self.app, &self.caller.actor);
        match frame {
            OperatorFrame::Send { conversation_id, client_id, text, note } => {
                let reply = Reply::Ack { conn: self.conn, client_id };
                match app.conversations.employee_send(actor, conversation_id, client_id, text, note, reply).await {
                    Ok(()) => Verdict::none(),
                    Err(e) => refusal(e, Some(client_id)),
                }
            }
            OperatorFrame::Sync { conversation_id, after_seq } => self.sync(conversation_id, after_seq).await,
            OperatorFrame::Subscribe { conversation_id } => match app.conversations.watch(actor, conversation_id).await
            {
                Ok(_) => {
                    app.realtime.hub.attach(self.conn, conversation_id);
                    Verdict::one(frames::subscribed(conversation_id))
                }
                Err(e) => refusal(e, None),
            },
            OperatorFrame::Unsubscribe { conversation_id } => {
                app.realtime.hub.detach(self.conn, conversation_id);
                Verdict::none()
            }
            OperatorFrame::Typing { conversation_id } => {
                let author = Author::Employee(actor.id);
                self.signal(conversation_id, frames::typing(conversation_id, author), true).await
            }
            OperatorFrame::Read { conversation_id, seq } => {
                self.signal(conversation_id, frames::read(conversation_id, seq), false).await
            }
            OperatorFrame::Here { conversation_id, activity: Activity::Typing } => {
                let author = Author::Employee(actor.id);
                self.signal(conversation_id, frames::typing(conversation_id, author), true).await
            }
            OperatorFrame::Here { conversation_id, activity } => self.here(conversation_id, activity).await,
            OperatorFrame::Visibility { hidden } => {
                app.presence.page_hidden(self.conn, actor.id, hidden, app.now());
                Verdict::none()
            }
            OperatorFrame::Presence { status } => {
                app.presence.choose(actor.id, status);
                Verdict::none()
            }
            OperatorFrame::Ping {} => Verdict::one(frames::pong()),
        }
    }

    /// The session may have ended or the employee been blocked without the
    /// hub hearing of it (another node, an expiry): check now and then.
    async fn still_valid(&mut self) -> bool {
        let id = self.app.realtime.hub.session_of(self.conn).unwrap_or(self.caller.session.id);
        match self.app.sessions.session_is_live(self.caller.employee.id, id).await {
            Some(current) => {
                self.caller.session = current;
                true
            }
            None => false,
        }
    }
}

/// Frames a person causes (writing, typing, choosing a status); not those
/// the page sends by itself (subscribe and sync on reconnection, read marks
/// as messages arrive, pings). Opening a conversation is a REST call.
fn is_the_persons(frame: &OperatorFrame) -> bool {
    matches!(frame, OperatorFrame::Send { .. } | OperatorFrame::Typing { .. } | OperatorFrame::Presence { .. })
}
