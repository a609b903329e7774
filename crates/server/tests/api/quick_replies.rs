//! Quick replies through the API: the shared ones are written by holders of
//! `replies.manage` and audited, personal ones stay their owner's, codes are
//! unique per scope, and inserting a reply into a conversation fills it for
//! that conversation, refuses what the caller may not see, and is counted.

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

fn reply(code: &str, ru: &str) -> Value {
    json!({"code": code, "title": format!("Reply {code}"), "bodies": {"ru": ru, "en": "Hello, {contact_name|there}!"}})
}

/// An operator online, and a widget visitor's conversation assigned to them.
async fn conversation_of(s: &TestServer, admin: &str, op_token: &str) -> String {
    let (widget, _) = s.widget(admin).await;
    let mut ws = s.operator_ws(op_token).await;
    ws.send(json!({"type": "presence", "status": "online"})).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c = visitor.say("Где мой заказ?").await["conversation_id"].as_str().unwrap().to_string();
    ws.receive("Где мой заказ?").await;
    c
}

both_backends!(a_shared_reply_is_filled_for_the_conversation_it_is_inserted_in, |s| {
    let admin = s.session(&s.administrator().await).await;
    let manager = s.session(&s.employee(Role::Manager, &[]).await).await;
    let op = s.employee(Role::Operator, &[]).await;
    let op_token = s.session(&op).await;
    let c = conversation_of(s, &admin, &op_token).await;

    let body = "Здравствуйте, {contact_name|клиент}! Меня зовут {operator_name}, «{company_name}».";
    let (status, shared) = send(s, &manager, Method::POST, "/api/v1/quick-replies/shared", reply("Hello", body)).await;
    assert_eq!(status, 201, "{shared}");
    assert_eq!((shared["code"].as_str(), shared["scope"].as_str()), (Some("hello"), Some("shared")));
    let (status, again) = send(s, &manager, Method::POST, "/api/v1/quick-replies/shared", reply("hello", "x")).await;
    assert_eq!(
        (status, again["error"]["code"].as_str(), again["error"]["field"].as_str()),
        (409, Some("reply_code_taken"), Some("code"))
    );
    let (status, typo) = send(s, &manager, Method::POST, "/api/v1/quick-replies/shared", reply("t", "{name}")).await;
    assert_eq!((status, typo["error"]["field"].as_str()), (422, Some("bodies")));
    let (status, _) = send(s, &op_token, Method::POST, "/api/v1/quick-replies/shared", reply("mine", "x")).await;
    assert_eq!(status, 403, "an operator does not write shared replies");

    // Filled in the widget's language (Russian), the unknown company left visible.
    let insert = format!("/api/v1/conversations/{c}/quick-replies/{}", shared["id"].as_str().unwrap());
    let (status, filled) = send(s, &op_token, Method::POST, &insert, json!({})).await;
    assert_eq!(status, 200, "{filled}");
    assert_eq!(filled["text"], "Здравствуйте, клиент! Меня зовут Test operator, «{company_name}».");
    assert_eq!((filled["language"].clone(), filled["unfilled"].clone()), (json!("ru"), json!(["company_name"])));

    let named = json!({"name": "Анна Смирнова"});
    let r = s.as_(&op_token, Method::PUT, &format!("/api/v1/conversations/{c}/contact")).json(&named).send().await;
    assert_eq!(r.unwrap().status(), 200);
    let (status, _) = send(s, &admin, Method::PUT, "/api/v1/settings/company", json!({"name": " Ромашка "})).await;
    assert_eq!(status, 200);
    let (_, filled) = send(s, &op_token, Method::POST, &insert, json!({})).await;
    assert_eq!(filled["text"], "Здравствуйте, Анна Смирнова! Меня зовут Test operator, «Ромашка».");
    assert_eq!(filled["unfilled"], json!([]));
    let (_, english) = send(s, &op_token, Method::POST, &insert, json!({"language": "en"})).await;
    assert_eq!(english["text"], "Hello, Анна Смирнова!");

    // Another operator's conversation is not theirs to fill a reply in.
    let other = s.session(&s.employee(Role::Operator, &[]).await).await;
    let (status, _) = send(s, &other, Method::POST, &insert, json!({})).await;
    assert_eq!(status, 404);

    // Counted: three uses by the operator.
    let list = s.get_json(&op_token, "/api/v1/quick-replies").await;
    assert_eq!(list[0]["uses"], 3, "{list}");
    let now = s.clock.now();
    let stats =
        s.get_json(&admin, &format!("/api/v1/statistics/quick-replies?from={}&to={}", now - 86_400_000, now + 1)).await;
    assert_eq!(
        stats["replies"],
        json!([{"id": shared["id"], "scope": "shared", "code": "hello", "title": "Reply Hello", "deleted": false, "uses": 3}])
    );
    let own =
        s.get_json(&other, &format!("/api/v1/statistics/quick-replies?from={}&to={}", now - 86_400_000, now + 1)).await;
    assert_eq!(own["replies"], json!([]), "an operator sees their own uses only");
    let csv = s.as_(
        &admin,
        Method::GET,
        &format!("/api/v1/statistics/quick-replies?from={}&to={}&format=csv", now - 86_400_000, now + 1),
    );
    let csv = csv.send().await.unwrap().text().await.unwrap();
    assert_eq!(csv, "code,title,scope,deleted,uses\nhello,Reply Hello,shared,false,3\n");

    // Shared changes are audited, naming the reply, not its text.
    let audit = s.get_json(&admin, "/api/v1/audit?action=quick_reply.created").await;
    assert_eq!(audit[0]["details"], json!({"code": "hello", "title": "Reply Hello"}));
    let company = s.get_json(&admin, "/api/v1/audit?action=settings.changed").await;
    assert_eq!(company[0]["target"], "company.name");
});

