//! Stand-ins for the services the messenger channels talk to: the Telegram
//! Bot API, the VK API and a company's webhook endpoint. Each is a local
//! HTTP server on 127.0.0.1:0 that the tests point a channel's "API base
//! URL" at, so that the real outbound code runs against the documented
//! request and reply shapes without reaching the internet.

pub mod telegram;
pub mod vk;
pub mod webhook;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request};
use axum::http::header;
use serde_json::{Map, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A fake's server task; stopped gracefully when this is dropped.
pub(crate) struct Served {
    pub base_url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Served {
    pub async fn start(router: Router) -> Served {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        // Telegram takes uploads of up to 50 MB; axum's default cap is 2 MB.
        let router = router.layer(DefaultBodyLimit::max(64 << 20));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Served { base_url, stop: Some(stop) }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Parses `application/x-www-form-urlencoded` text (a query string or a
/// form body). Written out here because axum's `form` feature is off.
pub(crate) fn parse_urlencoded(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes.get(i + 1..i + 3).and_then(|hex| std::str::from_utf8(hex).ok());
        match (bytes[i], escaped.and_then(|hex| u8::from_str_radix(hex, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (byte, _) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Collects a call's parameters from the query string and the body in any
/// of the encodings the Bot API takes (#making-requests): JSON, form or
/// multipart, whose file part named `file_field` is returned as
/// (file name, bytes). Errors are Bot API descriptions.
pub(crate) async fn read_params(
    req: Request,
    file_field: &str,
) -> Result<(Map<String, Value>, Option<(String, Vec<u8>)>), String> {
    let mut params: Map<String, Value> =
        parse_urlencoded(req.uri().query().unwrap_or("")).into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let content_type = content_type.to_ascii_lowercase();
    let bad = |e: &dyn std::fmt::Display| format!("Bad Request: {e}");
    let mut upload = None;
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(req, &()).await.map_err(|e| bad(&e))?;
        while let Some(field) = multipart.next_field().await.map_err(|e| bad(&e))? {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file_name) if name == file_field => {
                    upload = Some((file_name, field.bytes().await.map_err(|e| bad(&e))?.to_vec()));
                }
                // Other uploads (a thumbnail, say) are not kept.
                Some(_) => drop(field.bytes().await),
                None => drop(params.insert(name, Value::String(field.text().await.map_err(|e| bad(&e))?))),
            }
        }
        return Ok((params, upload));
    }
    let body = axum::body::to_bytes(req.into_body(), 64 << 20).await.map_err(|e| bad(&e))?;
    if content_type.starts_with("application/json") && !body.is_empty() {
        match serde_json::from_slice(&body) {
            Ok(Value::Object(fields)) => params.extend(fields),
            _ => return Err("Bad Request: can't parse JSON".into()),
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        params
            .extend(parse_urlencoded(&String::from_utf8_lossy(&body)).into_iter().map(|(k, v)| (k, Value::String(v))));
    }
    Ok((params, upload))
}

/// Integer parameters arrive as JSON numbers or as text.
pub(crate) fn int(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

pub(crate) fn string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Seconds since the Unix epoch, as the APIs date their objects.
pub(crate) fn unix_now() -> i64 {
    use ostrog_domain::clock::{Clock, SystemClock};
    SystemClock.now() / 1000
}

#[cfg(test)]
mod tests {
    #[test]
    fn urlencoded() {
        let pairs = super::parse_urlencoded("a=1&text=hello+w%C3%B6rld%21&empty=&flag&bad=%zz%4");
        let expected = [("a", "1"), ("text", "hello wörld!"), ("empty", ""), ("flag", ""), ("bad", "%zz%4")];
        let expected: Vec<(String, String)> = expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(pairs, expected);
    }
}
