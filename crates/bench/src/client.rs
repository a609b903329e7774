//! The visitor and operator WebSocket clients: connecting, the handshakes,
//! and what each side does with every frame during a run.

use crate::ids::IdGen;
use crate::load::{Phase, Shared};
use crate::stamp;
use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

pub type Ws = WebSocketStream<TcpStream>;

/// How long a handshake answer (`welcome`, `presence`) may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a polite close may take before the socket is just dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// A connect that failed because this process ran out of file descriptors.
/// Its own type so callers stop at once instead of counting thousands of
/// identical failures.
#[derive(Debug)]
pub struct TooManyOpenFiles;

impl fmt::Display for TooManyOpenFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "too many open files (EMFILE/ENFILE): raise the limit before running, e.g. `ulimit -n 65536` \
             in the shell that starts the bench (and the server)",
        )
    }
}

impl std::error::Error for TooManyOpenFiles {}

/// Which side a connection speaks for; decides buffer sizes and headers.
pub enum Side<'a> {
    Visitor { origin: &'a str },
    Operator { token: &'a str },
}

/// Opens a WebSocket to `url` through a TCP connection to `authority`.
pub async fn open(authority: &str, url: &str, side: Side<'_>) -> anyhow::Result<Ws> {
    let stream = TcpStream::connect(authority).await.map_err(|error| {
        // EMFILE = 24, ENFILE = 23 on Linux.
        match error.raw_os_error() {
            Some(23 | 24) => anyhow::Error::new(TooManyOpenFiles),
            _ => anyhow::Error::new(error).context(format!("connecting to {authority}")),
        }
    })?;
    // Frames are small and latency is what is measured: no Nagle delay.
    stream.set_nodelay(true)?;
    let mut request = url.into_client_request()?;
    let (name, value, read_buffer) = match side {
        // Visitors get a few small frames; tungstenite allocates the read
        // buffer eagerly (128 KiB by default), which for 10,000 idle
        // connections would be over a gigabyte of client memory.
        Side::Visitor { origin } => ("origin", HeaderValue::from_str(origin)?, 8 * 1024),
        // Operators receive the traffic of many visitors at once.
        Side::Operator { token } => ("authorization", HeaderValue::from_str(&format!("Bearer {token}"))?, 64 * 1024),
    };
    request.headers_mut().insert(name, value);
    let config = WebSocketConfig::default().read_buffer_size(read_buffer);
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .with_context(|| format!("WebSocket upgrade at {url}"))?;
    Ok(ws)
}

/// The few fields of a server frame the bench looks at; serde skips the rest.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    client_id: Option<Cow<'a, str>>,
    /// The live message in `message` frames; in `error` frames the same key
    /// holds a human-readable string.
    #[serde(default, borrow)]
    message: Option<MessageField<'a>>,
    /// The history an operator gets when a conversation is assigned to them
    /// (`messages` frames): what the visitor wrote before routing ran.
    #[serde(default, borrow)]
    items: Option<Vec<Body<'a>>>,
}

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(default, borrow)]
    conversation_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

enum MessageField<'a> {
    Live(Body<'a>),
    Text,
}

impl MessageField<'_> {
    fn body(&self) -> Option<&Body<'_>> {
        match self {
            Self::Live(body) => Some(body),
            Self::Text => None,
        }
    }
}

/// By hand rather than `#[serde(untagged)]`, which would buffer every
/// message frame into an intermediate tree before trying each variant.
impl<'de: 'a, 'a> Deserialize<'de> for MessageField<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Either<'a> {
            type Value = MessageField<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message object or a string")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Body::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(MessageField::Live)
            }

            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(MessageField::Text)
            }
        }
        deserializer.deserialize_any(Either(std::marker::PhantomData))
    }
}

fn parse(text: &str) -> Option<Incoming<'_>> {
    serde_json::from_str(text).ok()
}

/// Reads until a frame of type `wanted` arrives; an `error` frame, a close
/// or a timeout fails the handshake.
async fn expect(ws: &mut Ws, wanted: &str) -> anyhow::Result<()> {
    let wait = async {
        while let Some(frame) = ws.next().await {
            let Message::Text(text) = frame? else { continue };
            match parse(text.as_str()) {
                Some(frame) if frame.kind == wanted => return Ok(()),
                Some(frame) if frame.kind == "error" => {
                    anyhow::bail!("server answered error {:?} while waiting for {wanted}", frame.code)
                }
                _ => {}
            }
        }
        anyhow::bail!("server closed the connection while waiting for {wanted}")
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, wait).await.with_context(|| format!("no {wanted} within 10 s"))?
}

