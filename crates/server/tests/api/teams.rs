//! Teams and routing rules through the API and real sockets: the catalogue
//! is guarded and audited, a rule sends a conversation to its team's member
//! rather than to a free colleague, labels it and raises its priority; the
//! dry-run names the deciding rule and why the others failed; a team's
//! conversation falls back to anyone after the team's wait.

use ostrog_domain::clock::{Clock, SECOND};
use ostrog_domain::role::Role;
use ostrog_testkit::{TestServer, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

async fn send(s: &TestServer, token: &str, method: Method, path: &str, body: Value) -> (u16, Value) {
    let r = s.as_(token, method, path).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// An operator's socket (online), session token and id.
async fn online(s: &TestServer) -> (ostrog_testkit::ws::Ws, String, String) {
    let op = s.employee(Role::Operator, &[]).await;
    let token = s.session(&op).await;
    let mut ws = s.operator_ws(&token).await;
    ws.send(json!({"type": "presence", "status": "online"})).await;
    (ws, token, op.id().to_string())
}

async fn operator_of(s: &TestServer, token: &str, c: &str) -> (String, Option<String>) {
    let v: Value = s.get_json(token, &format!("/api/v1/conversations/{c}")).await;
    (v["state"].as_str().unwrap_or_default().to_string(), v["operator_id"].as_str().map(str::to_string))
}

fn field(v: &Value) -> (Option<&str>, Option<&str>) {
    (v["error"]["code"].as_str(), v["error"]["field"].as_str())
}

both_backends!(a_rule_sends_a_conversation_to_its_team_and_the_dry_run_names_it, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (mut outsider_ws, outsider_token, outsider) = online(s).await;
    let (mut member_ws, _, member) = online(s).await;

    let body = json!({"name": " Оплата ", "fallback_after_seconds": 600, "members": [member]});
    let (status, team) = send(s, &admin, Method::POST, "/api/v1/teams", body).await;
    assert_eq!((status, team["name"].as_str()), (201, Some("Оплата")), "{team}");
    let (status, taken) = send(s, &admin, Method::POST, "/api/v1/teams", json!({"name": "ОПЛАТА"})).await;
    assert_eq!((status, field(&taken)), (409, (Some("team_taken"), Some("name"))));
    let stranger = json!({"name": "Доставка", "members": [uuid::Uuid::new_v4()]});
    let (status, refused) = send(s, &admin, Method::POST, "/api/v1/teams", stranger).await;
    assert_eq!((status, field(&refused).1), (422, Some("members")), "only employees are members");
    let (status, _) = send(s, &outsider_token, Method::POST, "/api/v1/teams", json!({"name": "Мои"})).await;
    assert_eq!(status, 403, "an operator does not define teams");
    let listed = s.get_json(&outsider_token, "/api/v1/teams").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "but sees them: {listed}");
    let (_, refund) =
        send(s, &admin, Method::POST, "/api/v1/labels", json!({"name": "Оплата", "colour": "green"})).await;

    let rule = json!({"name": "Платежи", "when": {"channels": ["widget"], "words": ["оплат*", "не списались"]},
        "then": {"team": team["id"], "labels": [refund["id"]], "priority": "high"}});
    let unknown_team = json!({"rules": [{"name": "x", "then": {"team": uuid::Uuid::new_v4()}}]});
    let (status, refused) = send(s, &admin, Method::PUT, "/api/v1/routing/rules", unknown_team).await;
    assert_eq!((status, field(&refused).1), (422, Some("team")));
    let fax = json!({"rules": [{"name": "x", "when": {"channels": ["fax"]}}]});
    let (status, refused) = send(s, &admin, Method::PUT, "/api/v1/routing/rules", fax).await;
    assert_eq!((status, field(&refused).1), (422, Some("channels")));
    let (status, _) = send(s, &outsider_token, Method::PUT, "/api/v1/routing/rules", json!({"rules": [rule]})).await;
    assert_eq!(status, 403);
    let (status, saved) = send(s, &admin, Method::PUT, "/api/v1/routing/rules", json!({"rules": [rule]})).await;
    assert_eq!((status, saved["rules"][0]["when"]["words"].clone()), (200, json!(["оплат*", "не списались"])));

    let sample = |text: &str| json!({"sample": {"channel": "widget", "text": text}});
    let (status, run) = send(s, &admin, Method::POST, "/api/v1/routing/rules/dry-run", sample("Оплатил, но…")).await;
    assert_eq!((status, run["matched"].as_u64(), run["then"]["team"].clone()), (200, Some(0), team["id"].clone()));
    let (_, run) = send(s, &admin, Method::POST, "/api/v1/routing/rules/dry-run", sample("Где заказ?")).await;
    assert_eq!(
        (run["matched"].clone(), run["verdicts"].clone()),
        (Value::Null, json!([{"outcome": "failed", "condition": "words"}]))
    );

    // Both are online and free: the rule's team decides.
    let (widget, _) = s.widget(&admin).await;
    let (mut payer, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c = payer.say("Деньги не списались, помогите").await["conversation_id"].as_str().unwrap().to_string();
    member_ws.receive("Деньги не списались, помогите").await;
    assert_eq!(operator_of(s, &admin, &c).await, ("assigned".into(), Some(member.clone())));
    // The member is now the busier one, yet gets the team's next one too.
    let (mut second, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let e = second.say("Оплата картой не проходит").await["conversation_id"].as_str().unwrap().to_string();
    member_ws.receive("Оплата картой не проходит").await;
    assert_eq!(operator_of(s, &admin, &e).await.1, Some(member.clone()));
    let (mut other, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let d = other.say("Где мой заказ?").await["conversation_id"].as_str().unwrap().to_string();
    outsider_ws.receive("Где мой заказ?").await;
    assert_eq!(operator_of(s, &admin, &d).await.1, Some(outsider), "no rule: the least loaded");

    let page = s.get_json(&admin, "/api/v1/conversations").await;
    let routes = page["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 2, "the two payments, not the order: {page}");
    assert!(routes.contains(&json!({"conversation_id": c, "team_id": team["id"], "priority": "high"})));
    assert!(page["labels"].as_array().unwrap().contains(&json!({"conversation_id": e, "label_ids": [refund["id"]]})));

    let audit = s.get_json(&admin, "/api/v1/audit?action=team.created").await;
    assert_eq!(audit[0]["details"]["members"], json!([member]), "{audit}");
    let audit = s.get_json(&admin, "/api/v1/audit?action=settings.changed").await;
    assert!(audit.as_array().unwrap().iter().any(|e| e["target"] == "routing.rules"), "{audit}");
});

both_backends!(a_teams_conversation_waits_for_its_members_then_goes_to_anyone, |s| {
    let admin = s.session(&s.administrator().await).await;
    let absent = s.employee(Role::Operator, &[]).await;
    let (mut present_ws, _, present) = online(s).await;
    let body = json!({"name": "Доставка", "fallback_after_seconds": 60, "members": [absent.id()]});
    let (_, team) = send(s, &admin, Method::POST, "/api/v1/teams", body).await;
    let rule = json!({"name": "Всё в доставку", "then": {"team": team["id"]}});
    let (status, _) = send(s, &admin, Method::PUT, "/api/v1/routing/rules", json!({"rules": [rule]})).await;
    assert_eq!(status, 200);

    let (widget, _) = s.widget(&admin).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c = visitor.say("Курьер не приехал").await["conversation_id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(operator_of(s, &admin, &c).await.0, "queued", "the team's member is away: it waits for them");
    s.clock.advance(61 * SECOND);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while operator_of(s, &admin, &c).await.1.as_deref() != Some(present.as_str()) {
        assert!(tokio::time::Instant::now() < deadline, "after the team's wait, anyone gets it");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = &mut present_ws;
});

/// A conversation from a new visitor, answered and closed by `op`, then
/// rated by the visitor.
async fn rated(
    s: &TestServer,
    widget: &str,
    op: (&mut ostrog_testkit::ws::Ws, &str),
    text: &str,
    rate: Value,
) -> String {
    let (mut visitor, _) = s.visitor(widget, json!({"type": "hello", "v": 1})).await;
    let c = visitor.say(text).await["conversation_id"].as_str().unwrap().to_string();
    op.0.receive(text).await;
    let r = s.as_(op.1, Method::POST, &format!("/api/v1/conversations/{c}/close")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    visitor.expect("closed").await;
    visitor.send(rate).await;
    visitor.expect("rated").await;
    c
}

both_backends!(satisfaction_is_reported_by_team_and_label_with_the_visitors_comment, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (mut ws, token, member) = online(s).await;
    let (_, team) =
        send(s, &admin, Method::POST, "/api/v1/teams", json!({"name": "Оплата", "members": [member]})).await;
    let (_, label) = send(s, &admin, Method::POST, "/api/v1/labels", json!({"name": "Жалоба", "colour": "red"})).await;
    let rules = json!({"rules": [
        {"name": "Оплата", "when": {"words": ["оплат*"]}, "then": {"team": team["id"]}},
        {"name": "Жалобы", "when": {"words": ["жалоба"]}, "then": {"labels": [label["id"]]}},
    ]});
    assert_eq!(send(s, &admin, Method::PUT, "/api/v1/routing/rules", rules).await.0, 200);
    let (widget, _) = s.widget(&admin).await;
    let from = s.clock.now();
    let comment = json!({"type": "rate", "rating": 5, "comment": "  Быстро помогли "});
    let paid = rated(s, &widget, (&mut ws, &token), "Оплата прошла?", comment).await;
    let too_long = json!({"type": "rate", "rating": 4, "comment": "ж".repeat(1001)});
    let (mut v, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    v.send(too_long).await;
    assert_eq!(v.expect("error").await["code"], "invalid_frame", "no conversation to rate, and too long");
    rated(s, &widget, (&mut ws, &token), "Жалоба на курьера", json!({"type": "rate", "rating": 2})).await;
    rated(s, &widget, (&mut ws, &token), "Снова жалоба", json!({"type": "rate", "rating": 3})).await;

    let history: Value = s.get_json(&admin, &format!("/api/v1/conversations/{paid}/messages")).await;
    let event = history["items"].as_array().unwrap().iter().find(|m| m["event"]["name"] == "rated").cloned();
    assert_eq!(event.expect("the rating")["event"]["comment"], "Быстро помогли");

    let path = format!("/api/v1/statistics/satisfaction?from={from}&to={}", s.clock.now() + 1);
    let report = s.get_json(&admin, &path).await;
    let none = json!({"team_id": null, "name": null, "ratings": 2, "average": 2.5, "satisfied_percent": 0.0});
    let paying =
        json!({"team_id": team["id"], "name": "Оплата", "ratings": 1, "average": 5.0, "satisfied_percent": 100.0});
    assert_eq!(report["by_team"], json!([none, paying]), "{report}");
    let complaints = json!({"label_id": label["id"], "name": "Жалоба", "colour": "red", "ratings": 2, "average": 2.5,
        "satisfied_percent": 0.0});
    assert_eq!(report["by_label"], json!([complaints]));
    let csv = s.as_(&admin, Method::GET, &format!("{path}&format=csv")).send().await.unwrap().text().await.unwrap();
    assert_eq!(
        csv,
        "group,name,ratings,average,satisfied_percent\nteam,,2,2.5,0\nteam,Оплата,1,5,100\nlabel,Жалоба,2,2.5,0\n"
    );
    let r = s.as_(&token, Method::GET, &path).send().await.unwrap();
    assert_eq!(r.status(), 403, "an operator sees their own statistics, not the teams'");
});
