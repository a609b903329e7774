//! Bulk actions as an operator takes them at the end of a rush: "Select",
//! tick two of three conversations, put a label on both, close both; the
//! third stays open, and the closed tab holds the two — in Russian on a
//! desktop and in English on a phone.

use ostrog_domain::role::Role;
use ostrog_e2e::sign_in::sign_in;
use ostrog_e2e::{Driver, PATIENCE, eventually, no_csp_violations};
use ostrog_testkit::{Backend, TestServer};
use reqwest::Method;
use serde_json::json;

struct Words {
    connected: &'static str,
    label: &'static str,
    done: &'static str,
}

const RU: Words =
    Words { connected: "Подключено", label: "Решено", done: "Выполнено для 2 из 2." };
const EN: Words = Words { connected: "Connected", label: "Solved", done: "Done for 2 of 2." };

async fn an_operator_labels_and_closes_two_conversations_at_once(lang: &str, width: u32, height: u32) {
    let words = if lang == "en" { EN } else { RU };
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    s.set_language(&admin, lang).await;
    let r = s.as_(&admin, Method::POST, "/api/v1/labels").json(&json!({"name": words.label, "colour": "green"}));
    assert_eq!(r.send().await.unwrap().status(), 201);
    let (widget, _) = s.widget(&admin).await;
    let driver = Driver::start().await;
    let operator = s.employee(Role::Operator, &[]).await;
    let op = driver.browser(width, height).await;
    sign_in(&s, &op, &operator).await;
    op.text_in(".connection", words.connected).await;
    let mut visitors = vec![];
    for text in ["alpha question", "beta question", "gamma question"] {
        let (mut v, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
        v.say(text).await;
        visitors.push(v);
    }
    let count = "return document.querySelectorAll('#conversation-list .conversation-item').length";
    eventually("three conversations listed", PATIENCE, || async { op.run(count).await == json!(3) }).await;

    op.click("#bulk-toggle").await;
    for word in ["alpha", "beta"] {
        op.run(&format!("[...document.querySelectorAll('#conversation-list li')].find(li => li.textContent.includes('{word}')).querySelector('.bulk-check').click()")).await;
    }
    op.text_in("#bulk-count", "2").await;
    op.click("#bulk-label-add").await;
    op.text_in("#bulk-result", words.done).await;
    let labelled = "return [...document.querySelectorAll('#conversation-list li')].filter(li => li.querySelector('.labels')).map(li => li.textContent).join('|')";
    eventually("both labelled", PATIENCE, || async {
        op.run(labelled)
            .await
            .as_str()
            .is_some_and(|t| t.contains("alpha") && t.contains("beta") && !t.contains("gamma"))
    })
    .await;
    op.screenshot(&format!("bulk-labelled-{lang}-{width}")).await;
    op.click("#bulk-close").await;
    op.text_in("#bulk-result", words.done).await;
    eventually("only gamma left open", PATIENCE, || async { op.run(count).await == json!(1) }).await;
    op.text_in("#conversation-list", "gamma").await;
    op.screenshot(&format!("bulk-closed-{lang}-{width}")).await;
    op.click("#tab-closed").await;
    eventually("the closed tab holds both", PATIENCE, || async { op.run(count).await == json!(2) }).await;

    no_csp_violations(&s);
    crate::no_console_errors(&driver, &[&op]).await;
    op.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_closes_two_conversations_at_once_in_russian_on_a_desktop() {
    an_operator_labels_and_closes_two_conversations_at_once("ru", 1440, 900).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_closes_two_conversations_at_once_in_english_on_a_phone() {
    an_operator_labels_and_closes_two_conversations_at_once("en", 390, 844).await;
}