/// `hello` → `welcome`: a new anonymous visitor.
pub async fn visitor_hello(ws: &mut Ws) -> anyhow::Result<()> {
    ws.send(Message::text(r#"{"type":"hello","v":1}"#)).await?;
    expect(ws, "welcome").await
}

/// `welcome` (sent by the server at once), then `presence online`, answered
/// by `presence`: after this routing may hand the operator conversations.
/// The visitor's first message, which opens their conversation and puts
/// it in the queue; sent before the run so that routing is done when the
/// measurement starts (a real site does not open 1,000 chats in a second).
pub async fn visitor_open(ws: &mut Ws) -> anyhow::Result<()> {
    let frame = format!(r#"{{"type":"send","client_id":"{}","text":"opening"}}"#, uuid::Uuid::new_v4());
    ws.send(Message::text(frame)).await?;
    expect(ws, "ack").await
}

pub async fn operator_online(ws: &mut Ws) -> anyhow::Result<()> {
    expect(ws, "welcome").await?;
    ws.send(Message::text(r#"{"type":"presence","status":"online"}"#)).await?;
    expect(ws, "presence").await
}

/// How a visitor decides when to send.
#[derive(Clone)]
pub enum Pace {
    /// Keep this many messages unacknowledged: as fast as acks allow.
    Window(usize),
    /// One message per permit; a central ticker hands them out.
    Credits(std::sync::Arc<Semaphore>),
}

/// A visitor during a run: sends stamped messages while the phase is
/// `Running`, counts acks and errors, and after the run waits for its
/// outstanding acks (or `Done`) before closing.
pub async fn visitor(mut ws: Ws, shared: std::sync::Arc<Shared>, pace: Pace, text_bytes: usize) {
    let mut phase = shared.phase.clone();
    let mut current = *phase.borrow_and_update();
    let mut ids = IdGen::new();
    // Send times of the unacknowledged messages, oldest first: acks on one
    // connection arrive in the order the messages were sent.
    let mut pending: VecDeque<u64> = VecDeque::new();
    let credits = match &pace {
        Pace::Credits(credits) => Some(credits.as_ref()),
        Pace::Window(_) => None,
    };
    loop {
        if let (Phase::Running, Pace::Window(window)) = (current, &pace)
            && pending.len() < *window
            && fill(&mut ws, &shared, &mut ids, &mut pending, *window, text_bytes).await.is_err()
        {
            shared.counters.disconnects.fetch_add(1, Relaxed);
            break;
        }
        if current == Phase::Done || (current == Phase::Draining && pending.is_empty()) {
            break;
        }
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => on_visitor_frame(&shared, text.as_str(), &mut pending),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    shared.counters.disconnects.fetch_add(1, Relaxed);
                    break;
                }
                Some(Ok(_)) => {}
            },
            changed = phase.changed() => {
                current = if changed.is_ok() { *phase.borrow_and_update() } else { Phase::Done };
            }
            () = credit(credits), if current == Phase::Running => {
                let sent = send(&mut ws, &shared, &mut ids, &mut pending, text_bytes).await;
                if sent.and(ws.flush().await).is_err() {
                    shared.counters.disconnects.fetch_add(1, Relaxed);
                    break;
                }
            }
        }
    }
    // Whatever is still unacknowledged will never be: release the drain.
    shared.counters.unacked.fetch_sub(pending.len() as i64, Relaxed);
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.close(None)).await;
}

/// Waits for one permit; never finishes when pacing by window.
async fn credit(credits: Option<&Semaphore>) {
    match credits {
        Some(credits) => match credits.acquire().await {
            Ok(permit) => permit.forget(),
            Err(_) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// Tops the window up and sends it in one flush (one write for the batch).
async fn fill(
    ws: &mut Ws,
    shared: &Shared,
    ids: &mut IdGen,
    pending: &mut VecDeque<u64>,
    window: usize,
    text_bytes: usize,
) -> Result<(), WsError> {
    while pending.len() < window {
        send(ws, shared, ids, pending, text_bytes).await?;
    }
    ws.flush().await
}

/// Queues one stamped `send` frame (not flushed).
async fn send(
    ws: &mut Ws,
    shared: &Shared,
    ids: &mut IdGen,
    pending: &mut VecDeque<u64>,
    text_bytes: usize,
) -> Result<(), WsError> {
    let now = shared.epoch.nanos();
    let frame =
        format!(r#"{{"type":"send","client_id":"{}","text":"{}"}}"#, ids.next_id(), stamp::text(now, text_bytes));
    ws.feed(Message::text(frame)).await?;
    pending.push_back(now);
    shared.counters.unacked.fetch_add(1, Relaxed);
    if shared.in_window(now) {
        shared.counters.sent.fetch_add(1, Relaxed);
    }
    Ok(())
}

fn on_visitor_frame(shared: &Shared, text: &str, pending: &mut VecDeque<u64>) {
    let Some(frame) = parse(text) else { return };
    match frame.kind.as_ref() {
        "ack" => {
            let now = shared.epoch.nanos();
            if shared.in_window(now) {
                shared.counters.acked.fetch_add(1, Relaxed);
            }
            if let Some(sent) = pending.pop_front() {
                shared.counters.unacked.fetch_sub(1, Relaxed);
                if shared.in_window(sent) {
                    shared.ack_latency.record_nanos(now.saturating_sub(sent));
                }
            }
        }
        "error" => {
            shared.count_error(frame.code.as_deref().unwrap_or("(no code)"));
            // An error naming a message means that message gets no ack.
            if frame.client_id.is_some() && pending.pop_front().is_some() {
                shared.counters.unacked.fetch_sub(1, Relaxed);
            }
        }
        // The visitor's own messages echoed back, typing, read, …: not measured.
        _ => {}
    }
}

/// An operator during a run: takes the delivery latency of every bench
/// message it receives, until the phase is `Done`.
pub async fn operator(mut ws: Ws, shared: std::sync::Arc<Shared>) {
    let mut phase = shared.phase.clone();
    let mut seen = HashSet::new();
    if *phase.borrow_and_update() == Phase::Done {
        return;
    }
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => on_operator_frame(&shared, text.as_str(), &mut seen),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    shared.counters.disconnects.fetch_add(1, Relaxed);
                    break;
                }
                Some(Ok(_)) => {}
            },
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow_and_update() == Phase::Done {
                    break;
                }
            }
        }
    }
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.close(None)).await;
}

