//! A WebSocket client speaking the protocol as the widget and the
//! workplace do, for tests: send JSON frames, wait for a frame of a type.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a connection ended, when it did.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Closed(Option<u16>),
    Open,
}

impl Ws {
    /// Connects to `url` (`ws://…`) with the given extra headers; `Err` is
    /// the HTTP status when the upgrade was refused.
    pub async fn connect(url: &str, headers: &[(&str, &str)]) -> Result<Ws, u16> {
        let mut request = url.into_client_request().unwrap();
        for (k, v) in headers {
            let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap();
            request.headers_mut().insert(name, HeaderValue::from_str(v).unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => Ok(Ws { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
            Err(e) => panic!("connect {url}: {e}"),
        }
    }

    pub async fn send(&mut self, frame: Value) {
        self.stream.send(Message::text(frame.to_string())).await.unwrap();
    }

    /// Closes the connection from the client's side.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }

    /// Closes from the client's side with `code` and returns the code of the
    /// server's close frame in reply; `None` when the connection ended
    /// without one (a reset) or nothing came within 5 seconds.
    pub async fn close_with(mut self, code: u16) -> Option<u16> {
        let frame = CloseFrame { code: code.into(), reason: "bye".into() };
        self.stream.close(Some(frame)).await.ok()?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await.ok()?? {
                Ok(Message::Close(reply)) => return reply.map(|f| u16::from(f.code)),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Sends a text message; `Err` once the connection is gone.
    pub async fn try_send_raw(&mut self, text: &str) -> Result<(), ()> {
        self.stream.send(Message::text(text.to_string())).await.map_err(|_| ())
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.stream.send(Message::text(text.to_string())).await.unwrap();
    }

    /// The next frame of `kind` (others are skipped), within 5 seconds.
    pub async fn expect(&mut self, kind: &str) -> Value {
        self.try_expect(kind, Duration::from_secs(5)).await.unwrap_or_else(|| panic!("no {kind} frame arrived"))
    }

    pub async fn try_expect(&mut self, kind: &str, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let v = self.next_frame(deadline).await?;
            if v["type"] == kind {
                return Some(v);
            }
        }
    }

    /// The next text frame before `deadline`.
    pub async fn next_frame(&mut self, deadline: tokio::time::Instant) -> Option<Value> {
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next()).await.ok()??;
            if let Ok(Message::Text(t)) = next {
                return Some(serde_json::from_str(t.as_str()).unwrap());
            }
        }
    }

    /// The message with `text` (or whose event is named `text`), live or
    /// in a replay, within 5 seconds.
    pub async fn receive(&mut self, text: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let v = self.next_frame(deadline).await.unwrap_or_else(|| panic!("{text:?} never arrived"));
            let Some(items) = messages_in(&v) else { continue };
            if let Some(m) = items.into_iter().find(|m| m["text"] == text || m["event"]["name"] == text) {
                return m;
            }
        }
    }

    /// A frame of `kind` and the message `text`, in whichever order they
    /// come (two events that race, such as an assignment and the message that
    /// opened the conversation), within 5 seconds.
    pub async fn expect_and_receive(&mut self, kind: &str, text: &str) -> (Value, Value) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let (mut frame, mut message) = (None, None);
        while frame.is_none() || message.is_none() {
            let v = self
                .next_frame(deadline)
                .await
                .unwrap_or_else(|| panic!("within 5 s: {kind} frame {}, {text:?} {}", seen(&frame), seen(&message)));
            let items = messages_in(&v).unwrap_or_default();
            if message.is_none() {
                message = items.into_iter().find(|m| m["text"] == text);
            }
            if frame.is_none() && v["type"] == kind {
                frame = Some(v);
            }
        }
        (frame.unwrap_or_default(), message.unwrap_or_default())
    }

    /// Reads until the server closes the connection, or `within` passes.
    pub async fn ended(&mut self, within: Duration) -> Ended {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Ended::Open,
                Ok(None) | Ok(Some(Err(_))) => return Ended::Closed(None),
                Ok(Some(Ok(Message::Close(frame)))) => return Ended::Closed(frame.map(|f| u16::from(f.code))),
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Sends a text message and returns its `ack`.
    pub async fn say(&mut self, text: &str) -> Value {
        let id = uuid::Uuid::new_v4();
        self.send(json!({"type": "send", "client_id": id, "text": text})).await;
        self.expect("ack").await
    }
}

fn seen(v: &Option<Value>) -> &'static str {
    if v.is_some() { "arrived" } else { "never arrived" }
}

/// The messages a `message` or `messages` frame carries; `None` for other frames.
fn messages_in(v: &Value) -> Option<Vec<Value>> {
    match v["type"].as_str() {
        Some("message") => Some(vec![v["message"].clone()]),
        Some("messages") => Some(v["items"].as_array().cloned().unwrap_or_default()),
        _ => None,
    }
}
