//! Messenger channels against local servers that speak the documented
//! Telegram Bot API, VK API and the webhook channel's own protocol
//! (`ostrog_testkit::fakes`): messages in, replies out through a durable
//! outbox, refusals of anything not signed by the channel, files scanned,
//! and tokens that never come back out.

use ostrog_domain::clock::Clock;
use ostrog_domain::role::Role;
use ostrog_testkit::clamd::{Clamd, eicar};
use ostrog_testkit::fakes::telegram::FakeTelegram;
use ostrog_testkit::fakes::vk::FakeVk;
use ostrog_testkit::fakes::webhook::{FakeWebhookTarget, sign};
use ostrog_testkit::ws::Ws;
use ostrog_testkit::{Backend, TestServer, both_backends};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

const BOT_TOKEN: &str = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ";
const VK_TOKEN: &str = "vk1.a.community-token-of-the-test";
const VK_SECRET: &str = "callback-secret-key";

/// Connects a channel as the Administrator; the answer.
async fn connect(s: &TestServer, admin: &str, body: Value) -> Value {
    let r = s.as_(admin, Method::POST, "/api/v1/channels").json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

async fn telegram_channel(s: &TestServer, admin: &str, fake: &FakeTelegram) -> Value {
    connect(
        s,
        admin,
        json!({"kind": "telegram", "name": "Shop bot", "settings": {"api_base": fake.base_url()},
            "secrets": {"bot_token": BOT_TOKEN}}),
    )
    .await
}

async fn vk_channel(s: &TestServer, admin: &str, fake: &FakeVk) -> Value {
    connect(
        s,
        admin,
        json!({"kind": "vk", "name": "Shop community", "settings": {"api_base": fake.base_url(), "group_id": 5},
            "secrets": {"access_token": VK_TOKEN, "secret": VK_SECRET, "confirmation": "c0nf1rm"}}),
    )
    .await
}

fn text_update(update_id: i64, chat: i64, text: &str) -> Value {
    json!({"update_id": update_id, "message": {"message_id": update_id, "date": 1,
        "chat": {"id": chat, "type": "private"}, "from": {"id": chat, "is_bot": false, "first_name": "Anna"},
        "text": text}})
}

async fn post_update(s: &TestServer, channel: &Value, secret: Option<&str>, update: &Value) -> StatusCode {
    let path = format!("/api/v1/hooks/telegram/{}", channel["id"].as_str().unwrap());
    let mut r = s.request(Method::POST, &path).json(update);
    if let Some(secret) = secret {
        r = r.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    r.send().await.unwrap().status()
}

fn vk_message(event_id: &str, from: i64, text: &str, attachments: Value) -> Value {
    json!({"type": "message_new", "group_id": 5, "event_id": event_id, "v": "5.199", "secret": VK_SECRET,
        "object": {"message": {"id": 1, "date": 1, "peer_id": from, "from_id": from, "text": text,
            "attachments": attachments}}})
}

async fn post_vk(s: &TestServer, channel: &Value, event: &Value) -> (StatusCode, String) {
    let path = format!("/api/v1/hooks/vk/{}", channel["id"].as_str().unwrap());
    let r = s.request(Method::POST, &path).json(event).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// An online operator's socket and session.
async fn online_operator(s: &TestServer) -> (Ws, String) {
    let op = s.employee(Role::Operator, &[]).await;
    let token = s.session(&op).await;
    let mut ws = s.operator_ws(&token).await;
    ws.send(json!({"type": "presence", "status": "online"})).await;
    (ws, token)
}

async fn reply(op: &mut Ws, conversation: &str, text: &str) {
    op.send(json!({"type": "send", "conversation_id": conversation, "client_id": uuid::Uuid::new_v4(), "text": text}))
        .await;
    op.expect("ack").await;
}

/// Waits for `done` to hold, checking every 50 ms, for at most 10 s.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn deliveries(s: &TestServer, token: &str, conversation: &str) -> Vec<Value> {
    let v = s.get_json(token, &format!("/api/v1/conversations/{conversation}/deliveries")).await;
    v.as_array().cloned().unwrap_or_default()
}

both_backends!(a_telegram_user_chats_with_the_assigned_operator, |s| {
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let admin = s.session(&s.administrator().await).await;
    let channel = telegram_channel(s, &admin, &fake).await;
    let (url, secret) = fake.webhook().expect("the webhook is registered");
    assert_eq!(url, format!("{}/api/v1/hooks/telegram/{}", s.url, channel["id"].as_str().unwrap()));
    let secret = secret.expect("with a secret_token");
    let (mut op, op_token) = online_operator(s).await;

    assert_eq!(post_update(s, &channel, Some(&secret), &text_update(1, 4242, "Где мой заказ?")).await, 200);
    let got = op.receive("Где мой заказ?").await;
    assert_eq!(got["author"]["kind"], "visitor");
    let conversation = got["conversation_id"].as_str().unwrap().to_string();
    let c = s.get_json(&op_token, &format!("/api/v1/conversations/{conversation}")).await;
    assert_eq!((c["channel"].as_str(), c["state"].as_str()), (Some("telegram"), Some("assigned")));

    reply(&mut op, &conversation, "Уже в пути").await;
    eventually("sendMessage reaches Telegram", || !fake.sent().is_empty()).await;
    let sent = fake.sent();
    assert_eq!(
        (sent[0].method.as_str(), sent[0].chat_id, sent[0].text.as_deref()),
        ("sendMessage", Some(4242), Some("Уже в пути"))
    );
    let delivery = op.expect("delivery").await;
    assert_eq!(delivery["status"], "sent");
    let d = deliveries(s, &op_token, &conversation).await;
    assert_eq!((d.len(), d[0]["status"].as_str(), d[0]["attempts"].as_u64()), (1, Some("sent"), Some(1)));

    // The same contact again: the same conversation.
    post_update(s, &channel, Some(&secret), &text_update(2, 4242, "Спасибо")).await;
    assert_eq!(op.receive("Спасибо").await["conversation_id"].as_str(), Some(conversation.as_str()));
});

both_backends!(hooks_refuse_calls_without_the_secret_and_store_repeats_once, |s| {
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let admin = s.session(&s.administrator().await).await;
    let channel = telegram_channel(s, &admin, &fake).await;
    let secret = fake.webhook().unwrap().1.unwrap();
    let update = text_update(10, 77, "hello");
    assert_eq!(post_update(s, &channel, None, &update).await, 401);
    assert_eq!(post_update(s, &channel, Some("not-the-secret"), &update).await, 401);
    let listed = s.get_json(&admin, "/api/v1/conversations").await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0), "a refused update has no effect: {listed}");
    let audit = s.get_json(&admin, "/api/v1/audit?action=channel.webhook_refused").await;
    assert!(audit.to_string().contains("bad_secret"), "{audit}");

    for _ in 0..3 {
        assert_eq!(post_update(s, &channel, Some(&secret), &update).await, 200);
    }
    let listed = s.get_json(&admin, "/api/v1/conversations").await;
    let id = listed["items"][0]["id"].as_str().unwrap().to_string();
    let history = s.get_json(&admin, &format!("/api/v1/conversations/{id}/messages")).await;
    let texts = history.to_string().matches("\"hello\"").count();
    assert_eq!(texts, 1, "a repeated update_id stores nothing twice: {history}");

    // A disconnected channel's hook is gone.
    let gone = s.as_(&admin, Method::DELETE, &format!("/api/v1/channels/{}", channel["id"].as_str().unwrap()));
    assert_eq!(gone.send().await.unwrap().status(), 204);
    assert_eq!(fake.webhook(), None, "the webhook is removed");
    assert_eq!(post_update(s, &channel, Some(&secret), &text_update(11, 77, "x")).await, 404);
});