/// `seen` holds the conversations this operator has had bench messages in:
/// how many conversations routing handed out at all tells a routing or
/// chat-limit problem apart from slow delivery.
fn on_operator_frame(shared: &Shared, text: &str, seen: &mut HashSet<String>) {
    let Some(frame) = parse(text) else { return };
    match frame.kind.as_ref() {
        "message" => {
            if let Some(body) = frame.message.as_ref().and_then(MessageField::body) {
                delivered(shared, body, seen);
            }
        }
        // Messages written before the conversation was assigned arrive in
        // the history sent with the assignment; they count, with the
        // latency they really had (waiting for routing included).
        "messages" => {
            for body in frame.items.iter().flatten() {
                delivered(shared, body, seen);
            }
        }
        "error" => shared.count_error(frame.code.as_deref().unwrap_or("(no code)")),
        _ => {}
    }
}

fn delivered(shared: &Shared, body: &Body<'_>, seen: &mut HashSet<String>) {
    if let Some(conversation) = body.conversation_id.as_deref()
        && !seen.contains(conversation)
    {
        seen.insert(conversation.to_owned());
        shared.counters.conversations_reached.fetch_add(1, Relaxed);
    }
    let Some(sent) = body.text.as_deref().and_then(stamp::parse) else { return };
    let now = shared.epoch.nanos();
    shared.counters.delivered.fetch_add(1, Relaxed);
    if shared.in_window(sent) {
        shared.delivery_latency.record_nanos(now.saturating_sub(sent));
    }
}

