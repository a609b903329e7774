//! Contacts through the API: the list names who each conversation is with
//! (a numbered guest until a name is known), an operator renames the contact
//! of their own conversation, `contacts.edit` is required to edit and the
//! row-level wall holds for reading, and the export holds the contact.

use ostrog_domain::permission::Permission;
use ostrog_domain::role::Role;
use ostrog_testkit::{TestServer, both_backends, grant, revoke};
use reqwest::Method;
use serde_json::{Value, json};

async fn put_contact(s: &TestServer, token: &str, c: &str, body: Value) -> reqwest::Response {
    s.as_(token, Method::PUT, &format!("/api/v1/conversations/{c}/contact")).json(&body).send().await.unwrap()
}

both_backends!(an_operator_names_the_contact_of_their_conversation, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let op = s.employee(Role::Operator, &[]).await;
    let op_token = s.session(&op).await;
    let mut ws = s.operator_ws(&op_token).await;
    ws.send(json!({"type": "presence", "status": "online"})).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c = visitor.say("Здравствуйте").await["conversation_id"].as_str().unwrap().to_string();
    ws.receive("Здравствуйте").await;

    // A guest with a number until someone names them.
    let page = s.get_json(&op_token, "/api/v1/conversations").await;
    assert_eq!(page["items"][0]["id"], c.as_str());
    let label = &page["contacts"][0];
    assert_eq!(
        (label["visitor_id"].clone(), label["name"].clone()),
        (page["items"][0]["visitor_id"].clone(), Value::Null)
    );
    let number = label["number"].as_i64().unwrap();
    assert_eq!(page["previews"], json!([{"conversation_id": c, "text": "Здравствуйте"}]), "the last text");
    assert!(number > 0, "{label}");

    let r = put_contact(s, &op_token, &c, json!({"name": "  Анна   Смирнова ", "email": "anna@example.com"})).await;
    assert_eq!(r.status(), 200);
    let contact: Value = r.json().await.unwrap();
    assert_eq!((contact["name"].as_str(), contact["name_source"].as_str()), (Some("Анна Смирнова"), Some("operator")));
    assert_eq!((contact["email"].as_str(), contact["number"].as_i64()), (Some("anna@example.com"), Some(number)));
    let page = s.get_json(&op_token, "/api/v1/conversations").await;
    assert_eq!(page["contacts"][0]["name"], "Анна Смирнова", "the list shows the name");
    let again = s.get_json(&op_token, &format!("/api/v1/conversations/{c}/contact")).await;
    assert_eq!(again, contact);
    let too_long = put_contact(s, &op_token, &c, json!({"company": "x".repeat(201)})).await;
    assert_eq!(too_long.status(), 422);

    // Audited by field, never by value.
    let audit = s.get_json(&admin, "/api/v1/audit?action=contact.edited").await;
    let entry = audit.as_array().unwrap().iter().find(|e| e["details"]["conversation"] == c.as_str()).unwrap();
    assert_eq!(entry["details"]["fields"], json!(["name", "email"]));
    assert!(!audit.to_string().contains("Смирнова") && !audit.to_string().contains("anna@"), "{audit}");

    // The subject's export holds the contact.
    let visitor_id = page["items"][0]["visitor_id"].as_str().unwrap().to_string();
    let r = s.as_(&admin, Method::GET, &format!("/api/v1/visitors/{visitor_id}/export")).send().await.unwrap();
    let bytes = r.bytes().await.unwrap();
    let mut archive = tar::Archive::new(&bytes[..]);
    let mut subject = String::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().ends_with("subject.json") {
            std::io::Read::read_to_string(&mut entry, &mut subject).unwrap();
        }
    }
    let export: Value = serde_json::from_str(&subject).unwrap();
    assert_eq!(export["contact"]["name"], "Анна Смирнова");
    assert_eq!(export["contact"]["email"], "anna@example.com");
});

both_backends!(editing_a_contact_needs_contacts_edit_and_a_visible_conversation, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c = visitor.say("Добрый день").await["conversation_id"].as_str().unwrap().to_string();

    // Not theirs: an operator with only conversations.own learns nothing.
    let stranger = s.session(&s.employee(Role::Operator, &[]).await).await;
    let r = s.as_(&stranger, Method::GET, &format!("/api/v1/conversations/{c}/contact")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(put_contact(s, &stranger, &c, json!({"name": "X"})).await.status(), 404);

    // Sees every conversation, but may not edit contacts.
    let rights = [grant(Permission::ConversationsAll), revoke(Permission::ContactsEdit)];
    let reader = s.session(&s.employee(Role::Operator, &rights).await).await;
    let r = s.as_(&reader, Method::GET, &format!("/api/v1/conversations/{c}/contact")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(put_contact(s, &reader, &c, json!({"name": "X"})).await.status(), 403);

    let supervisor = s.session(&s.employee(Role::OperatorSupervisor, &[]).await).await;
    assert_eq!(put_contact(s, &supervisor, &c, json!({"name": "Борис"})).await.status(), 200);
    let contact = s.get_json(&reader, &format!("/api/v1/conversations/{c}/contact")).await;
    assert_eq!(contact["name"], "Борис");
});

both_backends!(a_search_by_name_stays_within_what_the_employee_may_see, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let op = s.employee(Role::Operator, &[]).await;
    let op_token = s.session(&op).await;
    let mut ws = s.operator_ws(&op_token).await;
    ws.send(json!({"type": "presence", "status": "online"})).await;
    // Routed to the operator: theirs.
    let (mut mine, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let own = mine.say("Первый вопрос").await["conversation_id"].as_str().unwrap().to_string();
    ws.receive("Первый вопрос").await;
    // Routed to them too, then handed to a colleague: not theirs.
    let (mut other, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let queued = other.say("Второй вопрос").await["conversation_id"].as_str().unwrap().to_string();
    ws.receive("Второй вопрос").await;
    let colleague = s.employee(Role::Operator, &[]).await;
    let to = json!({"to": colleague.id().to_string()});
    let r = s.as_(&admin, Method::POST, &format!("/api/v1/conversations/{queued}/transfer")).json(&to).send();
    assert_eq!(r.await.unwrap().status(), 200);
    for (c, name) in [(&own, "Евдокия Лопухина"), (&queued, "Евдокия Стрешнева")] {
        assert_eq!(put_contact(s, &admin, c, json!({"name": name})).await.status(), 200);
    }

    let ids = |v: Vec<Value>| v.iter().map(|c| c["id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let mut everyone = ids(s.search(&admin, "евдокия").await);
    everyone.sort();
    let mut both = vec![own.clone(), queued.clone()];
    both.sort();
    assert_eq!(everyone, both, "conversations.all finds both by the first name");
    assert_eq!(ids(s.search(&op_token, "евдокия").await), std::slice::from_ref(&own), "the operator only their own");
    assert!(s.search(&op_token, "стрешнева").await.is_empty(), "nor learns of the other by its name");
    assert_eq!(ids(s.search(&admin, "лопухина вопрос").await), [own], "a name's word and a text's word together");
});
