//! Absent operators and stuck conversations over real sockets: an
//! assignment nobody opens goes back to the queue, hidden pages make their
//! operator away, a supervisor takes over a conversation (its operator is
//! told), colleagues in one conversation see each other, and the routing
//! settings are guarded and audited.

use ostrog_domain::clock::SECOND;
use ostrog_domain::role::Role;
use ostrog_testkit::{TestServer, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// An operator's socket (online), session token and id.
async fn online(s: &TestServer, role: Role) -> (ostrog_testkit::ws::Ws, String, String) {
    let op = s.employee(role, &[]).await;
    let token = s.session(&op).await;
    let mut ws = s.operator_ws(&token).await;
    ws.send(json!({"type": "presence", "status": "online"})).await;
    (ws, token, op.id().to_string())
}

/// Waits (up to 10 s: the routing job looks every 2 s) until `check` holds.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn state_of(s: &TestServer, token: &str, c: &str) -> (String, Option<String>) {
    let v: Value = s.get_json(token, &format!("/api/v1/conversations/{c}")).await;
    (v["state"].as_str().unwrap_or_default().to_string(), v["operator_id"].as_str().map(str::to_string))
}

/// Waits for a `presence` frame saying `employee` is `status` now.
async fn becomes(ws: &mut ostrog_testkit::ws::Ws, employee: &str, status: &str) {
    loop {
        let f = ws.expect("presence").await;
        if f["employee_id"] == employee && f["status"] == status {
            return;
        }
    }
}

both_backends!(an_assignment_nobody_opens_returns_to_the_queue_and_its_operator_is_away, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let (mut absent, _, absent_id) = online(s, Role::Operator).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c = visitor.say("anyone?").await["conversation_id"].as_str().unwrap().to_string();
    absent.receive("anyone?").await;
    assert_eq!(state_of(s, &admin, &c).await, ("assigned".into(), Some(absent_id.clone())));

    s.clock.advance(59 * SECOND);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(state_of(s, &admin, &c).await.0, "assigned", "not a minute yet");
    s.clock.advance(2 * SECOND);
    until("the requeue", async || state_of(s, &admin, &c).await.0 == "queued").await;
    becomes(&mut absent, &absent_id, "away").await;

    let history: Value = s.get_json(&admin, &format!("/api/v1/conversations/{c}/messages")).await;
    let event = history["items"].as_array().unwrap().iter().find(|m| m["event"]["name"] == "requeued").cloned();
    let event = event.expect("a requeued event")["event"].clone();
    assert_eq!((event["from"].as_str(), event["seconds"].as_u64()), (Some(absent_id.as_str()), Some(60)));
    assert!(visitor.try_expect("message", Duration::from_millis(300)).await.is_none(), "not for the visitor");

    // Someone present gets it, and has a minute of their own.
    let (mut present, present_token, present_id) = online(s, Role::Operator).await;
    until("routing to who is there", async || state_of(s, &admin, &c).await.1.as_deref() == Some(&present_id)).await;
    let _ = s.get_json(&present_token, &format!("/api/v1/conversations/{c}/messages")).await;
    s.clock.advance(120 * SECOND);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(state_of(s, &admin, &c).await.1, Some(present_id), "opened: it stays");
    let _ = &mut present;
});

