//! A fake Telegram Bot API for the Telegram channel's tests: the subset of
//! https://core.telegram.org/bots/api the channel uses, at
//! `{base_url}/bot<token>/<method>`. It follows #making-requests (GET or
//! POST, case-insensitive method names, parameters in the query string,
//! JSON, form or multipart bodies; `{"ok":true,"result":…}` or
//! `{"ok":false,"error_code":…,"description":…}` with the same HTTP
//! status), #setwebhook, #getupdates, #sendmessage, #senddocument, #getfile
//! (downloads at `{base_url}/file/bot<token>/<file_path>`) and
//! #responseparameters (`retry_after` on 429).

use super::{Served, int, read_params, string, unix_now};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio::time::{Duration, Instant};

/// The methods served, spelled as the docs spell them (calls are recorded
/// under these names whatever case the client used).
const METHODS: [&str; 8] =
    ["getMe", "setWebhook", "deleteWebhook", "getWebhookInfo", "getUpdates", "sendMessage", "sendDocument", "getFile"];

const BOT_ID: i64 = 7_000_000_001;

pub struct FakeTelegram {
    shared: Arc<Shared>,
    served: Served,
}

#[derive(Debug, Clone)]
pub struct TelegramCall {
    pub method: String,
    pub chat_id: Option<i64>,
    /// The `text` parameter (sendMessage's); a document's caption stays in `params`.
    pub text: Option<String>,
    pub document_name: Option<String>,
    pub document: Option<Vec<u8>>,
    /// Every parameter as received (query, JSON, form or multipart text
    /// fields; uploaded file parts are in `document*` instead).
    pub params: Value,
}

struct Shared {
    token: String,
    state: Mutex<Telegram>,
    /// Wakes long-polling getUpdates calls when an update is pushed.
    pushed: Notify,
}

#[derive(Default)]
struct Telegram {
    calls: Vec<TelegramCall>,
    sent: Vec<TelegramCall>,
    webhook: Option<(String, Option<String>)>,
    /// file_id → (file_path, bytes).
    files: HashMap<String, (String, Vec<u8>)>,
    updates: Vec<Value>,
    down: bool,
    rate_limits: VecDeque<u64>,
    last_message_id: i64,
}

impl FakeTelegram {
    pub async fn start(token: &str) -> FakeTelegram {
        let shared = Arc::new(Shared { token: token.to_owned(), state: Mutex::default(), pushed: Notify::new() });
        let router = Router::new()
            .route("/{bot}/{method}", get(method).post(method))
            .route("/file/{bot}/{*path}", get(file))
            .fallback(|| async { error(404, "Not Found") })
            .with_state(shared.clone());
        FakeTelegram { shared, served: Served::start(router).await }
    }

    pub fn base_url(&self) -> String {
        self.served.base_url.clone()
    }

    /// Successful sendMessage/sendDocument calls, in the order they succeeded.
    pub fn sent(&self) -> Vec<TelegramCall> {
        self.state().sent.clone()
    }

    /// Every call received (any method, including failed ones and those
    /// answered 502 while down), in order.
    pub fn calls(&self) -> Vec<TelegramCall> {
        self.state().calls.clone()
    }

    /// (url, secret_token) from the last setWebhook; None after deleteWebhook or before.
    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        self.state().webhook.clone()
    }

    /// Makes a file downloadable: getFile(file_id) answers {file_id, file_unique_id, file_size, file_path};
    /// GET /file/bot<token>/<file_path> serves the bytes.
    pub fn add_file(&self, file_id: &str, file_path: &str, bytes: &[u8]) {
        self.state().files.insert(file_id.to_owned(), (file_path.to_owned(), bytes.to_vec()));
    }

    /// Queues an update for getUpdates (the JSON of an Update object, must contain update_id).
    pub fn push_update(&self, update: serde_json::Value) {
        assert!(update["update_id"].is_i64(), "an Update needs an integer update_id: {update}");
        self.state().updates.push(update);
        self.shared.pushed.notify_waiters();
    }

    /// While down, every request answers 502 Bad Gateway with an empty body (as a proxy in front of an
    /// unreachable API would).
    pub fn set_down(&self, down: bool) {
        self.state().down = down;
    }

    /// The next `count` sendMessage/sendDocument calls answer 429 {"ok":false,"error_code":429,
    /// "description":"Too Many Requests: retry after N","parameters":{"retry_after":N}}.
    pub fn rate_limit_next(&self, count: usize, retry_after: u64) {
        self.state().rate_limits.extend(std::iter::repeat_n(retry_after, count));
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Telegram> {
        self.shared.state.lock().unwrap()
    }
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

/// An error reply: the HTTP status is the `error_code`.
type Failure = (StatusCode, axum::Json<Value>);

fn error(code: u16, description: &str) -> Failure {
    let body = json!({"ok": false, "error_code": code, "description": description});
    (StatusCode::from_u16(code).unwrap(), axum::Json(body))
}

fn bot_user() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "Ostrog Test", "username": "ostrog_test_bot"})
}

