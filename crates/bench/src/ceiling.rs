//! A bare WebSocket server speaking just enough of the protocol for the
//! client engine: the ceiling that Ostrog's figures are compared with.
//!
//! It answers every `send` with an `ack` on the same socket and forwards a
//! `message` frame, shaped like Ostrog's, to one operator socket (chosen
//! round-robin per visitor, as routing would), so the client does exactly
//! the work it does against Ostrog. It stores nothing and checks nothing:
//! what it measures is the machine, the kernel's loopback and the
//! WebSocket/JSON work on both ends.

use crate::fixture::Fixture;
use crate::ids::IdGen;
use anyhow::Context;
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Frames queued for one operator socket. Bounded, so a slow operator slows
/// the visitors writing to it rather than growing memory without end.
const OPERATOR_QUEUE: usize = 1024;

/// Names the runtime's threads so their CPU time can be told apart from the
/// client's in this same process (see `cpu::threads_seconds`).
pub const THREAD_NAME: &str = "echo-server";

/// The echo server, on its own runtime so it never competes with the
/// client's worker threads for a scheduler, only for cores.
pub struct EchoServer {
    pub addr: SocketAddr,
    runtime: Option<Runtime>,
}

#[derive(Default)]
struct State {
    operators: Mutex<Vec<mpsc::Sender<Message>>>,
    next_operator: AtomicUsize,
}

impl EchoServer {
    /// Starts listening on 127.0.0.1 at a free port with `threads` workers.
    pub fn start(threads: usize) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name(THREAD_NAME)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        runtime.spawn(accept(listener, Arc::new(State::default())));
        Ok(Self { addr, runtime: Some(runtime) })
    }

    /// A fixture pointing the client engine at this server, with `operators`
    /// placeholder tokens (the server only checks that one is there).
    pub fn fixture(&self, operators: usize) -> Fixture {
        Fixture {
            url: format!("http://{}", self.addr),
            widget_id: "ceiling".into(),
            origin: "http://ceiling.invalid".into(),
            operator_tokens: (0..operators).map(|i| format!("ceiling-operator-{i}")).collect(),
            operator_urls: Vec::new(),
            // The server is this process; its memory would include the client's.
            server_pid: None,
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Not `drop`: that blocks, and must not run inside another runtime.
            runtime.shutdown_background();
        }
    }
}

async fn accept(listener: TcpListener, state: Arc<State>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, state.clone()));
            }
            // Out of descriptors, most likely: pause instead of spinning.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
}

enum Role {
    Visitor,
    Operator,
}

async fn connection(stream: TcpStream, state: Arc<State>) {
    let _ = stream.set_nodelay(true);
    let mut role = None;
    // The callback's signature, large error included, is tungstenite's.
    #[allow(clippy::result_large_err)]
    let check = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let path = request.uri().path();
        let headers = request.headers();
        role = if path == "/api/v1/ws" && headers.contains_key("authorization") {
            Some(Role::Operator)
        } else if path.starts_with("/api/v1/widget/") && path.ends_with("/ws") && headers.contains_key("origin") {
            Some(Role::Visitor)
        } else {
            let mut refusal = ErrorResponse::new(Some("not a bench endpoint".into()));
            *refusal.status_mut() = StatusCode::FORBIDDEN;
            return Err(refusal);
        };
        Ok(response)
    };
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
    let Ok(ws) = tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config)).await else { return };
    let result = match role {
        Some(Role::Visitor) => visitor(ws, &state).await,
        Some(Role::Operator) => operator(ws, &state).await,
        None => Ok(()),
    };
    // A client going away mid-frame is normal at the end of a run.
    let _ = result;
}

/// The fields of a client frame the echo server uses.
#[derive(Deserialize)]
struct ClientFrame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    client_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
struct Ack<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    client_id: &'a str,
    id: uuid::Uuid,
    conversation_id: uuid::Uuid,
    seq: u64,
    at: u64,
}

#[derive(Serialize)]
struct Live<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    id: uuid::Uuid,
    conversation_id: uuid::Uuid,
    seq: u64,
    client_id: &'a str,
    author: Author,
    kind: &'static str,
    text: &'a str,
    event: Option<()>,
    at: u64,
}

#[derive(Serialize)]
struct Author {
    kind: &'static str,
    id: Option<uuid::Uuid>,
    name: Option<String>,
}

fn unix_ms() -> u64 {
    use ostrog_domain::clock::{Clock, SystemClock};
    u64::try_from(SystemClock.now()).unwrap_or(0)
}