both_backends!(a_telegram_user_a_vk_user_and_a_visitor_share_one_queue, |s| {
    let (telegram, vk) = (FakeTelegram::start(BOT_TOKEN).await, FakeVk::start(VK_TOKEN).await);
    let admin = s.session(&s.administrator().await).await;
    let (tg, vkc) = (telegram_channel(s, &admin, &telegram).await, vk_channel(s, &admin, &vk).await);
    let (widget, _) = s.widget(&admin).await;
    let (mut op, op_token) = online_operator(s).await;

    let secret = telegram.webhook().unwrap().1.unwrap();
    post_update(s, &tg, Some(&secret), &text_update(1, 1001, "from Telegram")).await;
    assert_eq!(post_vk(s, &vkc, &vk_message("ev1", 2002, "from VK", json!([]))).await, (StatusCode::OK, "ok".into()));
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    visitor.say("from the website").await;

    let mut conversations = std::collections::BTreeMap::new();
    for text in ["from Telegram", "from VK", "from the website"] {
        let m = op.receive(text).await;
        let id = m["conversation_id"].as_str().unwrap().to_string();
        let c = s.get_json(&op_token, &format!("/api/v1/conversations/{id}")).await;
        conversations.insert(c["channel"].as_str().unwrap().to_string(), id);
    }
    assert_eq!(conversations.keys().collect::<Vec<_>>(), ["telegram", "vk", "widget"]);
    reply(&mut op, &conversations["telegram"], "to Telegram").await;
    reply(&mut op, &conversations["vk"], "to VK").await;
    reply(&mut op, &conversations["widget"], "to the website").await;
    assert_eq!(visitor.receive("to the website").await["text"], "to the website");
    eventually("both messengers got their reply", || !telegram.sent().is_empty() && !vk.sent().is_empty()).await;
    assert_eq!(telegram.sent()[0].text.as_deref(), Some("to Telegram"));
    let v = &vk.sent()[0];
    assert_eq!((v.peer_id, v.message.as_deref()), (Some(2002), Some("to VK")));
    assert!(deliveries(s, &op_token, &conversations["widget"]).await.is_empty(), "the widget needs no outbox");
});

