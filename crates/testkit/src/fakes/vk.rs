//! A fake VK API for the VK channel's tests: methods at
//! `{base_url}/method/<name>` as https://dev.vk.com/ru/api/api-requests
//! describes them (GET or POST, parameters in the query string or a form
//! body, `access_token` and `v` required), messages.send as
//! https://dev.vk.com/ru/method/messages.send describes it (`random_id`
//! makes a resend a no-op), errors as https://dev.vk.com/ru/reference/errors
//! (HTTP 200 with an `error` object), plus files at `{base_url}/files/<name>`
//! for the attachment URLs of callback events
//! (https://dev.vk.com/ru/api/callback/getting-started).

use super::{Served, parse_urlencoded};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

pub struct FakeVk {
    shared: Arc<Shared>,
    served: Served,
}

#[derive(Debug, Clone)]
pub struct VkCall {
    pub method: String,
    /// `peer_id`, or the older `user_id`.
    pub peer_id: Option<i64>,
    pub random_id: Option<i64>,
    pub message: Option<String>,
    /// Every parameter but `access_token`.
    pub params: BTreeMap<String, String>,
}

struct Shared {
    token: String,
    state: Mutex<Vk>,
}

#[derive(Default)]
struct Vk {
    calls: Vec<VkCall>,
    sent: Vec<VkCall>,
    /// (peer_id, random_id) → message id, of the sends that succeeded.
    sent_ids: HashMap<(i64, i64), i64>,
    failures: VecDeque<i64>,
    down: bool,
    files: HashMap<String, Vec<u8>>,
    last_message_id: i64,
}

impl FakeVk {
    pub async fn start(access_token: &str) -> FakeVk {
        let shared = Arc::new(Shared { token: access_token.to_owned(), state: Mutex::default() });
        let router = Router::new()
            .route("/method/{name}", get(method).post(method))
            .route("/files/{*name}", get(file))
            .with_state(shared.clone());
        FakeVk { shared, served: Served::start(router).await }
    }

    /// Methods are at {base}/method/<name>.
    pub fn base_url(&self) -> String {
        self.served.base_url.clone()
    }

    /// messages.send calls that succeeded, in order (a resend with the same
    /// peer_id and random_id is not sent again, so not listed again).
    pub fn sent(&self) -> Vec<VkCall> {
        self.state().sent.clone()
    }

    /// Every call received, in order (including failed ones and those
    /// answered 502 while down).
    pub fn calls(&self) -> Vec<VkCall> {
        self.state().calls.clone()
    }

    /// The next `count` calls of messages.send fail with this VK error code (e.g. 6 "Too many requests per
    /// second", 9 "Flood control", 10 "Internal server error", 901 "Can't send messages for users without
    /// permission", 7 "Permission to perform this action is denied").
    pub fn fail_next(&self, count: usize, error_code: i64) {
        self.state().failures.extend(std::iter::repeat_n(error_code, count));
    }

    /// While down, every request answers 502 Bad Gateway with an empty body.
    pub fn set_down(&self, down: bool) {
        self.state().down = down;
    }

    /// Serves bytes at {base}/files/<name>; returns the full URL (for attachment objects in callback events).
    pub fn add_file(&self, name: &str, bytes: &[u8]) -> String {
        self.state().files.insert(name.to_owned(), bytes.to_vec());
        format!("{}/files/{name}", self.served.base_url)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Vk> {
        self.shared.state.lock().unwrap()
    }
}

/// The `error_msg` VK gives for a code (https://dev.vk.com/ru/reference/errors).
fn error_msg(code: i64) -> &'static str {
    match code {
        3 => "Unknown method passed",
        5 => "User authorization failed: invalid access_token",
        6 => "Too many requests per second",
        7 => "Permission to perform this action is denied",
        8 => "Invalid request",
        9 => "Flood control",
        10 => "Internal server error",
        100 => "One of the parameters specified was missing or invalid",
        901 => "Can't send messages for users without permission",
        902 => "Can't send messages to this user due to their privacy settings",
        914 => "Message is too long",
        _ => "Unknown error occurred",
    }
}

