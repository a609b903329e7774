//! The WebSocket edge: one loop per connection that writes what the hub
//! queued for it, reads the client's frames, answers pings, and closes the
//! connection when the hub drops it (too slow, revoked, restarting) with a
//! close handshake: its close frame after everything queued before it, and
//! the client's close frame answered. The two sides' frame handling lives
//! in `visitor.rs` and `operator.rs`.

pub mod operator;
pub mod visitor;

use crate::error::AppError;
use crate::error::ErrorCode;
use crate::realtime::frames::{self, FrameError};
use crate::realtime::hub::{Outbound, Outbox};
use crate::realtime::limits::FrameBudget;
use crate::realtime::shutdown::{CLOSE_HANDSHAKE, Ticket};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use futures_util::SinkExt;
use ostrog_store::StoreError;
use std::future::Future;
use std::time::Duration;

/// Bad frames tolerated on one connection before it is closed.
const STRIKES: u32 = 5;
/// Transport limit; frames between the protocol's 16 KiB and this get an
/// error frame, larger ones end the connection (close code 1009).
const TRANSPORT_MAX: usize = 64 * 1024;
const PING_EVERY: Duration = Duration::from_secs(30);
pub const HELLO_WITHIN: Duration = Duration::from_secs(10);

/// Small buffers: most connections are idle most of the time, and the
/// defaults (128 KiB each way) would cost more than the 64 KiB a
/// connection may use in all. The read buffer holds a dozen typical
/// frames and grows for a larger one; 2 KiB instead of 4 took an idle
/// visitor from 13.1 to 11.1 KiB (docs/benchmarks.md, issue 24).
pub fn limits(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(2 * 1024)
        // Frames collect up to this before a write; `write_queued` flushes.
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(TRANSPORT_MAX)
        .max_frame_size(TRANSPORT_MAX)
}

/// What handling one client frame produced.
pub enum Verdict {
    /// Frames to send back at once (possibly none).
    Reply(Vec<Utf8Bytes>),
    /// A bad frame: the error goes back and counts as a strike.
    Bad(Utf8Bytes),
}

impl Verdict {
    pub fn one(frame: Utf8Bytes) -> Self {
        Verdict::Reply(vec![frame])
    }
    pub fn none() -> Self {
        Verdict::Reply(vec![])
    }
    pub fn bad(e: FrameError) -> Self {
        Verdict::Bad(frames::error(e.code, &e.message, None))
    }
}

pub trait Session: Send {
    fn on_text(&mut self, text: &str) -> impl Future<Output = Verdict> + Send;
    /// Called every `PING_EVERY`; false ends the connection (session over).
    fn still_valid(&mut self) -> impl Future<Output = bool> + Send {
        async { true }
    }
    /// The peer went over the frame budget (once per run of throttled
    /// frames): counted for the audit log.
    fn throttled(&self) {}
}

/// How a conversation over a socket ended.
enum End {
    /// The server closes, with this code.
    Close(u16, &'static str),
    /// The client closed: its close frame is answered (RFC 6455 §5.5.1).
    Answer,
    /// The connection is gone, or a write failed: nothing more to say.
    Gone,
    /// The server is stopping: nothing more is read (`realtime::shutdown`).
    Stopped,
}

pub async fn drive<S: Session>(mut socket: WebSocket, mut outbox: Outbox, session: S, mut ticket: Ticket) {
    let end = converse(&mut socket, &mut outbox, session, &mut ticket).await;
    ticket.done_reading();
    let (code, reason) = match end {
        End::Close(code, reason) => (code, reason),
        End::Answer => {
            let _ = socket.flush().await;
            return;
        }
        End::Gone => return,
        // Acks of what was read are on their way: they go out before the close.
        End::Stopped => match write_until_close(&mut socket, &mut outbox).await {
            Some(farewell) => farewell,
            None => return,
        },
    };
    close(socket, code, reason).await;
}

/// Writes what the hub queued, reads the client's frames, answers pings,
/// until one side ends it or the server stops.
async fn converse<S: Session>(socket: &mut WebSocket, outbox: &mut Outbox, mut session: S, ticket: &mut Ticket) -> End {
    let mut reading = Reading { strikes: 0, budget: FrameBudget::new(), throttled: false };
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            // First, so that no frame is read once the server stops.
            biased;
            _ = ticket.stopped() => return End::Stopped,
            out = outbox.recv() => match out {
                Outbound::Frame(f) => {
                    if let Some(end) = write_queued(socket, f, outbox).await {
                        return end;
                    }
                }
                Outbound::Close(code, reason) => return End::Close(code, reason),
            },
            // Handling a frame and checking the session call the services,
            // whose futures are large: boxed, they take memory only while
            // they run, not in every idle connection's task (issue 24).
            incoming = socket.recv() => {
                if let Some(end) = Box::pin(reading.handle(socket, &mut session, incoming)).await {
                    return end;
                }
            }
            _ = ping.tick() => {
                if !Box::pin(session.still_valid()).await {
                    return End::Close(4001, "revoked");
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return End::Gone;
                }
            }
        }
    }
}