both_backends!(vk_confirms_checks_its_secret_and_keeps_random_id_across_retries, |s| {
    let fake = FakeVk::start(VK_TOKEN).await;
    let admin = s.session(&s.administrator().await).await;
    let channel = vk_channel(s, &admin, &fake).await;
    let confirmation = json!({"type": "confirmation", "group_id": 5, "secret": VK_SECRET});
    assert_eq!(post_vk(s, &channel, &confirmation).await, (StatusCode::OK, "c0nf1rm".into()));
    let mut forged = vk_message("ev0", 3003, "forged", json!([]));
    forged["secret"] = json!("wrong");
    assert_eq!(post_vk(s, &channel, &forged).await.0, 401);

    let (mut op, op_token) = online_operator(s).await;
    post_vk(s, &channel, &vk_message("ev1", 3003, "привет", json!([]))).await;
    let conversation = op.receive("привет").await["conversation_id"].as_str().unwrap().to_string();
    // VK's own failure first (10: internal server error), then success.
    fake.fail_next(1, 10);
    reply(&mut op, &conversation, "ответ").await;
    eventually("the first attempt fails", || fake.calls().iter().any(|c| c.method == "messages.send")).await;
    let d = deliveries(s, &op_token, &conversation).await;
    assert_eq!(d[0]["status"], "pending");
    assert!(d[0]["error"].as_str().unwrap().starts_with("VK error 10"), "{d:?}");
    s.clock.advance(3_000);
    eventually("the retry is sent", || !fake.sent().is_empty()).await;
    let attempts: Vec<_> = fake.calls().into_iter().filter(|c| c.method == "messages.send").collect();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].random_id, attempts[1].random_id, "the same random_id on every attempt");
    assert!(attempts[0].random_id.is_some());

    // A refusal for good (901: the user does not allow messages) is shown, not retried.
    fake.fail_next(1, 901);
    reply(&mut op, &conversation, "ещё").await;
    let mut failed = op.expect("delivery").await;
    while failed["status"] != "failed" {
        failed = op.expect("delivery").await;
    }
    assert!(failed["error"].as_str().unwrap().contains("901"), "{failed}");
    let dead = s.get_json(&admin, &format!("/api/v1/channels/{}/dead-letters", channel["id"].as_str().unwrap())).await;
    assert_eq!(dead.as_array().map(Vec::len), Some(1), "{dead}");
});

