//! The contact panel's context through the API: the page and browser a
//! widget visitor wrote from (sealed, exported), their earlier
//! conversations with dates and outcomes (each readable by its range of
//! sequence numbers), and the files exchanged — all within what the
//! employee may see. On SQLite and PostgreSQL.

use crate::files::{form, png, post, server};
use ostrog_domain::role::Role;
use ostrog_testkit::clamd::Clamd;
use ostrog_testkit::{Backend, ORIGIN, TestServer, assert_not_in_dump, ws};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) OstrogTest/20.1";

/// A visitor on the widget from a page, with a browser of its own.
async fn visitor_on_page(s: &TestServer, widget: &str, page: &str) -> (ws::Ws, Value) {
    let url = s.ws_url(&format!("/api/v1/widget/{widget}/ws"));
    let mut socket = ws::Ws::connect(&url, &[("origin", ORIGIN), ("user-agent", BROWSER)]).await.unwrap();
    socket.send(json!({"type": "hello", "v": 1, "page": page})).await;
    let welcome = socket.expect("welcome").await;
    (socket, welcome)
}

/// Waits (with a deadline) until `path` answers something `done` accepts.
async fn until(s: &TestServer, token: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let v = s.get_json(token, path).await;
        if done(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never got there: {}", s.get_json(token, path).await);
}

async fn the_panel_shows_the_visit_the_earlier_conversation_and_the_files(backend: Backend) {
    let clamd = Clamd::start();
    let s = server(backend, &clamd, |_| {}).await;
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let op = s.employee(Role::Operator, &[]).await;
    let op_token = s.session(&op).await;
    let mut op_ws = s.operator_ws(&op_token).await;
    op_ws.send(json!({"type": "presence", "status": "online"})).await;

    // The first conversation: a file each way, closed by the operator, rated.
    let page = "https://shop.example/pricing?coupon=SECRET-7731#plans";
    let (mut visitor, welcome) = visitor_on_page(&s, &widget, page).await;
    let token = welcome["token"].as_str().unwrap().to_string();
    let c = visitor.say("Do you ship to Kazan?").await["conversation_id"].as_str().unwrap().to_string();
    op_ws.receive("Do you ship to Kazan?").await;
    let (status, _) = post(&s, &token, &format!("/api/v1/widget/{widget}/files"), form("receipt.png", png())).await;
    assert_eq!(status, 200);
    let (status, _) =
        post(&s, &op_token, &format!("/api/v1/conversations/{c}/files"), form("tariffs.png", png())).await;
    assert_eq!(status, 200);
    let r = s.as_(&op_token, Method::POST, &format!("/api/v1/conversations/{c}/close")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    visitor.expect("closed").await;
    visitor.send(json!({"type": "rate", "rating": 4})).await;
    visitor.expect("rated").await;

    // The contact shows the page (without its query) and the browser.
    let contact = s.get_json(&op_token, &format!("/api/v1/conversations/{c}/contact")).await;
    assert_eq!(contact["page"], "https://shop.example/pricing");
    assert_eq!(contact["browser"], BROWSER);

    // Writing again from another page reopens the conversation: a new round.
    drop(visitor);
    let mut again = {
        let url = s.ws_url(&format!("/api/v1/widget/{widget}/ws"));
        let mut socket = ws::Ws::connect(&url, &[("origin", ORIGIN), ("user-agent", BROWSER)]).await.unwrap();
        socket.send(json!({"type": "hello", "v": 1, "token": token, "page": "https://shop.example/cart"})).await;
        socket.expect("welcome").await;
        socket
    };
    again.say("And to Tver?").await;
    let path = format!("/api/v1/conversations/{c}/contact/conversations");
    let rounds = until(&s, &op_token, &path, |v| v["items"].as_array().is_some_and(|i| i.len() == 2)).await;
    let (now, earlier) = (&rounds["items"][0], &rounds["items"][1]);
    assert_eq!((now["current"].as_bool(), now["to_seq"].clone()), (Some(true), Value::Null), "{rounds}");
    assert_eq!(earlier["current"], false);
    assert_eq!((earlier["after_seq"].as_i64(), earlier["rating"].as_i64()), (Some(0), Some(4)), "{rounds}");
    assert_eq!(earlier["closed_by"], op.id().to_string());
    assert_eq!(earlier["closed_by_name"].as_str(), Some(op.employee.name.as_str()));
    assert!(earlier["closed_at"].as_i64().unwrap() >= earlier["started_at"].as_i64().unwrap());
    assert_eq!(now["after_seq"], earlier["to_seq"], "the new round follows the closing");
    // The visit is kept right after the message is handed to the writer, so
    // it may land a moment after the acknowledgement.
    let contact_path = format!("/api/v1/conversations/{c}/contact");
    let contact = until(&s, &op_token, &contact_path, |v| v["page"] == "https://shop.example/cart").await;
    assert_eq!(contact["page"], "https://shop.example/cart", "the latest visit in which they wrote");

    // The earlier round reads back by its range, read-only: texts and files, not the new question.
    let to = earlier["to_seq"].as_i64().unwrap();
    let transcript =
        s.get_json(&op_token, &format!("/api/v1/conversations/{c}/messages?after=0&before={}", to + 1)).await;
    let text = transcript.to_string();
    assert!(text.contains("Kazan") && text.contains("receipt.png") && !text.contains("Tver"), "{text}");

    // The files, newest first, scanned, from whom.
    let files = s.get_json(&op_token, &format!("/api/v1/conversations/{c}/contact/files")).await;
    let items = files["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["tariffs.png", "receipt.png"], "{files}");
    assert_eq!((items[1]["from"].as_str(), items[0]["from"].as_str()), (Some("visitor"), Some("employee")));
    assert_eq!((items[0]["scan"].as_str(), items[0]["size"].as_u64()), (Some("clean"), Some(png().len() as u64)));
    let id = items[1]["file_id"].as_str().unwrap();
    let r = s.as_(&op_token, Method::GET, &format!("/api/v1/files/{id}")).send().await.unwrap();
    assert_eq!(r.status(), 200, "downloads through the file endpoint");

    // Another operator, who may not see the conversation, learns nothing.
    let stranger = s.session(&s.employee(Role::Operator, &[]).await).await;
    for part in ["contact/conversations", "contact/files"] {
        let r = s.as_(&stranger, Method::GET, &format!("/api/v1/conversations/{c}/{part}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "{part}");
    }

    // The visit is sealed at rest, and goes into the subject's export.
    let dump = s.dump().await;
    for secret in ["shop.example/cart", "shop.example/pricing", "OstrogTest/20.1"] {
        assert_not_in_dump(&dump, secret);
    }
    let visitor_id = welcome["visitor_id"].as_str().unwrap();
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
    assert_eq!(
        (export["contact"]["page"].as_str(), export["contact"]["browser"].as_str()),
        (Some("https://shop.example/cart"), Some(BROWSER))
    );
    let _ = &mut op_ws;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_shows_the_visit_the_earlier_conversation_and_the_files_on_sqlite() {
    the_panel_shows_the_visit_the_earlier_conversation_and_the_files(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_shows_the_visit_the_earlier_conversation_and_the_files_on_postgres() {
    the_panel_shows_the_visit_the_earlier_conversation_and_the_files(Backend::Postgres).await;
}
