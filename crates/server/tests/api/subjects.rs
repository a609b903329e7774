//! Data subjects' rights on both backends: consent before writing,
//! requests with deadlines, the export of one subject's data, retention
//! with its dry run, and the trail of who read whose personal data.

use ostrog_domain::clock::{HOUR, SECOND};
use ostrog_domain::privacy::DAY;
use ostrog_domain::role::Role;
use ostrog_testkit::{TestServer, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use std::io::Read;

fn sign(user: &str, key: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&hex::decode(key).unwrap()).unwrap();
    mac.update(user.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn put(s: &TestServer, token: &str, path: &str, body: Value) -> Value {
    let r = s.as_(token, Method::PUT, path).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200, "PUT {path}");
    r.json().await.unwrap()
}

/// The files of a tar archive, by path.
fn untar(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut archive = tar::Archive::new(bytes);
    let mut out = std::collections::BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        let mut content = vec![];
        entry.read_to_end(&mut content).unwrap();
        out.insert(path, content);
    }
    out
}

both_backends!(consent_comes_before_the_first_message_and_its_withdrawal_schedules_erasure, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let text = "Я даю согласие ООО «Ромашка» на обработку персональных данных.";
    let body = json!({"required": true, "text": text, "withdrawal_days": 10});
    assert_eq!(put(s, &admin, "/api/v1/settings/consent", body).await["version"], 1);
    let long = json!({"required": true, "text": text, "withdrawal_days": 31});
    let r = s.as_(&admin, Method::PUT, "/api/v1/settings/consent").json(&long).send().await.unwrap();
    assert_eq!(r.status(), 422, "30 days at most");

    let (mut visitor, welcome) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    assert_eq!(welcome["consent"], json!({"version": 1, "text": text, "required": true, "given": false}));
    let visitor_token = welcome["token"].as_str().unwrap().to_string();
    visitor.send(json!({"type": "send", "client_id": uuid::Uuid::new_v4(), "text": "Здравствуйте"})).await;
    assert_eq!(visitor.expect("error").await["code"], "consent_required");
    visitor.send(json!({"type": "consent", "version": 7, "accepted": true})).await;
    assert_eq!(visitor.expect("error").await["code"], "consent_outdated");
    visitor.send(json!({"type": "consent", "version": 1, "accepted": true})).await;
    assert_eq!(visitor.expect("consent").await["accepted"], true);
    let c = visitor.say("Здравствуйте").await["conversation_id"].as_str().unwrap().to_string();

    // The acceptance is kept with its version, its text, its source and the IP.
    let conversation = s.get_json(&admin, &format!("/api/v1/conversations/{c}")).await;
    let subject = conversation["visitor_id"].as_str().unwrap().to_string();
    let r = s.as_(&admin, Method::GET, &format!("/api/v1/visitors/{subject}/export")).send().await.unwrap();
    let files = untar(&r.bytes().await.unwrap());
    let export: Value = serde_json::from_slice(&files["subject.json"]).unwrap();
    let consent = &export["consents"][0];
    assert_eq!((consent["version"].as_u64(), consent["accepted"].as_bool()), (Some(1), Some(true)));
    assert_eq!((consent["text"].as_str(), consent["source"].as_str()), (Some(text), Some("widget")));
    assert_eq!(consent["ip"], "127.0.0.1");

    // A new text is a new version, which is asked for anew.
    let body = json!({"required": true, "text": format!("{text} Редакция 2."), "withdrawal_days": 10});
    assert_eq!(put(s, &admin, "/api/v1/settings/consent", body).await["version"], 2);
    let token = s.visitor(&widget, json!({"type": "hello", "v": 1})).await.1["token"].clone();
    let (mut back, welcome) = s.visitor(&widget, json!({"type": "hello", "v": 1, "token": token})).await;
    assert_eq!(welcome["consent"]["given"], false);
    back.send(json!({"type": "send", "client_id": uuid::Uuid::new_v4(), "text": "снова я"})).await;
    assert_eq!(back.expect("error").await["code"], "consent_required");

    // Withdrawing schedules the erasure within the configured period.
    visitor.send(json!({"type": "consent", "version": 2, "accepted": false})).await;
    assert_eq!(visitor.expect("consent").await["accepted"], false);
    let requests = s.get_json(&admin, "/api/v1/personal-data/requests?open=true").await;
    let mine: Vec<&Value> =
        requests.as_array().unwrap().iter().filter(|r| r["visitor_id"] == subject.as_str()).collect();
    assert_eq!(mine.len(), 1, "{requests}");
    assert_eq!((mine[0]["kind"].as_str(), mine[0]["basis"].as_str()), (Some("erasure"), Some("consent_withdrawn")));
    let due = mine[0]["due_at"].as_i64().unwrap() - mine[0]["received_at"].as_i64().unwrap();
    assert_eq!(due, 10 * DAY);
    visitor.send(json!({"type": "send", "client_id": uuid::Uuid::new_v4(), "text": "ещё"})).await;
    assert_eq!(visitor.expect("error").await["code"], "consent_required", "no writing after withdrawal");
    let file = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(b"%PDF-1.4 x".to_vec()).file_name("scan.pdf"));
    let r = s.as_(&visitor_token, Method::POST, &format!("/api/v1/widget/{widget}/files")).multipart(file).send();
    let r = r.await.unwrap();
    assert_eq!(r.status(), 409, "nor sending files");
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "consent_required");

    // Consent given again: the scheduled erasure is off, writing is back.
    visitor.send(json!({"type": "consent", "version": 2, "accepted": true})).await;
    assert_eq!(visitor.expect("consent").await["accepted"], true);
    let requests = s.get_json(&admin, "/api/v1/personal-data/requests").await;
    let mine: Vec<&Value> =
        requests.as_array().unwrap().iter().filter(|r| r["visitor_id"] == subject.as_str()).collect();
    assert_eq!(mine[0]["status"], "rejected", "{requests}");
    visitor.say("снова согласен").await;
});