async fn method(State(shared): State<Arc<Shared>>, Path(name): Path<String>, req: Request) -> Response {
    let mut params: BTreeMap<String, String> = parse_urlencoded(req.uri().query().unwrap_or("")).into_iter().collect();
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let form = content_type.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded");
    // VK also takes the token as `Authorization: Bearer <token>`.
    let bearer = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let bearer = bearer.and_then(|v| v.strip_prefix("Bearer ")).map(str::to_owned);
    let body = axum::body::to_bytes(req.into_body(), 16 << 20).await.unwrap_or_default();
    if form {
        params.extend(parse_urlencoded(&String::from_utf8_lossy(&body)));
    }
    let token = params.remove("access_token").or(bearer);
    let int = |name: &str| params.get(name).and_then(|v| v.trim().parse::<i64>().ok());
    let call = VkCall {
        method: name,
        peer_id: int("peer_id").or_else(|| int("user_id")),
        random_id: int("random_id"),
        message: params.get("message").cloned(),
        params: params.clone(),
    };
    let mut state = shared.state.lock().unwrap();
    state.calls.push(call.clone());
    if state.down {
        return StatusCode::BAD_GATEWAY.into_response();
    }
    match answer(&mut state, token.as_deref() == Some(shared.token.as_str()), &call) {
        Ok(response) => axum::Json(json!({ "response": response })).into_response(),
        Err((error_code, error_msg)) => {
            // The parameters echoed back, never the token.
            let mut request_params =
                vec![json!({"key": "oauth", "value": "1"}), json!({"key": "method", "value": call.method})];
            request_params.extend(call.params.iter().map(|(key, value)| json!({"key": key, "value": value})));
            let error = json!({"error_code": error_code, "error_msg": error_msg, "request_params": request_params});
            axum::Json(json!({ "error": error })).into_response()
        }
    }
}

fn answer(state: &mut Vk, authorized: bool, call: &VkCall) -> Result<Value, (i64, String)> {
    if !authorized {
        return Err((5, error_msg(5).to_owned()));
    }
    if !call.params.contains_key("v") {
        return Err((8, "Invalid request: v is required".to_owned()));
    }
    match call.method.as_str() {
        "groups.getById" => Ok(
            json!({"groups": [{"id": 1, "name": "Test community", "screen_name": "club1", "type": "group"}], "profiles": []}),
        ),
        "messages.send" => {
            if let Some(code) = state.failures.pop_front() {
                return Err((code, error_msg(code).to_owned()));
            }
            let invalid = |why: &str| (100, format!("{}: {why}", error_msg(100)));
            let peer_id = call.peer_id.ok_or_else(|| invalid("peer_id is a required parameter"))?;
            if !call.params.contains_key("random_id") {
                return Err(invalid("random_id is a required parameter"));
            }
            let random_id = call.random_id.filter(|id| i32::try_from(*id).is_ok());
            let random_id = random_id.ok_or_else(|| invalid("random_id not integer"))?;
            let text = call.message.as_deref().unwrap_or("");
            if text.trim().is_empty() && call.params.get("attachment").is_none_or(|a| a.is_empty()) {
                return Err(invalid("message is empty or invalid"));
            }
            if text.chars().count() > 4096 {
                return Err((914, error_msg(914).to_owned()));
            }
            // A send repeated with the same random_id is not sent again;
            // the reply is the message id of the first.
            if let Some(id) = state.sent_ids.get(&(peer_id, random_id)) {
                return Ok(json!(id));
            }
            state.last_message_id += 1;
            let id = state.last_message_id;
            state.sent_ids.insert((peer_id, random_id), id);
            state.sent.push(call.clone());
            Ok(json!(id))
        }
        _ => Err((3, error_msg(3).to_owned())),
    }
}

