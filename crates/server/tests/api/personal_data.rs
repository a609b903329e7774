//! Personal data shown masked to employees by every route (WebSocket,
//! history), clear to the visitor who wrote it, revealed one value at a
//! time by holders of `personal_data.reveal` with a reason, and audited.

use ostrog_domain::role::Role;
use ostrog_testkit::both_backends;
use reqwest::Method;
use serde_json::{Value, json};

const CARD: &str = "4276 3800 1234 5679";
const PHONE: &str = "+7 916 123-45-67";

both_backends!(employees_see_personal_data_masked_and_reveal_it_audited, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let op = s.session(&operator).await;
    let mut ws = s.operator_ws(&op).await;
    ws.send(json!({"type": "presence", "status": "online"})).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let said = format!("Моя карта {CARD}, телефон {PHONE}");
    let c = visitor.say(&said).await["conversation_id"].as_str().unwrap().to_string();

    // Live and in history, the operator gets it masked, with what was found.
    let live = ws.receive("Моя карта 4276 **** **** 5679, телефон +7 *** ***-**-67").await;
    assert_eq!(live["personal_data"], json!([{"index": 0, "category": "card"}, {"index": 1, "category": "phone"}]));
    let history = s.get_json(&op, &format!("/api/v1/conversations/{c}/messages")).await.to_string();
    assert!(!history.contains(CARD) && !history.contains("123-45-67"), "{history}");
    assert!(history.contains("4276 **** **** 5679"), "{history}");

    // The visitor sees the operator's answer as written.
    let seq = live["seq"].as_i64().unwrap();
    let r = s.as_(&op, Method::POST, &format!("/api/v1/conversations/{c}/messages"));
    let reply = r.json(&json!({"client_id": uuid::Uuid::new_v4(), "text": format!("Карта {CARD} принята")})).send();
    let reply: Value = reply.await.unwrap().json().await.unwrap();
    assert_eq!(reply["text"], "Карта 4276 **** **** 5679 принята", "the operator's own copy is masked too");
    visitor.receive(&format!("Карта {CARD} принята")).await;

    // Revealing: not for the Operator; for the Administrator, with a reason, audited.
    let path = format!("/api/v1/conversations/{c}/messages/{seq}/reveal");
    let body = json!({"index": 0, "reason": "the client asked to check the card"});
    assert_eq!(s.as_(&op, Method::POST, &path).json(&body).send().await.unwrap().status(), 403);
    let no_reason = json!({"index": 0, "reason": " "});
    assert_eq!(s.as_(&admin, Method::POST, &path).json(&no_reason).send().await.unwrap().status(), 422);
    let r = s.as_(&admin, Method::POST, &path).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"category": "card", "value": CARD}));
    let gone = json!({"index": 5, "reason": "x"});
    assert_eq!(s.as_(&admin, Method::POST, &path).json(&gone).send().await.unwrap().status(), 404);
    let audit = s.get_json(&admin, "/api/v1/audit?action=personal_data.revealed").await;
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit[0]["details"]["reason"], "the client asked to check the card");
    assert!(!audit.to_string().contains("5679"), "the audit entry never holds the value: {audit}");

    // Which categories are masked is a setting.
    let r = s.as_(&admin, Method::PUT, "/api/v1/settings/personal-data").json(&json!({"masked": ["email"]}));
    assert_eq!(r.send().await.unwrap().status(), 200);
    let history = s.get_json(&op, &format!("/api/v1/conversations/{c}/messages")).await.to_string();
    assert!(history.contains(CARD), "cards are no longer masked: {history}");
    let bad = json!({"masked": ["dna"]});
    let r = s.as_(&admin, Method::PUT, "/api/v1/settings/personal-data").json(&bad).send().await.unwrap();
    assert_eq!(r.status(), 422);
});