both_backends!(an_operator_whose_pages_stay_hidden_gets_nothing_until_one_is_shown, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let quick = json!({"away_after_hidden_seconds": 5, "requeue_after_seconds": 600});
    let r = s.as_(&admin, Method::PUT, "/api/v1/settings/routing").json(&quick).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (mut op, _, op_id) = online(s, Role::Operator).await;
    op.send(json!({"type": "visibility", "hidden": true})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.clock.advance(6 * SECOND);
    becomes(&mut op, &op_id, "away").await;

    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c = visitor.say("hello?").await["conversation_id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(state_of(s, &admin, &c).await.0, "queued", "nobody is there");

    op.send(json!({"type": "visibility", "hidden": false})).await;
    becomes(&mut op, &op_id, "online").await;
    until("routing to the returning operator", async || state_of(s, &admin, &c).await.1.as_deref() == Some(&op_id))
        .await;
});

both_backends!(a_supervisor_takes_over_a_stuck_conversation_and_its_operator_is_told, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let (mut stuck, stuck_token, stuck_id) = online(s, Role::Operator).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c = visitor.say("still waiting").await["conversation_id"].as_str().unwrap().to_string();
    stuck.receive("still waiting").await;

    let supervisor = s.employee(Role::OperatorSupervisor, &[]).await;
    let sup_token = s.session(&supervisor).await;
    let sup_id = supervisor.id().to_string();
    // Co-presence: the supervisor opens it, its operator learns who is there.
    let mut sup = s.operator_ws(&sup_token).await;
    sup.send(json!({"type": "subscribe", "conversation_id": c})).await;
    sup.expect("subscribed").await;
    sup.send(json!({"type": "here", "conversation_id": c, "activity": "joined"})).await;
    let seen = stuck.expect("colleague").await;
    assert_eq!((seen["employee_id"].as_str(), seen["activity"].as_str()), (Some(sup_id.as_str()), Some("joined")));
    stuck.send(json!({"type": "typing", "conversation_id": c})).await;
    loop {
        let f = sup.expect("colleague").await;
        if f["employee_id"] == stuck_id.as_str() {
            assert_eq!(f["activity"], "typing");
            break;
        }
    }

    let r = s.as_(&sup_token, Method::POST, &format!("/api/v1/conversations/{c}/take")).send().await.unwrap();
    assert_eq!(r.status(), 422, "a plain take never takes an assigned conversation over");
    let over = format!("/api/v1/conversations/{c}/take_over");
    let stale = json!({"from": sup_id});
    let r = s.as_(&sup_token, Method::POST, &over).json(&stale).send().await.unwrap();
    assert_eq!(r.status(), 422, "not with that operator: refused");
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "from");
    let r = s.as_(&sup_token, Method::POST, &over).json(&json!({"from": stuck_id})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["operator_id"].as_str(), Some(sup_id.as_str()));
    let told = stuck.expect("conversation").await;
    assert_eq!(told["conversation"]["operator_id"].as_str(), Some(sup_id.as_str()), "the previous owner is told");
    let r = s.as_(&stuck_token, Method::GET, &format!("/api/v1/conversations/{c}")).send().await.unwrap();
    assert_eq!(r.status(), 404, "no longer theirs");

    let event = sup.receive("taken_over").await["event"].clone();
    assert_eq!((event["from"].as_str(), event["by"].as_str()), (Some(stuck_id.as_str()), Some(sup_id.as_str())));
    let audit = s.get_json(&admin, "/api/v1/audit?action=conversation.taken_over").await;
    assert_eq!(audit[0]["target"], format!("conversation:{c}"));
    assert_eq!(audit[0]["actor"], sup_id.as_str());

    let r = s.as_(&sup_token, Method::POST, &over).json(&json!({"from": stuck_id})).send().await.unwrap();
    assert_eq!(r.status(), 422, "no longer with them: refused");
});

both_backends!(routing_settings_are_guarded_validated_and_audited, |s| {
    let admin = s.session(&s.administrator().await).await;
    let defaults = s.get_json(&admin, "/api/v1/settings/routing").await;
    assert_eq!(defaults, json!({"away_after_hidden_seconds": 120, "requeue_after_seconds": 60}));
    let operator = s.session(&s.employee(Role::Operator, &[]).await).await;
    let body = json!({"away_after_hidden_seconds": 30, "requeue_after_seconds": 90});
    let r = s.as_(&operator, Method::PUT, "/api/v1/settings/routing").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let bad = json!({"away_after_hidden_seconds": 30, "requeue_after_seconds": 1});
    let r = s.as_(&admin, Method::PUT, "/api/v1/settings/routing").json(&bad).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "requeue_after_seconds");
    let r = s.as_(&admin, Method::PUT, "/api/v1/settings/routing").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s.get_json(&admin, "/api/v1/settings/routing").await, body);
    let audit = s.get_json(&admin, "/api/v1/audit?action=settings.changed").await.to_string();
    assert!(audit.contains("\"routing\""), "{audit}");
});