/// The state of reading one client's frames: bad ones and the frame budget.
struct Reading {
    strikes: u32,
    budget: FrameBudget,
    throttled: bool,
}

impl Reading {
    /// Handles one frame from the client to the end (its message is with the
    /// writer when this returns); `Some` when the connection ends.
    async fn handle<S: Session>(
        &mut self,
        socket: &mut WebSocket,
        session: &mut S,
        incoming: Option<Result<Message, axum::Error>>,
    ) -> Option<End> {
        if matches!(incoming, Some(Ok(Message::Text(_) | Message::Binary(_))))
            && self.wait_for_budget(socket, session).await.is_none()
        {
            return Some(End::Gone);
        }
        let verdict = match incoming {
            Some(Ok(Message::Text(text))) => session.on_text(text.as_str()).await,
            Some(Ok(Message::Binary(_))) => Verdict::Bad(frames::error(
                ErrorCode::MalformedFrame,
                "binary frames are not part of the protocol",
                None,
            )),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Verdict::none(),
            Some(Ok(Message::Close(_))) => return Some(End::Answer),
            Some(Err(_)) | None => return Some(End::Gone),
        };
        let frames = match verdict {
            Verdict::Reply(frames) => frames,
            Verdict::Bad(frame) => {
                self.strikes += 1;
                vec![frame]
            }
        };
        for f in frames {
            if socket.send(Message::Text(f)).await.is_err() {
                return Some(End::Gone);
            }
        }
        (self.strikes >= STRIKES).then_some(End::Close(1008, "too many bad frames"))
    }

    /// Over the budget, the frame waits its turn: the flooder is held to
    /// the rate by TCP's back-pressure. `None` when the socket is gone.
    async fn wait_for_budget<S: Session>(&mut self, socket: &mut WebSocket, session: &S) -> Option<()> {
        let Some(wait) = self.budget.take() else {
            self.throttled = false;
            return Some(());
        };
        // Told once per run of throttled frames; then read at the rate.
        if !self.throttled {
            session.throttled();
            let notice = frames::error(ErrorCode::RateLimited, "too many frames; slowed down", None);
            socket.send(Message::Text(notice)).await.ok()?;
        }
        self.throttled = true;
        tokio::time::sleep(wait).await;
        Some(())
    }
}

/// Writes `first` and whatever else is already queued (up to a bound),
/// then flushes once: one system call for many frames under load.
/// `Some` when the connection ends: a write failed, or the hub's close
/// came after the frames.
async fn write_queued(socket: &mut WebSocket, first: Utf8Bytes, outbox: &mut Outbox) -> Option<End> {
    if socket.feed(Message::Text(first)).await.is_err() {
        return Some(End::Gone);
    }
    for _ in 0..64 {
        match outbox.try_recv() {
            Some(Outbound::Frame(f)) => {
                if socket.feed(Message::Text(f)).await.is_err() {
                    return Some(End::Gone);
                }
            }
            Some(Outbound::Close(code, reason)) => {
                return Some(match socket.flush().await {
                    Ok(()) => End::Close(code, reason),
                    Err(_) => End::Gone,
                });
            }
            None => break,
        }
    }
    socket.flush().await.err().map(|_| End::Gone)
}

/// At shutdown: writes the queue out (the acks) until the hub's close;
/// `None` when the connection is gone meanwhile.
async fn write_until_close(socket: &mut WebSocket, outbox: &mut Outbox) -> Option<(u16, &'static str)> {
    loop {
        match outbox.recv().await {
            Outbound::Frame(f) => match write_queued(socket, f, outbox).await {
                None => {}
                Some(End::Close(code, reason)) => return Some((code, reason)),
                Some(_) => return None,
            },
            Outbound::Close(code, reason) => return Some((code, reason)),
        }
    }
}

/// Sends the close frame, then reads on until the client's close frame
/// answers it (or `CLOSE_HANDSHAKE` passes): a socket dropped with the
/// client's frames still unread in it is reset by the system, and the
/// client would see 1006 instead of the code (throttled clients always
/// have unread frames). What is read now is not handled.
async fn close(mut socket: WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let answered = async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_HANDSHAKE, answered).await;
}

/// An application refusal as an error frame with the protocol's codes.
pub fn refusal(e: AppError, client_id: Option<uuid::Uuid>) -> Verdict {
    let (code, strike) = match &e {
        AppError::NotFound | AppError::Store(StoreError::NotFound) => (ErrorCode::NotFound, false),
        AppError::Forbidden => (ErrorCode::Forbidden, false),
        AppError::Conflict(code) => (*code, false),
        AppError::Domain(_) => (ErrorCode::InvalidFrame, true),
        AppError::Store(_) => (ErrorCode::StorageUnavailable, false),
        _ => (ErrorCode::Internal, false),
    };
    if code == ErrorCode::Internal {
        tracing::error!(error = %e, "a frame failed");
    }
    let frame = frames::error(code, &e.to_string(), client_id);
    if strike { Verdict::Bad(frame) } else { Verdict::one(frame) }
}
