//! The visitor's socket: `hello` first, then messages, sync, typing,
//! read receipts and the rating.

use super::{HELLO_WITHIN, Session, Verdict, drive, refusal};
use crate::app::App;
use crate::error::AppError;
use crate::error::ErrorCode;
use crate::realtime::frames::{self, VisitorFrame};
use crate::realtime::hub::{ConnId, Who};
use crate::realtime::writer::Reply;
use crate::services::visitors::Visitor;
use axum::extract::ws::{Message, WebSocket};
use ostrog_domain::contact::Visit;
use ostrog_domain::message::Author;
use ostrog_store::WidgetRecord;
use std::net::IpAddr;
use std::sync::Arc;

/// Messages per page when replaying history.
const PAGE: u32 = 200;

pub async fn serve(
    mut socket: WebSocket,
    app: Arc<App>,
    widget: WidgetRecord,
    ip: Option<IpAddr>,
    user_agent: Option<String>,
) {
    // Boxed: the hello's future is large and done before the conversation starts.
    let Some((visitor, page)) = Box::pin(hello(&mut socket, &app, &widget)).await else { return };
    let visit = Visit::reported(page.as_deref(), user_agent.as_deref());
    let consent = consent_offer(&app, &visitor);
    let ticket = app.realtime.shutdown.ticket();
    let (conn, outbox) = app.realtime.hub.connect(Who::Visitor(visitor.record.id));
    if let Some(c) = &visitor.conversation {
        app.realtime.hub.attach(conn, c.id);
    }
    let s = &widget.settings;
    let (token, id, conversation) = (&visitor.token, visitor.record.id, visitor.conversation.as_ref());
    let welcome = frames::visitor_welcome(token, id, conversation, &s.name, &s.greeting, consent);
    // Not needed past the welcome: their memory is not kept while the visitor idles.
    drop((widget, page, user_agent));
    if socket.send(Message::Text(welcome)).await.is_ok() {
        drive(socket, outbox, VisitorSession { app: app.clone(), conn, visitor, ip, visit }, ticket).await;
    }
    app.realtime.hub.disconnect(conn);
}

/// What the widget shows about consent: the current text, whether it is
/// required, and whether this visitor has accepted it.
fn consent_offer(app: &App, visitor: &Visitor) -> Option<serde_json::Value> {
    let settings = app.consent.current_consent();
    let given = visitor.consent == Some(settings.version);
    (!settings.text.is_empty()).then(|| {
        serde_json::json!({
            "version": settings.version, "text": settings.text, "required": settings.required, "given": given,
        })
    })
}

/// Waits for `hello` and resolves who the visitor is (and the page they are
/// on, as the widget said); on any failure sends the error and closes.
async fn hello(socket: &mut WebSocket, app: &App, widget: &WidgetRecord) -> Option<(Visitor, Option<String>)> {
    let first = tokio::time::timeout(HELLO_WITHIN, socket.recv()).await;
    let text = match first {
        Ok(Some(Ok(Message::Text(t)))) => t,
        _ => {
            let _ = socket.send(Message::Text(frames::error(ErrorCode::HelloRequired, "say hello first", None))).await;
            return None;
        }
    };
    let refuse = |code: ErrorCode, message: &str| Message::Text(frames::error(code, message, None));
    let reply = match frames::parse::<VisitorFrame>(text.as_str()) {
        Ok(VisitorFrame::Hello { v, .. }) if v != frames::VERSION => {
            refuse(ErrorCode::UnsupportedVersion, "this server speaks protocol version 1")
        }
        Ok(VisitorFrame::Hello { token, identity, page, .. }) => {
            match app.visitors.visitor_hello(widget, token.as_deref(), identity.as_ref()).await {
                Ok(v) => return Some((v, page)),
                Err(AppError::Conflict(code)) => refuse(code, "refused"),
                Err(AppError::Domain(_)) => refuse(ErrorCode::IdentityRejected, "the identity is not valid"),
                Err(e) => {
                    tracing::warn!(error = %e, "visitor hello failed");
                    refuse(ErrorCode::StorageUnavailable, "try again")
                }
            }
        }
        Ok(_) => refuse(ErrorCode::HelloRequired, "say hello first"),
        Err(e) => refuse(e.code, &e.message),
    };
    let _ = socket.send(reply).await;
    None
}