both_backends!(personal_replies_stay_their_owners, |s| {
    let admin = s.session(&s.administrator().await).await;
    let anna = s.session(&s.employee(Role::Operator, &[]).await).await;
    let oleg = s.session(&s.employee(Role::Operator, &[]).await).await;
    let (status, shared) =
        send(s, &admin, Method::POST, "/api/v1/quick-replies/shared", reply("bye", "До свидания!")).await;
    assert_eq!(status, 201);
    let (status, mine) = send(s, &anna, Method::POST, "/api/v1/quick-replies/personal", reply("bye", "Пока!")).await;
    assert_eq!(status, 201, "a personal code may repeat a shared one: {mine}");
    let (status, _) = send(s, &anna, Method::POST, "/api/v1/quick-replies/personal", reply("BYE", "x")).await;
    assert_eq!(status, 409, "but not one of one's own");

    let scopes = |list: Value| -> Vec<(String, String)> {
        list.as_array().unwrap().iter().map(|r| (r["code"].to_string(), r["scope"].to_string())).collect()
    };
    let q = |s: &str| format!("\"{s}\"");
    let annas = s.get_json(&anna, "/api/v1/quick-replies").await;
    assert_eq!(scopes(annas), [(q("bye"), q("shared")), (q("bye"), q("personal"))], "shared first");
    let olegs = s.get_json(&oleg, "/api/v1/quick-replies").await;
    assert_eq!(scopes(olegs), [(q("bye"), q("shared"))], "nobody else's personal replies");

    // Nobody else changes it, and a personal route never reaches a shared reply.
    let path = format!("/api/v1/quick-replies/personal/{}", mine["id"].as_str().unwrap());
    let (status, _) = send(s, &oleg, Method::PUT, &path, reply("bye", "Хаха")).await;
    assert_eq!(status, 404);
    let r = s.as_(&oleg, Method::DELETE, &path).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let shared_path = format!("/api/v1/quick-replies/personal/{}", shared["id"].as_str().unwrap());
    let r = s.as_(&anna, Method::DELETE, &shared_path).send().await.unwrap();
    assert_eq!(r.status(), 404);

    let (status, changed) = send(s, &anna, Method::PUT, &path, reply("later", "До встречи!")).await;
    assert_eq!((status, changed["code"].as_str()), (200, Some("later")));
    let r = s.as_(&anna, Method::DELETE, &path).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let annas = s.get_json(&anna, "/api/v1/quick-replies").await;
    assert_eq!(scopes(annas), [(q("bye"), q("shared"))]);
    let audit = s.get_json(&admin, "/api/v1/audit?action=quick_reply.created").await;
    assert_eq!(audit.as_array().unwrap().len(), 1, "personal replies are not settings: {audit}");
});