fn error_frame(code: &str) -> Message {
    Message::text(format!(r#"{{"type":"error","code":"{code}","message":"{code}"}}"#))
}

/// One visitor's conversation as the echo server keeps it.
struct Conversation {
    id: uuid::Uuid,
    visitor: uuid::Uuid,
    seq: u64,
    /// The operator it was routed to at its first message, if any is online.
    operator: Option<mpsc::Sender<Message>>,
}

async fn visitor(mut ws: WebSocketStream<TcpStream>, state: &State) -> anyhow::Result<()> {
    let mut ids = IdGen::new();
    let mut conversation: Option<Conversation> = None;
    let visitor_id = ids.next_id();
    while let Some(frame) = ws.next().await {
        let mut frame = Some(frame?);
        // Answer every frame already read before flushing once: a window of
        // sends arrives in one segment and its acks leave in one.
        while let Some(current) = frame {
            if let Message::Text(text) = &current {
                let reply = on_visitor_frame(text.as_str(), state, &mut ids, &mut conversation, visitor_id).await?;
                if let Some(reply) = reply {
                    ws.feed(reply).await?;
                }
            } else if current.is_close() {
                return Ok(());
            }
            frame = match ws.next().now_or_never() {
                Some(Some(next)) => Some(next?),
                Some(None) => return Ok(()),
                None => None,
            };
        }
        ws.flush().await?;
    }
    Ok(())
}

async fn on_visitor_frame(
    text: &str,
    state: &State,
    ids: &mut IdGen,
    conversation: &mut Option<Conversation>,
    visitor_id: uuid::Uuid,
) -> anyhow::Result<Option<Message>> {
    let Ok(frame) = serde_json::from_str::<ClientFrame<'_>>(text) else {
        return Ok(Some(error_frame("malformed_frame")));
    };
    Ok(Some(match frame.kind.as_ref() {
        "hello" => Message::text(format!(
            r#"{{"type":"welcome","v":1,"token":"{}","visitor_id":"{visitor_id}","conversation":null,"widget":{{"name":"Ceiling","greeting":null}}}}"#,
            ids.next_id().simple()
        )),
        "send" => {
            let (Some(client_id), Some(text)) = (frame.client_id.as_deref(), frame.text.as_deref()) else {
                return Ok(Some(error_frame("invalid_frame")));
            };
            let conversation = conversation.get_or_insert_with(|| Conversation {
                id: ids.next_id(),
                visitor: visitor_id,
                seq: 0,
                operator: route(state),
            });
            conversation.seq += 1;
            let at = unix_ms();
            let id = ids.next_id();
            if let Some(operator) = &conversation.operator {
                let live = Live {
                    kind: "message",
                    message: Body {
                        id,
                        conversation_id: conversation.id,
                        seq: conversation.seq,
                        client_id,
                        author: Author { kind: "visitor", id: Some(conversation.visitor), name: None },
                        kind: "text",
                        text,
                        event: None,
                        at,
                    },
                };
                // An operator that went away just stops receiving.
                let _ = operator.send(Message::text(serde_json::to_string(&live)?)).await;
            }
            let ack = Ack { kind: "ack", client_id, id, conversation_id: conversation.id, seq: conversation.seq, at };
            Message::text(serde_json::to_string(&ack)?)
        }
        "ping" => Message::text(r#"{"type":"pong"}"#),
        _ => error_frame("unknown_type"),
    }))
}

/// Round-robin over the operators online when a conversation starts.
fn route(state: &State) -> Option<mpsc::Sender<Message>> {
    let operators = state.operators.lock().unwrap_or_else(PoisonError::into_inner);
    if operators.is_empty() {
        return None;
    }
    let next = state.next_operator.fetch_add(1, Relaxed) % operators.len();
    operators.get(next).cloned()
}

async fn operator(mut ws: WebSocketStream<TcpStream>, state: &State) -> anyhow::Result<()> {
    let mut ids = IdGen::new();
    let employee_id = ids.next_id();
    ws.send(Message::text(format!(r#"{{"type":"welcome","v":1,"employee_id":"{employee_id}","presence":"online"}}"#)))
        .await?;
    let (tx, mut rx) = mpsc::channel(OPERATOR_QUEUE);
    state.operators.lock().unwrap_or_else(PoisonError::into_inner).push(tx);
    loop {
        tokio::select! {
            live = rx.recv() => {
                let Some(live) = live else { return Ok(()) };
                ws.feed(live).await?;
                // Everything already queued goes out in the same write.
                while let Ok(more) = rx.try_recv() {
                    ws.feed(more).await?;
                }
                ws.flush().await?;
            }
            frame = ws.next() => {
                let Some(frame) = frame else { return Ok(()) };
                let Message::Text(text) = frame? else { continue };
                let frame = serde_json::from_str::<ClientFrame<'_>>(text.as_str()).context("operator frame")?;
                let reply = match frame.kind.as_ref() {
                    "presence" => Message::text(format!(
                        r#"{{"type":"presence","employee_id":"{employee_id}","status":"{}"}}"#,
                        frame.status.as_deref().unwrap_or("online")
                    )),
                    "ping" => Message::text(r#"{"type":"pong"}"#),
                    _ => error_frame("unknown_type"),
                };
                ws.send(reply).await?;
            }
        }
    }
}