async fn file(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let state = shared.state.lock().unwrap();
    if state.down {
        return StatusCode::BAD_GATEWAY.into_response();
    }
    match state.files.get(&name) {
        Some(bytes) => ([(header::CONTENT_TYPE, "application/octet-stream")], bytes.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn call(vk: &FakeVk, method: &str, params: &[(&str, &str)]) -> Value {
        let url = format!("{}/method/{method}", vk.base_url());
        reqwest::Client::new().post(url).form(params).send().await.unwrap().json().await.unwrap()
    }

    #[tokio::test]
    async fn errors_have_the_documented_shape() {
        let vk = FakeVk::start("vk1.a.secret").await;
        let wrong = call(&vk, "groups.getById", &[("access_token", "vk1.a.wrong"), ("v", "5.199")]).await;
        let request_params = json!([{"key": "oauth", "value": "1"}, {"key": "method", "value": "groups.getById"},
                                    {"key": "v", "value": "5.199"}]);
        let error = json!({"error_code": 5, "error_msg": "User authorization failed: invalid access_token",
                           "request_params": request_params});
        assert_eq!(wrong, json!({ "error": error }));
        let unversioned = call(&vk, "groups.getById", &[("access_token", "vk1.a.secret")]).await;
        assert_eq!(unversioned["error"]["error_code"], 8);
        let unknown = call(&vk, "messages.nope", &[("access_token", "vk1.a.secret"), ("v", "5.199")]).await;
        assert_eq!(unknown["error"]["error_code"], 3);
        // The query string works as well as a form body.
        let url = format!("{}/method/groups.getById?access_token=vk1.a.secret&v=5.199", vk.base_url());
        let group: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        assert_eq!(group["response"]["groups"][0]["screen_name"], "club1");
        assert!(vk.calls().iter().all(|c| !c.params.contains_key("access_token")));
    }

    #[tokio::test]
    async fn random_id_makes_a_resend_a_no_op() {
        let vk = FakeVk::start("t").await;
        let send = |random_id: &'static str, text: &'static str| {
            let params = vec![
                ("access_token", "t"),
                ("v", "5.199"),
                ("peer_id", "2000"),
                ("random_id", random_id),
                ("message", text),
            ];
            let vk = &vk;
            async move { call(vk, "messages.send", &params).await }
        };
        assert_eq!(send("77", "hello").await, json!({"response": 1}));
        assert_eq!(send("77", "hello").await, json!({"response": 1}));
        assert_eq!(send("78", "again").await, json!({"response": 2}));
        let sent = vk.sent();
        assert_eq!(
            sent.iter().map(|c| (c.peer_id, c.random_id)).collect::<Vec<_>>(),
            [(Some(2000), Some(77)), (Some(2000), Some(78))]
        );
        assert_eq!(sent[0].message.as_deref(), Some("hello"));
        assert_eq!(vk.calls().len(), 3);

        let no_random_id =
            call(&vk, "messages.send", &[("access_token", "t"), ("v", "5.199"), ("peer_id", "1"), ("message", "x")])
                .await;
        assert_eq!(no_random_id["error"]["error_code"], 100);
        let why = "One of the parameters specified was missing or invalid: random_id is a required parameter";
        assert_eq!(no_random_id["error"]["error_msg"], why);
    }

    #[tokio::test]
    async fn injected_failures_outages_and_files() {
        let vk = FakeVk::start("t").await;
        let params = [("access_token", "t"), ("v", "5.199"), ("user_id", "5"), ("random_id", "1"), ("message", "hi")];
        vk.fail_next(1, 9);
        assert_eq!(call(&vk, "messages.send", &params).await["error"]["error_msg"], "Flood control");
        assert_eq!(call(&vk, "messages.send", &params).await, json!({"response": 1}));
        assert_eq!((vk.sent().len(), vk.sent()[0].peer_id), (1, Some(5)));
        vk.set_down(true);
        let down = reqwest::get(format!("{}/method/groups.getById", vk.base_url())).await.unwrap();
        assert_eq!(down.status(), 502);
        assert!(down.bytes().await.unwrap().is_empty());
        vk.set_down(false);
        let url = vk.add_file("photo.jpg", b"jpeg");
        assert_eq!(url, format!("{}/files/photo.jpg", vk.base_url()));
        assert_eq!(reqwest::get(url).await.unwrap().bytes().await.unwrap().as_ref(), b"jpeg");
    }
}