both_backends!(an_export_holds_everything_about_its_subject_and_nothing_else, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, secret) = s.widget(&admin).await;
    let hello =
        json!({"type": "hello", "v": 1, "identity": {"user_id": "crm-42", "signature": sign("crm-42", &secret)}});
    let (mut a, welcome) = s.visitor(&widget, hello).await;
    let subject = welcome["visitor_id"].as_str().unwrap().to_string();
    let c = a.say("Мой паспорт 4510 123456").await["conversation_id"].as_str().unwrap().to_string();
    let (mut b, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    b.say("Чужой секрет 9999").await;
    let reply = json!({"client_id": uuid::Uuid::new_v4(), "text": "Паспорт получен"});
    s.as_(&admin, Method::POST, &format!("/api/v1/conversations/{c}/messages")).json(&reply).send().await.unwrap();

    let request = json!({"visitor_id": subject, "kind": "access", "note": "письмо № 17"});
    let r = s.as_(&admin, Method::POST, "/api/v1/personal-data/requests").json(&request).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let opened: Value = r.json().await.unwrap();
    let span = opened["due_at"].as_i64().unwrap() - opened["received_at"].as_i64().unwrap();
    assert!((12 * DAY..=16 * DAY).contains(&span), "10 working days: {span}");

    let operator = s.session(&s.employee(Role::Operator, &[]).await).await;
    let path = format!("/api/v1/visitors/{subject}/export");
    assert_eq!(s.as_(&operator, Method::GET, &path).send().await.unwrap().status(), 403);
    let r = s.as_(&admin, Method::GET, &path).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/x-tar");
    let files = untar(&r.bytes().await.unwrap());
    let export: Value = serde_json::from_slice(&files["subject.json"]).unwrap();
    assert_eq!(export["subject"]["external_id"], "crm-42");
    let texts: Vec<&str> = export["messages"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, vec!["Мой паспорт 4510 123456", "Паспорт получен"], "unmasked, both sides");
    let whole = String::from_utf8_lossy(&files["subject.json"]).into_owned();
    assert!(!whole.contains("Чужой") && !whole.contains("9999"), "nothing about anyone else");
    assert_eq!(export["requests"][0]["kind"], "access", "the request itself is part of what is held");
    let requests = s.get_json(&admin, "/api/v1/personal-data/requests").await;
    let answered = requests.as_array().unwrap().iter().find(|r| r["id"] == opened["id"]).unwrap();
    assert_eq!(answered["status"], "done", "the export answered the request");

    // Who read whose data: a trail of its own, chained.
    let trail = s.get_json(&admin, &format!("/api/v1/audit?trail=personal_data&target=visitor:{subject}")).await;
    let actions: Vec<&str> = trail.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"subject.exported"), "{actions:?}");
    assert!(!trail.to_string().contains("4510"), "the trail names what was read, never the data");
    s.get_json(&admin, &format!("/api/v1/conversations/{c}/messages")).await;
    let trail = s
        .get_json(&admin, &format!("/api/v1/audit?trail=personal_data&action=transcript.read&target=visitor:{subject}"))
        .await;
    assert_eq!(trail.as_array().map(Vec::len), Some(1), "reading the transcript is recorded");
    assert_eq!(s.get_json(&admin, "/api/v1/audit/chain?trail=personal_data").await["intact"], true);
    let security = s.get_json(&admin, "/api/v1/audit?action=transcript.read").await;
    assert_eq!(security, json!([]), "apart from the security trail");
    assert_eq!(s.as_(&operator, Method::GET, "/api/v1/audit?trail=personal_data").send().await.unwrap().status(), 403);
});

