//! Labels through the API: defined with `settings.manage` and audited,
//! set on a conversation by the operator handling it and by nobody who may
//! not see it, listed with the page and filtering it, counted per period.

use ostrog_domain::clock::Clock;
use ostrog_domain::role::Role;
use ostrog_testkit::{TestServer, both_backends};
use reqwest::Method;
use serde_json::{Value, json};

async fn send(s: &TestServer, token: &str, method: Method, path: &str, body: Value) -> (u16, Value) {
    let r = s.as_(token, method, path).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

both_backends!(an_operator_labels_their_conversation_and_the_list_filters_by_it, |s| {
    let admin = s.session(&s.administrator().await).await;
    let op_token = s.session(&s.employee(Role::Operator, &[]).await).await;
    let (status, paid) =
        send(s, &admin, Method::POST, "/api/v1/labels", json!({"name": " Оплата ", "colour": "green"})).await;
    assert_eq!((status, paid["name"].as_str()), (201, Some("Оплата")), "{paid}");
    let (status, taken) =
        send(s, &admin, Method::POST, "/api/v1/labels", json!({"name": "оплата", "colour": "red"})).await;
    assert_eq!(
        (status, taken["error"]["code"].as_str(), taken["error"]["field"].as_str()),
        (409, Some("label_taken"), Some("name"))
    );
    let (status, _) = send(s, &admin, Method::POST, "/api/v1/labels", json!({"name": "x", "colour": "#ff0000"})).await;
    assert_eq!(status, 422, "only the palette's colours");
    let (status, _) = send(s, &op_token, Method::POST, "/api/v1/labels", json!({"name": "Моя", "colour": "red"})).await;
    assert_eq!(status, 403, "an operator does not define labels");
    let (_, complaint) =
        send(s, &admin, Method::POST, "/api/v1/labels", json!({"name": "Жалоба", "colour": "red"})).await;

    let (widget, _) = s.widget(&admin).await;
    let mut ws = s.operator_ws(&op_token).await;
    ws.send(json!({"type": "presence", "status": "online"})).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c = visitor.say("Не проходит оплата картой").await["conversation_id"].as_str().unwrap().to_string();
    ws.receive("Не проходит оплата картой").await;
    let (mut other_visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    other_visitor.say("Другой вопрос").await;
    ws.receive("Другой вопрос").await;

    let path = format!("/api/v1/conversations/{c}/labels");
    let (status, set) = send(s, &op_token, Method::PUT, &path, json!({"label_ids": [paid["id"], paid["id"]]})).await;
    assert_eq!((status, set["label_ids"].clone()), (200, json!([paid["id"]])), "{set}");
    let (status, bad) =
        send(s, &op_token, Method::PUT, &path, json!({"label_ids": [paid["id"], uuid::Uuid::new_v4()]})).await;
    assert_eq!((status, bad["error"]["field"].as_str()), (422, Some("label_ids")), "an unknown label changes nothing");
    let stranger = s.session(&s.employee(Role::Operator, &[]).await).await;
    let (status, _) = send(s, &stranger, Method::PUT, &path, json!({"label_ids": []})).await;
    assert_eq!(status, 404, "not theirs");

    let page = s.get_json(&op_token, "/api/v1/conversations").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["labels"], json!([{"conversation_id": c, "label_ids": [paid["id"]]}]));
    let filtered =
        s.get_json(&op_token, &format!("/api/v1/conversations?label={}", paid["id"].as_str().unwrap())).await;
    let ids: Vec<&Value> = filtered["items"].as_array().unwrap().iter().map(|i| &i["id"]).collect();
    assert_eq!(ids, [&json!(c)]);

    let now = s.clock.now();
    let stats = s.get_json(&admin, &format!("/api/v1/statistics/labels?from={}&to={}", now - 3_600_000, now + 1)).await;
    let counts: Vec<(Value, Value)> =
        stats["labels"].as_array().unwrap().iter().map(|l| (l["name"].clone(), l["conversations"].clone())).collect();
    assert_eq!(counts, [(json!("Оплата"), json!(1)), (json!("Жалоба"), json!(0))]);

    // Deleting a label takes it off the conversation; each change is audited.
    let r = s.as_(&admin, Method::DELETE, &format!("/api/v1/labels/{}", paid["id"].as_str().unwrap())).send().await;
    assert_eq!(r.unwrap().status(), 204);
    let page = s.get_json(&op_token, "/api/v1/conversations").await;
    assert_eq!(page["labels"], json!([]));
    let catalogue = s.get_json(&op_token, "/api/v1/labels").await;
    assert_eq!(catalogue, json!([{"id": complaint["id"], "name": "Жалоба", "colour": "red"}]));
    let audit = s.get_json(&admin, "/api/v1/audit?action=label.deleted").await;
    assert_eq!(audit[0]["details"], json!({"name": "Оплата", "colour": "green"}));
});