/// A visitor that only said hello: keeps reading (so pings are answered and
/// the server sees a live client) until `Done`.
pub async fn idle(mut ws: Ws, shared: std::sync::Arc<Shared>) {
    let mut phase = shared.phase.clone();
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    shared.counters.disconnects.fetch_add(1, Relaxed);
                    return;
                }
                Some(Ok(_)) => {}
            },
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow_and_update() == Phase::Done {
                    break;
                }
            }
        }
    }
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.close(None)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::watch;

    fn shared() -> anyhow::Result<Shared> {
        let (_, phase) = watch::channel(Phase::Running);
        Shared::new(phase)
    }

    #[test]
    fn acks_and_errors_settle_pending_messages() -> anyhow::Result<()> {
        let shared = shared()?;
        let before = shared.epoch.nanos();
        shared.start_window();
        let during = shared.epoch.nanos();
        let mut pending = VecDeque::from([before, during, during]);
        shared.counters.unacked.store(3, Relaxed);

        // Sent before the window: the ack counts (it arrives in the window),
        // its latency does not.
        on_visitor_frame(&shared, r#"{"type":"ack","client_id":"a","seq":1}"#, &mut pending);
        assert_eq!(shared.counters.acked.load(Relaxed), 1);
        assert_eq!(shared.ack_latency.summary().samples, 0);
        on_visitor_frame(&shared, r#"{"type":"ack","client_id":"b","seq":2}"#, &mut pending);
        assert_eq!(shared.ack_latency.summary().samples, 1);

        // An error about the connection leaves the message pending; one
        // naming the message settles it.
        on_visitor_frame(&shared, r#"{"type":"error","code":"invalid_frame","message":"m"}"#, &mut pending);
        assert_eq!(pending.len(), 1);
        let error = r#"{"type":"error","code":"storage_unavailable","message":"m","client_id":"c"}"#;
        on_visitor_frame(&shared, error, &mut pending);
        assert!(pending.is_empty());
        assert_eq!(shared.counters.unacked.load(Relaxed), 0);
        assert_eq!(shared.counters.error_frames.load(Relaxed), 2);
        assert_eq!(shared.error_codes().get("storage_unavailable"), Some(&1));
        Ok(())
    }

    #[test]
    fn operators_time_only_bench_messages_sent_in_the_window() -> anyhow::Result<()> {
        let shared = shared()?;
        let live = |text: &str| {
            format!(
                r#"{{"type":"message","message":{{"conversation_id":"c1","kind":"text","text":"{text}","seq":1}}}}"#
            )
        };
        let mut seen = HashSet::new();
        on_operator_frame(&shared, &live(&stamp::text(shared.epoch.nanos(), 0)), &mut seen);
        assert_eq!(shared.counters.delivered.load(Relaxed), 1);
        assert_eq!(shared.delivery_latency.summary().samples, 0, "warm-up is not measured");
        shared.start_window();
        on_operator_frame(&shared, &live(&stamp::text(shared.epoch.nanos(), 32)), &mut seen);
        on_operator_frame(&shared, &live("a visitor typing by hand"), &mut seen);
        on_operator_frame(&shared, r#"{"type":"conversation","conversation":{"id":"c"}}"#, &mut seen);
        assert_eq!(shared.counters.conversations_reached.load(Relaxed), 1);
        assert_eq!(shared.counters.delivered.load(Relaxed), 2);
        assert_eq!(shared.delivery_latency.summary().samples, 1);
        Ok(())
    }

    #[test]
    fn reads_the_fields_that_matter_and_skips_the_rest() -> anyhow::Result<()> {
        let message = r#"{"type":"message","message":{"id":"x","conversation_id":"c","seq":3,"client_id":null,
            "author":{"kind":"visitor","id":null,"name":null},"kind":"text","text":"b:17 xx","event":null,"at":1}}"#;
        let frame = parse(message).context("message frame")?;
        assert_eq!(frame.kind, "message");
        assert_eq!(
            frame.message.as_ref().and_then(MessageField::body).and_then(|b| b.text.as_deref()),
            Some("b:17 xx")
        );
        let error = parse(r#"{"type":"error","code":"storage_unavailable","message":"m","client_id":"id"}"#)
            .context("error frame")?;
        assert_eq!(error.code.as_deref(), Some("storage_unavailable"));
        assert!(error.client_id.is_some());
        assert!(error.message.as_ref().and_then(MessageField::body).and_then(|b| b.text.as_deref()).is_none());
        assert!(parse("not json").is_none());
        Ok(())
    }
}