both_backends!(retention_destroys_what_is_due_and_its_dry_run_says_so_first, |s| {
    let administrator = s.administrator().await;
    let admin = s.session(&administrator).await;
    let (widget, _) = s.widget(&admin).await;
    let body = json!({"closed_conversation_days": 1, "silent_visitor_days": 2});
    put(s, &admin, "/api/v1/settings/retention", body).await;
    let visitor_of = |welcome: &Value| welcome["visitor_id"].as_str().unwrap().to_string();

    let (mut closed, w) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let closed_id = visitor_of(&w);
    let c = closed.say("закрытый").await["conversation_id"].as_str().unwrap().to_string();
    for step in ["take", "close"] {
        let r = s.as_(&admin, Method::POST, &format!("/api/v1/conversations/{c}/{step}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{step}");
    }
    let (mut open, w) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let open_id = visitor_of(&w);
    open.say("открытый").await;
    let silent_id = visitor_of(&s.visitor(&widget, json!({"type": "hello", "v": 1})).await.1);
    s.clock.advance(DAY + HOUR);
    let newer_id = visitor_of(&s.visitor(&widget, json!({"type": "hello", "v": 1})).await.1);
    s.clock.advance(DAY + SECOND);
    // Two days on, the morning's session has long expired.
    let admin = s.session(&administrator).await;

    let preview = s.get_json(&admin, "/api/v1/personal-data/retention/preview").await;
    let ours = |list: &Value| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["visitor_id"].as_str().unwrap().to_string(), p["reason"].as_str().unwrap().to_string()))
            .filter(|(id, _)| [&closed_id, &open_id, &silent_id, &newer_id].contains(&id))
            .collect();
        v.sort();
        v
    };
    let mut expected =
        vec![(closed_id.clone(), "conversation_closed".to_string()), (silent_id.clone(), "silent_visitor".to_string())];
    expected.sort();
    assert_eq!(ours(&preview), expected, "{preview}");
    assert_eq!(
        s.get_json(&admin, &format!("/api/v1/conversations/{c}")).await["id"],
        c.as_str(),
        "a dry run destroys nothing"
    );

    let r = s.as_(&admin, Method::POST, "/api/v1/personal-data/retention/run").send().await.unwrap();
    let done: Value = r.json().await.unwrap();
    assert_eq!(ours(&done), expected, "the run did what the dry run said");
    let r = s.as_(&admin, Method::GET, &format!("/api/v1/conversations/{c}")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(s.search(&admin, "открытый").await.len(), 1, "not due: kept");
    assert_eq!(ours(&s.get_json(&admin, "/api/v1/personal-data/retention/preview").await), vec![]);
    let runs = s.get_json(&admin, "/api/v1/audit?action=retention.run").await;
    assert_eq!(runs[0]["details"]["erased"].as_u64(), Some(done.as_array().unwrap().len() as u64));
    let acts = s.get_json(&admin, "/api/v1/personal-data/acts").await;
    assert!(acts.as_array().unwrap().iter().any(|a| a["details"]["basis"] == "retention_expired"), "{acts}");
});
