//! Conversations end to end over real WebSockets: a visitor and an operator
//! chat, resends store nothing twice, a reconnect replays exactly what was
//! missed, routing and transfer, closing and rating, and the row-level wall
//! around an operator who holds only `conversations.own`.

use ostrog_domain::permission::Permission;
use ostrog_domain::role::Role;
use ostrog_testkit::ws::Ended;
use ostrog_testkit::{TestServer, both_backends, grant};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// An online operator's socket and session token.
async fn online_operator(
    s: &TestServer,
    role: Role,
    extra: &[(Permission, ostrog_domain::access::Effect)],
) -> (ostrog_testkit::ws::Ws, String, String) {
    let op = s.employee(role, extra).await;
    let token = s.session(&op).await;
    let mut ws = s.operator_ws(&token).await;
    ws.send(json!({"type": "presence", "status": "online"})).await;
    (ws, token, op.id().to_string())
}

both_backends!(a_visitor_and_an_operator_chat, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let (mut op, op_token, op_id) = online_operator(s, Role::Operator, &[]).await;
    let (mut visitor, welcome) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    assert_eq!(welcome["conversation"], Value::Null);
    assert_eq!(welcome["widget"]["greeting"], "Hi!");

    let ack = visitor.say("Здравствуйте! Где мой заказ?").await;
    let conversation = ack["conversation_id"].as_str().unwrap().to_string();
    let got = op.receive("Здравствуйте! Где мой заказ?").await;
    assert_eq!(got["seq"], ack["seq"]);
    assert_eq!(got["author"]["kind"], "visitor");

    // Routing gave it to the only online operator.
    let c: Value = s.get_json(&op_token, &format!("/api/v1/conversations/{conversation}")).await;
    assert_eq!((c["state"].as_str(), c["operator_id"].as_str()), (Some("assigned"), Some(op_id.as_str())));

    let reply_id = uuid::Uuid::new_v4();
    op.send(json!({"type": "send", "conversation_id": conversation, "client_id": reply_id, "text": "Уже в пути"}))
        .await;
    let op_ack = op.expect("ack").await;
    assert_eq!(op_ack["client_id"], json!(reply_id));
    let seen = visitor.expect("message").await;
    assert_eq!(
        (seen["message"]["text"].as_str(), seen["message"]["seq"].clone()),
        (Some("Уже в пути"), op_ack["seq"].clone())
    );

    // An internal note reaches employees only.
    op.send(json!({"type": "send", "conversation_id": conversation, "client_id": uuid::Uuid::new_v4(), "text": "VIP", "note": true})).await;
    op.expect("ack").await;
    assert!(visitor.try_expect("message", Duration::from_millis(300)).await.is_none(), "notes never reach the visitor");
});

// On PostgreSQL the writer stores two batches at a time, over different
// conversations: an operator's burst into two conversations is still numbered
// in the order it was sent within each, and reaches each visitor in that order.
both_backends!(a_burst_over_two_conversations_keeps_each_ones_order, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let (mut op, _, _) = online_operator(s, Role::Operator, &[]).await;
    let mut visitors = vec![];
    let mut conversations = vec![];
    for name in ["first", "second"] {
        let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
        let ack = visitor.say(name).await;
        op.receive(name).await;
        conversations.push(ack["conversation_id"].as_str().unwrap().to_string());
        visitors.push(visitor);
    }
    let mut sent = vec![];
    for i in 0..30 {
        let (c, client_id) = (i % 2, uuid::Uuid::new_v4());
        let frame = json!({"type": "send", "conversation_id": conversations[c], "client_id": client_id, "text": format!("m{i}")});
        op.send(frame).await;
        sent.push((c, client_id));
    }
    let mut seqs = std::collections::HashMap::new();
    for _ in 0..sent.len() {
        let ack = op.expect("ack").await;
        seqs.insert(ack["client_id"].as_str().unwrap().to_string(), ack["seq"].as_i64().unwrap());
    }
    for (c, visitor) in visitors.iter_mut().enumerate() {
        let numbered: Vec<i64> = sent.iter().filter(|(to, _)| *to == c).map(|(_, id)| seqs[&id.to_string()]).collect();
        assert!(numbered.windows(2).all(|w| w[0] < w[1]), "numbered in the order sent: {numbered:?}");
        let mut seen = vec![];
        while seen.len() < numbered.len() {
            let m = visitor.expect("message").await["message"].clone();
            if let (Some(seq), Some(text)) = (m["seq"].as_i64(), m["text"].as_str())
                && m["author"]["kind"] == "employee"
            {
                seen.push((seq, text.to_string()));
            }
        }
        let texts: Vec<String> = (0..30).filter(|i| i % 2 == c).map(|i| format!("m{i}")).collect();
        assert_eq!(seen.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>(), texts, "delivered in the order sent");
        assert_eq!(seen.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), numbered, "under the numbers acked");
    }
});

