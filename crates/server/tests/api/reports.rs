//! Statistics and finance against a scripted day of conversations: every
//! figure checked by hand, and each role sees only its scope.

use ostrog_domain::clock::Clock;
use ostrog_domain::role::Role;
use ostrog_testkit::{TestServer, both_backends};
use reqwest::Method;
use serde_json::{Value, json};

const SECOND: i64 = 1000;

async fn get(s: &TestServer, token: &str, path: &str) -> (u16, String) {
    let r = s.as_(token, Method::GET, path).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

both_backends!(statistics_and_finance_of_a_scripted_day, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let start = s.clock.now();
    let op = s.employee(Role::Operator, &[]).await;
    let op_token = s.session(&op).await;
    let mut op_ws = s.operator_ws(&op_token).await;

    // 1: asked at 0 s, answered at 60 s, asked again at 120 s, answered at
    // 150 s, closed at 300 s, rated 4.
    let (mut v1, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c1 = v1.say("Where is my order?").await["conversation_id"].as_str().unwrap().to_string();
    op_ws.receive("Where is my order?").await;
    let reply = |c: &str, text: &str| json!({"type": "send", "conversation_id": c, "client_id": uuid::Uuid::new_v4(), "text": text});
    s.clock.advance(60 * SECOND);
    op_ws.send(reply(&c1, "On its way")).await;
    op_ws.expect("ack").await;
    s.clock.advance(60 * SECOND);
    v1.say("When?").await;
    s.clock.advance(30 * SECOND);
    op_ws.send(reply(&c1, "Tomorrow")).await;
    op_ws.expect("ack").await;
    s.clock.advance(150 * SECOND);
    let r = s.as_(&op_token, Method::POST, &format!("/api/v1/conversations/{c1}/close")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    v1.expect("closed").await;
    v1.send(json!({"type": "rate", "rating": 4})).await;
    v1.expect("rated").await;

    // 2: asked at 400 s, never answered, closed at 500 s: missed.
    s.clock.advance(100 * SECOND);
    let (mut v2, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c2 = v2.say("Hello?").await["conversation_id"].as_str().unwrap().to_string();
    op_ws.receive("Hello?").await;
    s.clock.advance(100 * SECOND);
    let r = s.as_(&op_token, Method::POST, &format!("/api/v1/conversations/{c2}/close")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let day = format!("from={start}&to={}", start + 24 * 3600 * SECOND);
    let expected = json!({
        "received": 2, "answered": 1, "missed": 1, "closed": 2,
        "first_response_ms": 60_000, "response_ms": 45_000, "close_ms": 200_000,
        "rating": 4.0, "ratings": 1,
    });
    let op_id = op.id().to_string();
    let supervisor = s.session(&s.employee(Role::OperatorSupervisor, &[]).await).await;
    let (status, body) = get(s, &supervisor, &format!("/api/v1/statistics?{day}")).await;
    assert_eq!(status, 200, "{body}");
    let all: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(all["total"], expected, "totals");
    assert_eq!(all["per_operator"][&op_id], expected, "the operator's own row");

    // The operator: own figures only, no totals.
    let own: Value = serde_json::from_str(&get(s, &op_token, &format!("/api/v1/statistics?{day}")).await.1).unwrap();
    assert_eq!(own["total"], Value::Null);
    assert_eq!(own["per_operator"].as_object().unwrap().len(), 1);
    assert_eq!(own["per_operator"][&op_id], expected);
    // A senior operator (general + own): totals and only their own (empty) row.
    let senior_emp = s.employee(Role::SeniorOperator, &[]).await;
    let senior = s.session(&senior_emp).await;
    let general: Value = serde_json::from_str(&get(s, &senior, &format!("/api/v1/statistics?{day}")).await.1).unwrap();
    assert_eq!(general["total"], expected);
    let rows: Vec<&String> = general["per_operator"].as_object().unwrap().keys().collect();
    assert_eq!(rows, vec![&senior_emp.id().to_string()], "no other operator's row");

    let (status, csv) = get(s, &op_token, &format!("/api/v1/statistics?{day}&format=csv")).await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("scope,operator_id,received"));
    assert!(lines[1].contains(&op_id) && lines[1].contains(",2,1,1,2,60000,45000,200000,4.00,1"), "{csv}");
    let (_, other_day) =
        get(s, &supervisor, &format!("/api/v1/statistics?from={}&to={}", start - 10_000, start - 1)).await;
    assert_eq!(serde_json::from_str::<Value>(&other_day).unwrap()["total"]["received"], 0);

    // Finance: 1 active seat at 1,000.00 and 5 widget messages at 0.10.
    let tariff = json!({"currency": "RUB", "seat_price": 100_000, "message_prices": {"widget": 10}});
    let r = s.as_(&admin, Method::PUT, "/api/v1/finance/tariff").json(&tariff).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let bad = json!({"currency": "rubles", "seat_price": -1, "message_prices": {}});
    let r = s.as_(&admin, Method::PUT, "/api/v1/finance/tariff").json(&bad).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let (status, body) = get(s, &admin, &format!("/api/v1/finance/usage?{day}")).await;
    assert_eq!(status, 200);
    let usage: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(usage["usage"], json!({"active_seats": 1, "conversations": {"widget": 2}, "messages": {"widget": 5}}));
    assert_eq!(usage["cost"]["total"], 100_050);
    let (_, csv) = get(s, &admin, &format!("/api/v1/finance/usage?{day}&format=csv")).await;
    assert!(csv.starts_with("item,channel,quantity,amount_minor,currency"), "{csv}");
    for who in [&op_token, &supervisor] {
        for path in ["/api/v1/finance/tariff".to_string(), format!("/api/v1/finance/usage?{day}")] {
            assert_eq!(get(s, who, &path).await.0, 403, "{path}");
        }
    }
    assert_eq!(get(s, &admin, "/api/v1/statistics?from=10&to=5").await.0, 422, "an empty period");
});