struct VisitorSession {
    app: Arc<App>,
    conn: ConnId,
    visitor: Visitor,
    ip: Option<IpAddr>,
    /// The page and browser of this visit, kept with the contact when the
    /// visitor first writes on this connection.
    visit: Option<Visit>,
}

impl VisitorSession {
    fn author(&self) -> Author {
        Author::Visitor(self.visitor.record.id)
    }

    async fn sync(&self, mut after: i64) -> Verdict {
        let Some(c) = &self.visitor.conversation else { return Verdict::one(frames::no_messages()) };
        let mut out = Vec::new();
        loop {
            let page = match self.app.ledger.messages(c.id, after, None, PAGE).await {
                Ok(page) => page,
                Err(e) => return refusal(e.into(), None),
            };
            let full = page.len() == PAGE as usize;
            after = page.last().map_or(after, |m| m.seq);
            let visible: Vec<_> = page.into_iter().filter(|m| m.body.visible_to_visitor()).collect();
            out.push(frames::messages(c.id, &visible, frames::View::Visitor));
            if !full {
                return Verdict::Reply(out);
            }
        }
    }
}

impl Session for VisitorSession {
    fn throttled(&self) {
        self.app.refusals.record("rate_limited", self.ip);
    }

    async fn on_text(&mut self, text: &str) -> Verdict {
        let frame = match frames::parse::<VisitorFrame>(text) {
            Ok(f) => f,
            Err(e) => return Verdict::bad(e),
        };
        let hub = &self.app.realtime.hub;
        let conversation = self.visitor.conversation.as_ref().map(|c| c.id);
        match frame {
            VisitorFrame::Send { client_id, text } => {
                let reply = Reply::Ack { conn: self.conn, client_id };
                let page = self.visit.as_ref().and_then(|v| v.page.as_deref());
                match self.app.visitors.visitor_send(&mut self.visitor, client_id, text, page, reply).await {
                    Ok(id) => {
                        if conversation.is_none() {
                            hub.attach(self.conn, id);
                        }
                        if let Some(visit) = self.visit.take() {
                            let visitor = self.visitor.record.id;
                            if let Err(e) = self.app.contacts.record_visit(visitor, &visit).await {
                                tracing::warn!(error = %e, "the visit could not be kept with the contact");
                            }
                        }
                        Verdict::none()
                    }
                    Err(e) => refusal(e, Some(client_id)),
                }
            }
            VisitorFrame::Sync { after_seq } => self.sync(after_seq).await,
            VisitorFrame::Typing {} => {
                if let Some(id) = conversation {
                    hub.publish_signal(id, self.author(), frames::typing(id, self.author()));
                }
                Verdict::none()
            }
            VisitorFrame::Read { seq } => {
                if let Some(id) = conversation {
                    hub.publish_signal(id, self.author(), frames::read(id, seq));
                }
                Verdict::none()
            }
            VisitorFrame::Rate { rating, comment } => {
                match (self.app.visitors.rate(&self.visitor, rating, comment).await, conversation) {
                    (Ok(given), Some(id)) => Verdict::one(frames::rated(id, given)),
                    (Ok(_), None) => Verdict::none(),
                    (Err(e), _) => refusal(e, None),
                }
            }
            VisitorFrame::Consent { version, accepted } => {
                match self.app.consent.record_consent(&mut self.visitor, version, accepted, "widget", self.ip).await {
                    Ok(c) => Verdict::one(frames::consent(c.version, c.accepted)),
                    Err(e) => refusal(e, None),
                }
            }
            VisitorFrame::Ping {} => Verdict::one(frames::pong()),
            VisitorFrame::Hello { .. } => {
                Verdict::Bad(frames::error(ErrorCode::InvalidFrame, "hello was already said", None))
            }
        }
    }
}