fn update_id(update: &Value) -> i64 {
    update["update_id"].as_i64().unwrap_or(0)
}

async fn method(
    State(shared): State<Arc<Shared>>,
    Path((bot, name)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (params, upload, unreadable) = match read_params(req, "document").await {
        Ok((params, upload)) => (params, upload, None),
        Err(description) => (Map::new(), None, Some(description)),
    };
    let name = METHODS.iter().find(|m| m.eq_ignore_ascii_case(&name)).map_or(name, |m| (*m).to_owned());
    let (document_name, document) = upload.unzip();
    let params = Value::Object(params);
    let call = TelegramCall {
        method: name,
        chat_id: params.get("chat_id").and_then(int),
        text: params.get("text").and_then(string),
        document_name,
        document,
        params,
    };
    let poll = {
        let mut state = shared.state.lock().unwrap();
        state.calls.push(call.clone());
        if state.down {
            return StatusCode::BAD_GATEWAY.into_response();
        }
        if bot.strip_prefix("bot") != Some(shared.token.as_str()) {
            return error(401, "Unauthorized").into_response();
        }
        if let Some(description) = unreadable {
            return error(400, &description).into_response();
        }
        match answer(&mut state, call) {
            Ok(Reply::Result(result)) => return ok(result),
            Ok(Reply::Poll(poll)) => poll,
            Err(failure) => return failure.into_response(),
        }
    };
    // getUpdates long polling (#getupdates): answer as soon as there are
    // updates, or with an empty list when `timeout` seconds have passed.
    loop {
        let pushed = shared.pushed.notified();
        let mut pushed = std::pin::pin!(pushed);
        pushed.as_mut().enable();
        let updates: Vec<Value> = {
            let state = shared.state.lock().unwrap();
            state.updates.iter().filter(|u| update_id(u) >= poll.offset).take(poll.limit).cloned().collect()
        };
        if !updates.is_empty() || Instant::now() >= poll.deadline {
            return ok(Value::Array(updates));
        }
        let _ = tokio::time::timeout_at(poll.deadline, pushed).await;
    }
}

enum Reply {
    Result(Value),
    /// getUpdates, which may have to wait for updates.
    Poll(Poll),
}

struct Poll {
    offset: i64,
    limit: usize,
    deadline: Instant,
}

/// Answers a call from an authorized client; errors are the error replies.
fn answer(state: &mut Telegram, mut call: TelegramCall) -> Result<Reply, Failure> {
    let param = |name: &str| call.params.get(name).and_then(string);
    let result = match call.method.as_str() {
        "getMe" => bot_user(),
        "setWebhook" => {
            let url = param("url").ok_or_else(|| error(400, "Bad Request: parameter \"url\" is required"))?;
            if url.is_empty() {
                // #setwebhook: "Use an empty string to remove webhook integration".
                state.webhook = None;
                return Ok(Reply::Result(json!(true)));
            }
            // Real Telegram insists on HTTPS; plain http is let through so
            // tests can register the server they run on 127.0.0.1.
            if !url.starts_with("https://") && !url.starts_with("http://") {
                return Err(error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"));
            }
            let secret = param("secret_token").filter(|s| !s.is_empty());
            let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
            if secret.as_ref().is_some_and(|s| s.len() > 256 || !s.chars().all(allowed)) {
                return Err(error(400, "Bad Request: secret token contains unallowed characters"));
            }
            state.webhook = Some((url, secret));
            json!(true)
        }
        "deleteWebhook" => {
            state.webhook = None;
            json!(true)
        }
        "getWebhookInfo" => {
            let url = state.webhook.as_ref().map_or("", |(url, _)| url.as_str());
            json!({"url": url, "has_custom_certificate": false, "pending_update_count": 0})
        }
        "getUpdates" => {
            if state.webhook.is_some() {
                let conflict = "Conflict: can't use getUpdates method while webhook is active; \
                                use deleteWebhook to delete the webhook first";
                return Err(error(409, conflict));
            }
            let offset = call.params.get("offset").and_then(int).unwrap_or(0);
            let limit = call.params.get("limit").and_then(int).unwrap_or(100).clamp(1, 100) as usize;
            let timeout = call.params.get("timeout").and_then(int).unwrap_or(0).max(0) as u64;
            // "An update is considered confirmed as soon as getUpdates is
            // called with an offset higher than its update_id"; a negative
            // offset keeps the last -offset updates and forgets the rest.
            if offset > 0 {
                state.updates.retain(|u| update_id(u) >= offset);
            } else if offset < 0 {
                let forget = state.updates.len().saturating_sub(offset.unsigned_abs() as usize);
                state.updates.drain(..forget);
            }
            return Ok(Reply::Poll(Poll { offset, limit, deadline: Instant::now() + Duration::from_secs(timeout) }));
        }
        "sendMessage" | "sendDocument" => {
            if let Some(retry_after) = state.rate_limits.pop_front() {
                let description = format!("Too Many Requests: retry after {retry_after}");
                let body = json!({"ok": false, "error_code": 429, "description": description,
                                  "parameters": {"retry_after": retry_after}});
                return Err((StatusCode::TOO_MANY_REQUESTS, axum::Json(body)));
            }
            let chat_id = match (call.chat_id, param("chat_id")) {
                (Some(id), _) => id,
                (None, Some(_)) => return Err(error(400, "Bad Request: chat not found")),
                (None, None) => return Err(error(400, "Bad Request: chat_id is empty")),
            };
            let message_id = state.last_message_id + 1;
            let chat = json!({"id": chat_id, "type": "private"});
            let mut message = json!({"message_id": message_id, "from": bot_user(), "date": unix_now(), "chat": chat});
            if call.method == "sendMessage" {
                // "1-4096 characters after entities parsing".
                let text = call.text.clone().unwrap_or_default();
                if text.trim().is_empty() {
                    return Err(error(400, "Bad Request: message text is empty"));
                }
                if text.chars().count() > 4096 {
                    return Err(error(400, "Bad Request: message is too long"));
                }
                message["text"] = json!(text);
            } else {
                if param("caption").is_some_and(|c| c.chars().count() > 1024) {
                    return Err(error(400, "Bad Request: message caption is too long"));
                }
                // A document is an uploaded file part, or the file_id of a
                // file the bot can already reach.
                if call.document.is_none() {
                    let known = param("document").and_then(|id| state.files.get(&id).cloned());
                    let (path, bytes) = known.ok_or_else(|| match param("document") {
                        Some(_) => error(400, "Bad Request: wrong file identifier/HTTP URL specified"),
                        None => error(400, "Bad Request: there is no document in the request"),
                    })?;
                    call.document_name = path.rsplit('/').next().map(str::to_owned);
                    call.document = Some(bytes);
                }
                let name = call.document_name.clone().unwrap_or_default();
                let bytes = call.document.clone().unwrap_or_default();
                let file_id = format!("BQACAgIAAx-document-{message_id}");
                message["document"] = json!({"file_id": file_id, "file_unique_id": format!("AgAD-{message_id}"),
                                             "file_name": name, "file_size": bytes.len()});
                if let Some(caption) = param("caption") {
                    message["caption"] = json!(caption);
                }
                state.files.insert(file_id, (format!("documents/file_{message_id}_{name}"), bytes));
            }
            state.last_message_id = message_id;
            state.sent.push(call);
            message
        }
        "getFile" => {
            let file_id = param("file_id").unwrap_or_default();
            let (path, bytes) = state.files.get(&file_id).ok_or_else(|| error(400, "Bad Request: invalid file_id"))?;
            json!({"file_id": file_id, "file_unique_id": format!("AgAD-{file_id}"), "file_size": bytes.len(),
                   "file_path": path})
        }
        _ => return Err(error(404, "Not Found")),
    };
    Ok(Reply::Result(result))
}

async fn file(State(shared): State<Arc<Shared>>, Path((bot, path)): Path<(String, String)>) -> Response {
    let state = shared.state.lock().unwrap();
    if state.down {
        return StatusCode::BAD_GATEWAY.into_response();
    }
    if bot.strip_prefix("bot") != Some(shared.token.as_str()) {
        return error(401, "Unauthorized").into_response();
    }
    match state.files.values().find(|(file_path, _)| *file_path == path) {
        Some((_, bytes)) => ([(header::CONTENT_TYPE, "application/octet-stream")], bytes.clone()).into_response(),
        None => error(404, "Not Found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "123456:test-token";

    async fn post(tg: &FakeTelegram, token: &str, method: &str, params: Value) -> (u16, Value) {
        let url = format!("{}/bot{token}/{method}", tg.base_url());
        let response = reqwest::Client::new().post(url).json(&params).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    fn failure(code: u16, description: &str) -> (u16, Value) {
        (code, json!({"ok": false, "error_code": code, "description": description}))
    }

    #[tokio::test]
    async fn tokens_methods_rate_limits_and_outages() {
        let tg = FakeTelegram::start(TOKEN).await;
        assert_eq!(post(&tg, "123456:wrong", "getMe", json!({})).await, failure(401, "Unauthorized"));
        assert_eq!(post(&tg, TOKEN, "sendSticker", json!({})).await, failure(404, "Not Found"));
        // Case-insensitive method names; parameters in the query string.
        let me: Value =
            reqwest::get(format!("{}/bot{TOKEN}/GETME?x=1", tg.base_url())).await.unwrap().json().await.unwrap();
        assert_eq!((&me["ok"], &me["result"]["username"]), (&json!(true), &json!("ostrog_test_bot")));
        tg.rate_limit_next(1, 7);
        let limited = post(&tg, TOKEN, "sendMessage", json!({"chat_id": 42, "text": "hi"})).await;
        let description = "Too Many Requests: retry after 7";
        let expected =
            json!({"ok": false, "error_code": 429, "description": description, "parameters": {"retry_after": 7}});
        assert_eq!(limited, (429, expected));
        let url = format!("{}/bot{TOKEN}/sendmessage", tg.base_url());
        let form = reqwest::Client::new().post(url).form(&[("chat_id", "42"), ("text", "hello")]).send().await.unwrap();
        let message: Value = form.json().await.unwrap();
        assert_eq!(message["result"]["message_id"], 1);
        assert_eq!(message["result"]["chat"], json!({"id": 42, "type": "private"}));
        assert_eq!(message["result"]["text"], "hello");
        let empty = post(&tg, TOKEN, "sendMessage", json!({"chat_id": "42", "text": ""})).await;
        assert_eq!(empty, failure(400, "Bad Request: message text is empty"));
        let sent = tg.sent();
        assert_eq!((sent.len(), sent[0].chat_id, sent[0].text.as_deref()), (1, Some(42), Some("hello")));
        let methods: Vec<String> = tg.calls().into_iter().map(|c| c.method).collect();
        assert_eq!(methods, ["getMe", "sendSticker", "getMe", "sendMessage", "sendMessage", "sendMessage"]);
        tg.set_down(true);
        let down = reqwest::get(format!("{}/bot{TOKEN}/getMe", tg.base_url())).await.unwrap();
        assert_eq!(down.status(), 502);
        assert!(down.bytes().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn get_updates_confirms_by_offset_long_polls_and_conflicts_with_a_webhook() {
        let tg = FakeTelegram::start(TOKEN).await;
        for id in [10, 11, 12] {
            tg.push_update(json!({"update_id": id, "message": {"message_id": id, "text": "hi"}}));
        }
        let ids = |(_, body): (u16, Value)| -> Vec<i64> {
            body["result"].as_array().unwrap().iter().map(|u| u["update_id"].as_i64().unwrap()).collect()
        };
        assert_eq!(ids(post(&tg, TOKEN, "getUpdates", json!({})).await), [10, 11, 12]);
        assert_eq!(ids(post(&tg, TOKEN, "getUpdates", json!({"offset": 11, "limit": 1})).await), [11]);
        // 10 was confirmed by offset 11 and is gone.
        assert_eq!(ids(post(&tg, TOKEN, "getUpdates", json!({})).await), [11, 12]);
        let started = Instant::now();
        let (polled, ()) = tokio::join!(post(&tg, TOKEN, "getUpdates", json!({"offset": 13, "timeout": 10})), async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            tg.push_update(json!({"update_id": 13}));
        });
        assert_eq!(ids(polled), [13]);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(ids(post(&tg, TOKEN, "getUpdates", json!({"offset": 14, "timeout": 1})).await), Vec::<i64>::new());
        assert!(started.elapsed() >= Duration::from_secs(1));

        let bad = post(&tg, TOKEN, "setWebhook", json!({"url": "https://x.example/h", "secret_token": "a b"})).await;
        assert_eq!(bad, failure(400, "Bad Request: secret token contains unallowed characters"));
        let set =
            post(&tg, TOKEN, "setWebhook", json!({"url": "http://127.0.0.1:9/h", "secret_token": "s3-c_r"})).await;
        assert_eq!(set, (200, json!({"ok": true, "result": true})));
        assert_eq!(tg.webhook(), Some(("http://127.0.0.1:9/h".to_owned(), Some("s3-c_r".to_owned()))));
        let conflict = "Conflict: can't use getUpdates method while webhook is active; \
                        use deleteWebhook to delete the webhook first";
        assert_eq!(post(&tg, TOKEN, "getUpdates", json!({})).await, failure(409, conflict));
        assert_eq!(post(&tg, TOKEN, "deleteWebhook", json!({})).await.0, 200);
        assert_eq!(tg.webhook(), None);
    }

    #[tokio::test]
    async fn documents_go_up_as_multipart_and_files_come_down() {
        let tg = FakeTelegram::start(TOKEN).await;
        let document = reqwest::multipart::Part::bytes(b"%PDF-1.7".to_vec()).file_name("invoice.pdf");
        let form =
            reqwest::multipart::Form::new().text("chat_id", "42").text("caption", "yours").part("document", document);
        let url = format!("{}/bot{TOKEN}/sendDocument", tg.base_url());
        let reply: Value = reqwest::Client::new().post(url).multipart(form).send().await.unwrap().json().await.unwrap();
        assert_eq!(
            (&reply["result"]["document"]["file_name"], &reply["result"]["caption"]),
            (&json!("invoice.pdf"), &json!("yours"))
        );
        let sent = tg.sent();
        assert_eq!((sent[0].chat_id, sent[0].document_name.as_deref()), (Some(42), Some("invoice.pdf")));
        assert_eq!(sent[0].document.as_deref(), Some(&b"%PDF-1.7"[..]));

        tg.add_file("photo-1", "photos/file_1.jpg", b"jpeg");
        let (status, file) = post(&tg, TOKEN, "getFile", json!({"file_id": "photo-1"})).await;
        assert_eq!(
            (status, &file["result"]["file_path"], &file["result"]["file_size"]),
            (200, &json!("photos/file_1.jpg"), &json!(4))
        );
        let download = reqwest::get(format!("{}/file/bot{TOKEN}/photos/file_1.jpg", tg.base_url())).await.unwrap();
        assert_eq!(download.bytes().await.unwrap().as_ref(), b"jpeg");
        let missing = reqwest::get(format!("{}/file/bot{TOKEN}/photos/nope.jpg", tg.base_url())).await.unwrap();
        assert_eq!(missing.status(), 404);
        assert_eq!(
            post(&tg, TOKEN, "getFile", json!({"file_id": "nope"})).await,
            failure(400, "Bad Request: invalid file_id")
        );
    }
}
