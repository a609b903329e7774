//! The WebSocket edge: one loop per connection that writes what the hub
//! queued for it, reads the client's frames, answers pings, and closes the
//! connection when the hub drops it (too slow, or revoked). The two sides'
//! frame handling lives in `visitor.rs` and `operator.rs`.

pub mod operator;
pub mod visitor;

use crate::error::AppError;
use crate::realtime::frames::{self, FrameError};
use crate::realtime::hub::Outbound;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use futures_util::SinkExt;
use ostrog_store::StoreError;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;

/// Bad frames tolerated on one connection before it is closed.
const STRIKES: u32 = 5;
/// Transport limit; frames between the protocol's 16 KiB and this get an
/// error frame, larger ones end the connection (close code 1009).
const TRANSPORT_MAX: usize = 64 * 1024;
const PING_EVERY: Duration = Duration::from_secs(30);
pub const HELLO_WITHIN: Duration = Duration::from_secs(10);

/// Small buffers: most connections are idle most of the time, and the
/// defaults (128 KiB each way) would cost more than the 64 KiB a
/// connection may use in all.
pub fn limits(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(4 * 1024)
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

pub async fn drive<S: Session>(mut socket: WebSocket, mut rx: mpsc::Receiver<Outbound>, mut session: S) {
    let mut strikes = 0;
    let mut budget = crate::realtime::limits::FrameBudget::new();
    let mut throttled = false;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Outbound::Frame(f)) => {
                    if !write_queued(&mut socket, f, &mut rx).await {
                        return;
                    }
                }
                Some(Outbound::Close(code, reason)) => return close(socket, code, reason).await,
                None => return close(socket, 1013, "too slow; reconnect and sync").await,
            },
            incoming = socket.recv() => {
                if matches!(incoming, Some(Ok(Message::Text(_) | Message::Binary(_)))) {
                    match budget.take() {
                        None => throttled = false,
                        Some(wait) => {
                            // Told once per run of throttled frames; then read at the rate.
                            let notice = frames::error("rate_limited", "too many frames; slowed down", None);
                            if !throttled {
                                session.throttled();
                                if socket.send(Message::Text(notice)).await.is_err() {
                                    return;
                                }
                            }
                            throttled = true;
                            tokio::time::sleep(wait).await;
                        }
                    }
                }
                let verdict = match incoming {
                    Some(Ok(Message::Text(text))) => session.on_text(text.as_str()).await,
                    Some(Ok(Message::Binary(_))) => Verdict::Bad(frames::error("malformed_frame", "binary frames are not part of the protocol", None)),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Verdict::none(),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                };
                let frames = match verdict {
                    Verdict::Reply(frames) => frames,
                    Verdict::Bad(frame) => {
                        strikes += 1;
                        vec![frame]
                    }
                };
                for f in frames {
                    if socket.send(Message::Text(f)).await.is_err() {
                        return;
                    }
                }
                if strikes >= STRIKES {
                    return close(socket, 1008, "too many bad frames").await;
                }
            }
            _ = ping.tick() => {
                if !session.still_valid().await {
                    return close(socket, 4001, "revoked").await;
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Writes `first` and whatever else is already queued (up to a bound),
/// then flushes once: one system call for many frames under load.
/// A close found in the queue is sent after the frames before it.
async fn write_queued(socket: &mut WebSocket, first: Utf8Bytes, rx: &mut mpsc::Receiver<Outbound>) -> bool {
    if socket.feed(Message::Text(first)).await.is_err() {
        return false;
    }
    for _ in 0..64 {
        match rx.try_recv() {
            Ok(Outbound::Frame(f)) => {
                if socket.feed(Message::Text(f)).await.is_err() {
                    return false;
                }
            }
            Ok(Outbound::Close(code, reason)) => {
                let _ = socket.flush().await;
                let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
                let _ = socket.send(Message::Close(Some(frame))).await;
                return false;
            }
            Err(_) => break,
        }
    }
    socket.flush().await.is_ok()
}

pub async fn close(mut socket: WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// An application refusal as an error frame with the protocol's codes.
pub fn refusal(e: AppError, client_id: Option<uuid::Uuid>) -> Verdict {
    let (code, strike) = match &e {
        AppError::NotFound | AppError::Store(StoreError::NotFound) => ("not_found", false),
        AppError::Forbidden => ("forbidden", false),
        AppError::Conflict(code) => (*code, false),
        AppError::Domain(_) => ("invalid_frame", true),
        AppError::Store(_) => ("storage_unavailable", false),
        _ => ("internal", false),
    };
    if code == "internal" {
        tracing::error!(error = %e, "a frame failed");
    }
    let frame = frames::error(code, &e.to_string(), client_id);
    if strike { Verdict::Bad(frame) } else { Verdict::one(frame) }
}