both_backends!(a_resend_stores_nothing_twice, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let id = uuid::Uuid::new_v4();
    let frame = json!({"type": "send", "client_id": id, "text": "once"});
    visitor.send(frame.clone()).await;
    let first = visitor.expect("ack").await;
    visitor.send(frame).await;
    let second = visitor.expect("ack").await;
    assert_eq!(first, second, "the same acknowledgement");
    let c = first["conversation_id"].as_str().unwrap();
    let history: Value = s.get_json(&admin, &format!("/api/v1/conversations/{c}/messages")).await;
    let texts = history["items"].as_array().unwrap().iter().filter(|m| m["text"] == "once").count();
    assert_eq!(texts, 1);
});

// RFC 6455 §5.5.1: an endpoint that receives a close frame sends one back
// (echoing the code) before it drops the connection; otherwise the client
// sees a reset (1006) however it meant to leave.
both_backends!(a_client_closing_its_socket_gets_a_close_frame_back, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    visitor.say("bye soon").await;
    assert_eq!(visitor.close_with(1000).await, Some(1000), "the visitor's close is answered");
    let (op, _, _) = online_operator(s, Role::Operator, &[]).await;
    assert_eq!(op.close_with(1001).await, Some(1001), "the operator's close is answered, with its code");
});

both_backends!(a_reconnect_replays_exactly_what_was_missed, |s| {
    let admin_emp = s.administrator().await;
    let admin = s.session(&admin_emp).await;
    let (widget, _) = s.widget(&admin).await;
    let (mut visitor, welcome) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let token = welcome["token"].as_str().unwrap().to_string();
    let ack = visitor.say("first").await;
    let (conversation, last_seen) =
        (ack["conversation_id"].as_str().unwrap().to_string(), ack["seq"].as_i64().unwrap());
    drop(visitor);

    let path = format!("/api/v1/conversations/{conversation}/messages");
    let mut sent = vec![];
    for text in ["one", "two", "three"] {
        let r = s
            .as_(&admin, Method::POST, &path)
            .json(&json!({"client_id": uuid::Uuid::new_v4(), "text": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        sent.push(r.json::<Value>().await.unwrap()["seq"].as_i64().unwrap());
    }
    let (mut back, welcome) = s.visitor(&widget, json!({"type": "hello", "v": 1, "token": token})).await;
    assert_eq!(
        welcome["conversation"]["id"].as_str(),
        Some(conversation.as_str()),
        "the same visitor and conversation"
    );
    back.send(json!({"type": "sync", "after_seq": last_seen})).await;
    let replay = back.expect("messages").await;
    let items = replay["items"].as_array().unwrap();
    let texts: Vec<&str> = items.iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, vec!["one", "two", "three"], "exactly the missed messages, in order");
    let seqs: Vec<i64> = items.iter().map(|m| m["seq"].as_i64().unwrap()).filter(|s| sent.contains(s)).collect();
    assert_eq!(seqs, sent);
    assert!(items.iter().all(|m| m["seq"].as_i64().unwrap() > last_seen));
});

both_backends!(transfer_close_rating_and_reopening, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let (mut a, a_token, _) = online_operator(s, Role::Operator, &[grant(Permission::ConversationsTransfer)]).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let ack = visitor.say("help").await;
    let c = ack["conversation_id"].as_str().unwrap().to_string();
    a.receive("help").await;
    // B comes online only now, so routing had only A.
    let (mut b, b_token, b_id) = online_operator(s, Role::Operator, &[]).await;
    let r = s
        .as_(&a_token, Method::POST, &format!("/api/v1/conversations/{c}/transfer"))
        .json(&json!({"to": b_id, "note": "billing question"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let change = b.expect("conversation").await;
    assert_eq!(change["conversation"]["operator_id"].as_str(), Some(b_id.as_str()));
    let event = b.receive("transferred").await["event"].clone();
    assert_eq!(event["note"], "billing question");
    // A no longer sees it.
    let r = s.as_(&a_token, Method::GET, &format!("/api/v1/conversations/{c}")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    let r = s.as_(&b_token, Method::POST, &format!("/api/v1/conversations/{c}/close")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let closed = visitor.expect("closed").await;
    assert_eq!(closed["rating_requested"], true);
    visitor.send(json!({"type": "rate", "rating": 9})).await;
    assert_eq!(visitor.expect("error").await["code"], "invalid_frame");
    visitor.send(json!({"type": "rate", "rating": 5})).await;
    assert_eq!(visitor.expect("rated").await["rating"], 5);
    visitor.send(json!({"type": "rate", "rating": 1})).await;
    assert_eq!(visitor.expect("rated").await["rating"], 5, "one rating per closing");

    // Writing again reopens it, and routing hands it out again.
    visitor.say("one more thing").await;
    let mut reopened = false;
    for _ in 0..50 {
        let c: Value = s.get_json(&admin, &format!("/api/v1/conversations/{c}")).await;
        if c["state"] == "assigned" {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened, "reopened and assigned again");
    let _ = &mut a;
});

both_backends!(an_operator_with_only_own_cannot_reach_another_operators_conversation, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let (mut a, a_token, _) = online_operator(s, Role::Operator, &[]).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c = visitor.say("for A").await["conversation_id"].as_str().unwrap().to_string();
    a.receive("for A").await;
    // B may transfer in general, but not this conversation: it is not theirs.
    let intruder = s.employee(Role::Operator, &[grant(Permission::ConversationsTransfer)]).await;
    let b_token = s.session(&intruder).await;
    let b_id = intruder.id().to_string();
    let base = format!("/api/v1/conversations/{c}");
    let attempts = [
        (Method::GET, base.clone(), Value::Null),
        (Method::GET, format!("{base}/messages"), Value::Null),
        (Method::POST, format!("{base}/messages"), json!({"client_id": uuid::Uuid::new_v4(), "text": "hi"})),
        (Method::POST, format!("{base}/transfer"), json!({"to": b_id})),
        (Method::POST, format!("{base}/close"), Value::Null),
    ];
    for (method, path, body) in attempts {
        let mut r = s.as_(&b_token, method.clone(), &path);
        if !body.is_null() {
            r = r.json(&body);
        }
        assert_eq!(r.send().await.unwrap().status(), 404, "{method} {path}");
    }
    let r = s.as_(&b_token, Method::POST, &format!("{base}/take")).send().await.unwrap();
    assert_eq!(r.status(), 403, "taking needs conversations.all");
    assert_eq!(s.search(&a_token, "for").await.len(), 1, "the owner finds it");
    let list: Value = s.get_json(&b_token, "/api/v1/conversations?q=for").await;
    assert!(list["items"].as_array().unwrap().is_empty(), "not in lists or search");

    let mut b = s.operator_ws(&b_token).await;
    for frame in [
        json!({"type": "subscribe", "conversation_id": c}),
        json!({"type": "sync", "conversation_id": c, "after_seq": 0}),
        json!({"type": "send", "conversation_id": c, "client_id": uuid::Uuid::new_v4(), "text": "hi"}),
        json!({"type": "typing", "conversation_id": c}),
    ] {
        b.send(frame.clone()).await;
        assert_eq!(b.expect("error").await["code"], "not_found", "{frame}");
    }
    visitor.say("still private").await;
    a.receive("still private").await;
    assert!(b.try_expect("message", Duration::from_millis(300)).await.is_none(), "B hears nothing of it");
});

both_backends!(blocking_an_operator_closes_their_socket_within_a_second, |s| {
    let admin = s.session(&s.administrator().await).await;
    let op = s.employee(Role::Operator, &[]).await;
    let token = s.session(&op).await;
    let mut ws = s.operator_ws(&token).await;
    let r = s.as_(&admin, Method::POST, &format!("/api/v1/employees/{}/block", op.id())).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(ws.ended(Duration::from_secs(1)).await, Ended::Closed(Some(4001)));
    let again =
        ostrog_testkit::ws::Ws::connect(&s.ws_url("/api/v1/ws"), &[("authorization", &format!("Bearer {token}"))])
            .await;
    assert_eq!(again.err(), Some(401), "and cannot come back");
});

both_backends!(the_visitor_socket_checks_origin_and_identity, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, secret) = s.widget(&admin).await;
    let url = s.ws_url(&format!("/api/v1/widget/{widget}/ws"));
    for origin in ["https://evil.example", "https://shop.example.evil.example", "null"] {
        let r = ostrog_testkit::ws::Ws::connect(&url, &[("origin", origin)]).await;
        assert_eq!(r.err(), Some(403), "{origin}");
    }
    assert_eq!(ostrog_testkit::ws::Ws::connect(&url, &[]).await.err(), Some(403), "no Origin at all");

    let sign = |user: &str, key: &str| {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&hex::decode(key).unwrap()).unwrap();
        mac.update(user.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    };
    let mut forged = ostrog_testkit::ws::Ws::connect(&url, &[("origin", ostrog_testkit::ORIGIN)]).await.unwrap();
    let wrong_key = "00".repeat(32);
    forged
        .send(json!({"type": "hello", "v": 1, "identity": {"user_id": "u-42", "signature": sign("u-42", &wrong_key)}}))
        .await;
    assert_eq!(forged.expect("error").await["code"], "identity_rejected");
    let mut unsigned = ostrog_testkit::ws::Ws::connect(&url, &[("origin", ostrog_testkit::ORIGIN)]).await.unwrap();
    unsigned.send(json!({"type": "hello", "v": 1, "identity": {"user_id": "u-42", "signature": ""}})).await;
    assert_eq!(unsigned.expect("error").await["code"], "identity_rejected");

    let hello = json!({"type": "hello", "v": 1, "identity": {"user_id": "u-42", "signature": sign("u-42", &secret)}});
    let (mut phone, first) = s.visitor(&widget, hello.clone()).await;
    let c = phone.say("from my phone").await["conversation_id"].clone();
    let (_laptop, second) = s.visitor(&widget, hello).await;
    assert_eq!(first["visitor_id"], second["visitor_id"], "a signed identity joins devices");
    assert_eq!(second["conversation"]["id"], c);
    assert_ne!(first["token"], second["token"], "each device has its own token");
});

both_backends!(bad_frames_get_errors_and_harm_nobody_else, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let (mut bad, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let (mut good, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let big = format!(r#"{{"type":"send","client_id":"{}","text":"{}"}}"#, uuid::Uuid::new_v4(), "x".repeat(20_000));
    let cases = [
        ("{not json", "malformed_frame"),
        (r#"{"type":"fly"}"#, "unknown_type"),
        (r#"{"type":"send","text":"no id"}"#, "invalid_frame"),
        (big.as_str(), "frame_too_large"),
    ];
    for (frame, code) in cases {
        bad.send_raw(frame).await;
        assert_eq!(bad.expect("error").await["code"], code, "{frame:.40}");
        good.say("still fine").await;
    }
    bad.send(json!({"type": "send", "client_id": uuid::Uuid::new_v4(), "text": "   "})).await;
    assert_eq!(bad.expect("error").await["code"], "invalid_frame");
    assert_eq!(bad.ended(Duration::from_secs(2)).await, Ended::Closed(Some(1008)), "five strikes");
    good.say("unaffected").await;

    let url = s.ws_url(&format!("/api/v1/widget/{widget}/ws"));
    let mut old = ostrog_testkit::ws::Ws::connect(&url, &[("origin", ostrog_testkit::ORIGIN)]).await.unwrap();
    old.send(json!({"type": "hello", "v": 2})).await;
    assert_eq!(old.expect("error").await["code"], "unsupported_version");
});

both_backends!(the_list_previews_each_conversations_last_text, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let (mut op, op_token, _) = online_operator(s, Role::Operator, &[]).await;
    let (mut first, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let (mut second, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let a = first.say("the first question").await["conversation_id"].as_str().unwrap().to_string();
    first.say("the   second\nquestion").await;
    let b = second.say("something else").await["conversation_id"].as_str().unwrap().to_string();
    op.receive("something else").await;
    // Closing puts an event after the last text of the first conversation.
    let r = s.as_(&op_token, Method::POST, &format!("/api/v1/conversations/{a}/close")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let page = s.get_json(&admin, "/api/v1/conversations").await;
    let mut previews: Vec<(String, String)> = page["previews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["conversation_id"].as_str().unwrap().into(), p["text"].as_str().unwrap().into()))
        .collect();
    previews.sort();
    let mut expected = vec![(a, "the second question".to_string()), (b, "something else".to_string())];
    expected.sort();
    assert_eq!(previews, expected, "each conversation's own last text, on one line");
});