both_backends!(the_webhook_channel_checks_signatures_and_retries_with_back_off, |s| {
    let admin = s.session(&s.administrator().await).await;
    let connected =
        connect(s, &admin, json!({"kind": "webhook", "name": "Our app", "settings": {"url": "http://127.0.0.1:1/"}}))
            .await;
    let key = hex::decode(connected["signing_secret"].as_str().expect("shown once")).unwrap();
    let target = FakeWebhookTarget::start(&key).await;
    let id = connected["id"].as_str().unwrap().to_string();
    let changed = s
        .as_(&admin, Method::PUT, &format!("/api/v1/channels/{id}"))
        .json(&json!({"name": "Our app", "settings": {"url": target.url()}}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let listed = s.get_json(&admin, "/api/v1/channels").await;
    assert!(listed[0].get("signing_secret").is_none(), "shown once only: {listed}");

    let path = format!("/api/v1/hooks/webhook/{id}");
    let send = |body: Value, at_seconds: i64, key: Vec<u8>| {
        let raw = serde_json::to_vec(&body).unwrap();
        let signature = sign(&key, at_seconds, &raw);
        s.request(Method::POST, &path)
            .header("X-Ostrog-Timestamp", at_seconds.to_string())
            .header("X-Ostrog-Signature", signature)
            .header("content-type", "application/json")
            .body(raw)
    };
    let now = s.clock.now() / 1000;
    let event = json!({"event_id": "e-1", "contact": {"id": "user-7"}, "text": "from our app"});
    let bad = send(event.clone(), now, b"another key".to_vec()).send().await.unwrap();
    assert_eq!(bad.status(), 401);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"]["code"], "bad_signature");
    let stale = send(event.clone(), now - 301, key.clone()).send().await.unwrap();
    assert_eq!(stale.status(), 401);
    assert_eq!(stale.json::<Value>().await.unwrap()["error"]["code"], "stale_timestamp");

    let (mut op, _) = online_operator(s).await;
    let ok: Value = send(event.clone(), now, key.clone()).send().await.unwrap().json().await.unwrap();
    let again: Value = send(event, now, key.clone()).send().await.unwrap().json().await.unwrap();
    assert_eq!(ok, again, "a repeated event_id is the same message");
    let conversation = op.receive("from our app").await["conversation_id"].as_str().unwrap().to_string();

    target.respond_with(&[500, 500]);
    reply(&mut op, &conversation, "from the operator").await;
    eventually("the first attempt", || target.received().len() == 1).await;
    s.clock.advance(2_000);
    eventually("the second attempt, after 2 s", || target.received().len() == 2).await;
    s.clock.advance(3_000);
    assert_eq!(target.received().len(), 2, "the third waits 4 s, not 2");
    s.clock.advance(1_000);
    eventually("delivered once it answers 200", || target.delivered().len() == 1).await;
    let got = &target.delivered()[0];
    assert!(got.signature_valid);
    assert_eq!(
        (got.body["contact_id"].as_str(), got.body["text"].as_str()),
        (Some("user-7"), Some("from the operator"))
    );
});

/// The messenger down for a while, and Ostrog restarted meanwhile: every
/// reply waits in the outbox and goes out once, in order, when it is back.
async fn replies_wait_out_an_outage_and_a_restart(backend: Backend) {
    let s = TestServer::start(backend).await;
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let admin = s.session(&s.administrator().await).await;
    let channel = telegram_channel(&s, &admin, &fake).await;
    let secret = fake.webhook().unwrap().1.unwrap();
    let (mut op, op_token) = online_operator(&s).await;
    post_update(&s, &channel, Some(&secret), &text_update(1, 555, "are you there?")).await;
    let conversation = op.receive("are you there?").await["conversation_id"].as_str().unwrap().to_string();

    fake.set_down(true);
    for n in 1..=3 {
        reply(&mut op, &conversation, &format!("reply {n}")).await;
    }
    eventually("the first attempt fails", || !fake.calls().is_empty()).await;
    let waiting = deliveries(&s, &op_token, &conversation).await;
    assert_eq!(waiting.iter().filter(|d| d["status"] == "pending").count(), 3, "{waiting:?}");
    drop(op);

    let s = s.restart().await;
    fake.set_down(false);
    s.clock.advance(10_000);
    eventually("all three delivered", || fake.sent().len() == 3).await;
    let texts: Vec<_> = fake.sent().iter().map(|c| c.text.clone().unwrap_or_default()).collect();
    assert_eq!(texts, ["reply 1", "reply 2", "reply 3"], "in order, once each");
    s.stop().await;
}

mod replies_wait_out_an_outage_and_a_restart {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        replies_wait_out_an_outage_and_a_restart(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        replies_wait_out_an_outage_and_a_restart(Backend::Postgres).await;
    }
}

/// Files from Telegram and VK go through clamd like any upload: malware
/// never reaches the operator and is audited; a clean file does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malware_sent_through_messengers_never_reaches_the_operator() {
    let clamd = Clamd::start();
    let socket = clamd.socket.clone();
    let s = TestServer::start_with(Backend::Sqlite, move |c| {
        c.scanner.socket = socket;
        c.scanner.scan_timeout_seconds = 5;
    })
    .await;
    let (telegram, vk) = (FakeTelegram::start(BOT_TOKEN).await, FakeVk::start(VK_TOKEN).await);
    let admin = s.session(&s.administrator().await).await;
    let (tg, vkc) = (telegram_channel(&s, &admin, &telegram).await, vk_channel(&s, &admin, &vk).await);
    let secret = telegram.webhook().unwrap().1.unwrap();
    let (mut op, _) = online_operator(&s).await;

    telegram.add_file("EICAR1", "documents/file_1.com", &eicar());
    telegram.add_file("CLEAN1", "documents/file_2.pdf", b"%PDF-1.4 a clean statement");
    let mut doc = text_update(1, 901, "my statement");
    doc["message"]["document"] = json!({"file_id": "EICAR1", "file_unique_id": "u1", "file_name": "statement.com"});
    assert_eq!(post_update(&s, &tg, Some(&secret), &doc).await, 200);
    let url = vk.add_file("invoice.com", &eicar());
    let attachment = json!([{"type": "doc", "doc": {"title": "invoice", "ext": "com", "url": url}}]);
    assert_eq!(post_vk(&s, &vkc, &vk_message("ev9", 902, "my invoice", attachment)).await.0, 200);
    let mut clean = text_update(2, 901, "and a clean one");
    clean["message"]["document"] = json!({"file_id": "CLEAN1", "file_unique_id": "u2", "file_name": "statement.pdf"});
    post_update(&s, &tg, Some(&secret), &clean).await;

    // Texts arrive; of the files, only the clean one.
    op.receive("my statement").await;
    op.receive("my invoice").await;
    op.receive("and a clean one").await;
    let mut files = vec![];
    while let Some(frame) = op.try_expect("message", Duration::from_secs(2)).await {
        if frame["message"]["kind"] == "file" {
            files.push(frame["message"]["file"]["name"].as_str().unwrap_or_default().to_string());
        }
    }
    assert_eq!(files, ["statement.pdf"], "malware is never shown");
    let audit = s.get_json(&admin, "/api/v1/audit?action=file.infected").await;
    assert_eq!(audit.as_array().map(Vec::len), Some(2), "both are audited: {audit}");
    s.stop().await;
}

/// Tokens and secrets go in and never come out: not in an answer of the API
/// (the webhook channel's signing secret only in the answer that makes it),
/// not in a log line at debug level, not in the database in the clear —
/// through connecting, refusals, rate limits, outages and failed downloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_channel_secret_in_any_answer_log_line_or_the_database() {
    crate::log_capture::start();
    let s = TestServer::start(Backend::Sqlite).await;
    let (telegram, vk) = (FakeTelegram::start(BOT_TOKEN).await, FakeVk::start(VK_TOKEN).await);
    let admin = s.session(&s.administrator().await).await;
    let mut answers = String::new();
    let tg = telegram_channel(&s, &admin, &telegram).await;
    answers += &tg.to_string();
    // The same bot polled too (which takes its webhook down at Telegram).
    let webhook_secret = telegram.webhook().unwrap().1.unwrap();
    let polling = connect(
        &s,
        &admin,
        json!({"kind": "telegram", "name": "Polled", "settings":
        {"api_base": telegram.base_url(), "mode": "polling"}, "secrets": {"bot_token": BOT_TOKEN}}),
    )
    .await;
    answers += &polling.to_string();
    let vkc = vk_channel(&s, &admin, &vk).await;
    answers += &vkc.to_string();
    let hook =
        connect(&s, &admin, json!({"kind": "webhook", "name": "App", "settings": {"url": "http://127.0.0.1:9/"}}))
            .await;
    let signing = hook["signing_secret"].as_str().unwrap().to_string();
    let wrong = FakeTelegram::start("999:ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ").await;
    let refused = s.as_(&admin, Method::POST, "/api/v1/channels")
        .json(&json!({"kind": "telegram", "name": "x", "settings": {"api_base": wrong.base_url()}, "secrets": {"bot_token": BOT_TOKEN}}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    answers += &refused.text().await.unwrap();

    // Refused calls, a file that cannot be fetched, and replies that fail.
    let (mut op, op_token) = online_operator(&s).await;
    post_update(&s, &tg, Some("wrong"), &text_update(1, 10, "x")).await;
    let mut forged = vk_message("e0", 11, "x", json!([]));
    forged["secret"] = json!("wrong");
    post_vk(&s, &vkc, &forged).await;
    let mut doc = text_update(2, 10, "a file");
    doc["message"]["document"] = json!({"file_id": "missing", "file_name": "a.pdf"});
    post_update(&s, &tg, Some(&webhook_secret), &doc).await;
    post_vk(&s, &vkc, &vk_message("e1", 11, "hi", json!([]))).await;
    telegram.push_update(text_update(3, 12, "polled"));
    let mut conversations = vec![];
    for text in ["a file", "hi", "polled"] {
        conversations.push(op.receive(text).await["conversation_id"].as_str().unwrap().to_string());
    }
    telegram.rate_limit_next(1, 1);
    vk.fail_next(1, 5);
    for c in &conversations {
        reply(&mut op, c, "answer").await;
    }
    eventually("the rate-limited reply goes out after retry_after", || {
        s.clock.advance(1_000);
        telegram.sent().len() == 2
    })
    .await;
    for c in &conversations {
        answers += &deliveries(&s, &op_token, c).await.iter().map(Value::to_string).collect::<String>();
    }
    for path in ["/api/v1/channels", "/api/v1/audit?limit=500", "/api/v1/audit/export"] {
        answers += &s.as_(&admin, Method::GET, path).send().await.unwrap().text().await.unwrap();
    }
    for c in [&tg, &vkc, &hook] {
        let path = format!("/api/v1/channels/{}/dead-letters", c["id"].as_str().unwrap());
        answers += &s.as_(&admin, Method::GET, &path).send().await.unwrap().text().await.unwrap();
    }
    assert!(answers.contains("VK error 5"), "the refused reply is among the answers checked");

    let dump = s.dump().await;
    let logs = crate::log_capture::text();
    assert!(logs.contains("getUpdates") || logs.contains("not delivered"), "the logs were captured");
    for secret in [BOT_TOKEN, VK_TOKEN, VK_SECRET, "c0nf1rm", webhook_secret.as_str(), signing.as_str()] {
        assert!(!answers.contains(secret), "{secret} is in an answer");
        assert!(!logs.contains(secret), "{secret} is in the logs");
        ostrog_testkit::assert_not_in_dump(&dump, secret);
    }
    s.stop().await;
}

both_backends!(channel_changes_need_fresh_proof_and_rotating_retires_the_old_secret, |s| {
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let administrator = s.administrator().await;
    let admin = s.session(&administrator).await;
    let channel = telegram_channel(s, &admin, &fake).await;
    let id = channel["id"].as_str().unwrap().to_string();
    let old = fake.webhook().unwrap().1.unwrap();

    // Long after signing in, no change goes through without fresh proof.
    s.clock.advance(6 * 60 * ostrog_domain::clock::SECOND);
    let path = format!("/api/v1/channels/{id}");
    let attempts = [
        (
            Method::POST,
            "/api/v1/channels".to_string(),
            json!({"kind": "webhook", "name": "x", "settings": {"url": "https://a.example/"}}),
        ),
        (Method::PUT, path.clone(), json!({"name": "x", "settings": {"api_base": "https://evil.example"}})),
        (Method::PUT, format!("{path}/secrets"), json!({"secrets": {"bot_token": BOT_TOKEN}})),
        (Method::DELETE, path.clone(), json!({})),
    ];
    for (method, path, body) in attempts {
        let r = s.as_(&admin, method.clone(), &path).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 403, "{method} {path}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "reauthentication_required");
    }
    assert_eq!(s.get_json(&admin, "/api/v1/channels").await[0]["settings"]["api_base"], fake.base_url());

    // Fresh proof: new secrets; Telegram gets a new secret_token, the old one stops working.
    let fresh = s.session(&administrator).await;
    let r = s.as_(&fresh, Method::PUT, &format!("{path}/secrets")).json(&json!({"secrets": {"bot_token": BOT_TOKEN}}));
    assert_eq!(r.send().await.unwrap().status(), 200);
    let new = fake.webhook().unwrap().1.unwrap();
    assert_ne!(new, old);
    assert_eq!(post_update(s, &channel, Some(&old), &text_update(1, 7, "old")).await, 401);
    assert_eq!(post_update(s, &channel, Some(&new), &text_update(2, 7, "new")).await, 200);
    let audit = s.get_json(&fresh, "/api/v1/audit?limit=500").await.to_string();
    for action in ["channel.connected", "channel.secrets_rotated", "channel.webhook_refused"] {
        assert!(audit.contains(action), "{action} is audited");
    }
});

both_backends!(a_channel_contact_is_exported_and_erased_like_a_visitor, |s| {
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let admin = s.session(&s.administrator().await).await;
    let channel = telegram_channel(s, &admin, &fake).await;
    let secret = fake.webhook().unwrap().1.unwrap();
    post_update(s, &channel, Some(&secret), &text_update(1, 777001, "Меня зовут Анна")).await;
    let listed = s.get_json(&admin, "/api/v1/conversations").await;
    let (conversation, visitor) = (
        listed["items"][0]["id"].as_str().unwrap().to_string(),
        listed["items"][0]["visitor_id"].as_str().unwrap().to_string(),
    );

    let export = s.as_(&admin, Method::GET, &format!("/api/v1/visitors/{visitor}/export")).send().await.unwrap();
    assert_eq!(export.status(), 200);
    let tar = String::from_utf8_lossy(&export.bytes().await.unwrap()).into_owned();
    assert!(
        tar.contains("777001") && tar.contains("Меня зовут Анна"),
        "the messenger id and the messages are exported"
    );
    assert!(tar.contains(channel["id"].as_str().unwrap()), "with the channel they came through");

    let erase = s
        .as_(&admin, Method::POST, &format!("/api/v1/visitors/{visitor}/erase"))
        .json(&json!({"basis": "subject_request", "note": "request 12"}));
    assert_eq!(erase.send().await.unwrap().status(), 200);
    let gone = s.as_(&admin, Method::GET, &format!("/api/v1/conversations/{conversation}")).send().await.unwrap();
    assert_eq!(gone.status(), 404);
    ostrog_testkit::assert_not_in_dump(&s.dump().await, "Меня зовут Анна");
    // Writing again, the same person is a new contact with nothing of the old.
    post_update(s, &channel, Some(&secret), &text_update(2, 777001, "снова я")).await;
    let listed = s.get_json(&admin, "/api/v1/conversations").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_ne!(listed["items"][0]["visitor_id"].as_str(), Some(visitor.as_str()));
});

/// By default a channel cannot be pointed into the company's own network
/// (SSRF): an address on this host or a private network is refused, by
/// number or by a name that resolves there, before any call is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_may_not_call_the_private_network_unless_allowed() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.channels.allow_private_addresses = false).await;
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let admin = s.session(&s.administrator().await).await;
    let by_name = fake.base_url().replace("127.0.0.1", "localhost");
    for api_base in [fake.base_url(), by_name, "http://169.254.169.254".to_string(), "http://10.0.0.1:8080".into()] {
        let body = json!({"kind": "telegram", "name": "Bot", "settings": {"api_base": api_base},
            "secrets": {"bot_token": BOT_TOKEN}});
        let r = s.as_(&admin, Method::POST, "/api/v1/channels").json(&body).send().await.unwrap();
        assert_eq!(r.status(), 422, "{api_base}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "channel_refused", "{api_base}");
    }
    assert!(fake.calls().is_empty(), "nothing reached the private address");
    s.stop().await;
}
