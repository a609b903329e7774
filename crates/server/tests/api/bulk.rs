//! Bulk actions of the list: each conversation gets the single action's
//! rules (an operator closes only their own, a stranger's answers
//! not_found and stays as it was), labels are added and removed without
//! touching the others, and a supervisor hands queued and assigned
//! conversations to one operator at once.

use ostrog_domain::role::Role;
use ostrog_testkit::{TestServer, both_backends};
use reqwest::Method;
use serde_json::{Value, json};

async fn post(s: &TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = s.as_(token, Method::POST, path).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn conversation(s: &TestServer, token: &str, id: &str) -> Value {
    s.get_json(token, &format!("/api/v1/conversations/{id}")).await
}

both_backends!(bulk_actions_follow_each_conversations_rules, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let anna = s.employee(Role::Operator, &[]).await;
    let (anna_token, oleg) = (s.session(&anna).await, s.employee(Role::Operator, &[]).await);
    let oleg_token = s.session(&oleg).await;

    let mut anna_ws = s.operator_ws(&anna_token).await;
    anna_ws.send(json!({"type": "presence", "status": "online"})).await;
    let mut said = vec![];
    for text in ["Первый", "Второй"] {
        let (mut v, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
        said.push(v.say(text).await["conversation_id"].as_str().unwrap().to_string());
        anna_ws.receive(text).await;
    }
    let mut oleg_ws = s.operator_ws(&oleg_token).await;
    oleg_ws.send(json!({"type": "presence", "status": "online"})).await;
    let (mut v, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let olegs = v.say("Третий").await["conversation_id"].as_str().unwrap().to_string();
    oleg_ws.receive("Третий").await;

    // Anna closes hers and, by mistake, Oleg's: his is not hers to close.
    let (status, done) =
        post(s, &anna_token, "/api/v1/conversations/bulk/close", json!({"conversation_ids": [said[0], olegs]})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        done["results"],
        json!([{"conversation_id": said[0]}, {"conversation_id": olegs, "error": "not_found"}])
    );
    assert_eq!(conversation(s, &anna_token, &said[0]).await["state"], "closed");
    assert_eq!(conversation(s, &oleg_token, &olegs).await["state"], "assigned", "untouched");

    // Labels added and removed, the others kept.
    let label = |name: &str| json!({"name": name, "colour": "blue"});
    let (_, paid) = post(s, &admin, "/api/v1/labels", label("Оплата")).await;
    let (_, urgent) = post(s, &admin, "/api/v1/labels", label("Срочно")).await;
    let r = s.as_(&anna_token, Method::PUT, &format!("/api/v1/conversations/{}/labels", said[1]));
    assert_eq!(r.json(&json!({"label_ids": [urgent["id"]]})).send().await.unwrap().status(), 200);
    let change = json!({"conversation_ids": [said[0], said[1]], "add": [paid["id"]], "remove": []});
    let (status, done) = post(s, &anna_token, "/api/v1/conversations/bulk/labels", change).await;
    assert_eq!((status, done["results"][1]["error"].clone()), (200, Value::Null), "{done}");
    let page = s.get_json(&anna_token, &format!("/api/v1/conversations?label={}", paid["id"].as_str().unwrap())).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let kept = page["labels"].as_array().unwrap().iter().find(|l| l["conversation_id"] == said[1].as_str()).unwrap();
    assert_eq!(kept["label_ids"].as_array().unwrap().len(), 2, "Срочно kept: {kept}");

    // A supervisor gives Oleg a queued conversation and one of Anna's.
    anna_ws.close().await;
    oleg_ws.close().await;
    let (mut v, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let queued = v.say("Четвёртый").await["conversation_id"].as_str().unwrap().to_string();
    let supervisor = s.session(&s.employee(Role::OperatorSupervisor, &[]).await).await;
    assert_eq!(conversation(s, &supervisor, &queued).await["state"], "queued");
    let to_oleg = json!({"conversation_ids": [queued, said[1]], "to": oleg.id()});
    let (status, _) = post(s, &anna_token, "/api/v1/conversations/bulk/assign", to_oleg.clone()).await;
    assert_eq!(status, 403, "assigning needs conversations.transfer");
    let (status, done) = post(s, &supervisor, "/api/v1/conversations/bulk/assign", to_oleg).await;
    assert_eq!(done["results"], json!([{"conversation_id": queued}, {"conversation_id": said[1]}]), "{status}");
    for id in [&queued, &said[1]] {
        let c = conversation(s, &supervisor, id).await;
        assert_eq!(
            (c["state"].as_str(), c["operator_id"].as_str()),
            (Some("assigned"), Some(oleg.id().to_string().as_str()))
        );
    }

    // At most 100 at once, and at least one.
    let many: Vec<String> = (0..101).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let (status, refused) =
        post(s, &supervisor, "/api/v1/conversations/bulk/close", json!({"conversation_ids": many})).await;
    assert_eq!((status, refused["error"]["field"].as_str()), (422, Some("conversation_ids")));
    let (status, _) = post(s, &supervisor, "/api/v1/conversations/bulk/close", json!({"conversation_ids": []})).await;
    assert_eq!(status, 422);
});
