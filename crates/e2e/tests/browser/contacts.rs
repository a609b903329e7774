//! Who a conversation is with, and finding it again: the list names a new
//! visitor as a numbered guest, the operator names the contact in the
//! contact panel, closes the conversation, and finds it again by a word of
//! its text and by the contact's name — in Russian on a desktop and in
//! English on a phone.

use ostrog_domain::role::Role;
use ostrog_e2e::sign_in::sign_in;
use ostrog_e2e::{Driver, no_csp_violations};
use ostrog_testkit::{Backend, TestServer};
use reqwest::Method;

struct Words {
    connected: &'static str,
    guest: &'static str,
    saved: &'static str,
}

const RU: Words = Words { connected: "Подключено", guest: "Гость", saved: "Сохранено." };
const EN: Words = Words { connected: "Connected", guest: "Guest", saved: "Saved." };

async fn an_operator_names_a_contact_and_finds_the_closed_conversation(lang: &str, width: u32, height: u32) {
    let words = if lang == "en" { EN } else { RU };
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    if lang == "en" {
        let body = serde_json::json!({"language": "en"});
        let r = s.as_(&admin, Method::PUT, "/api/v1/settings/language").json(&body).send().await.unwrap();
        assert_eq!(r.status(), 204);
    }
    let (widget, _) = s.widget(&admin).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    let b = driver.browser(width, height).await;
    sign_in(&s, &b, &operator).await;
    b.text_in(".connection", words.connected).await;

    let (mut visitor, _) = s.visitor(&widget, serde_json::json!({"type": "hello", "v": 1})).await;
    visitor.say("Where is my parcel 7731?").await;
    // A numbered guest, never a piece of an id.
    let title = b.text_in("#conversation-list .conversation-item .title", words.guest).await;
    assert!(title.trim_start_matches(words.guest).trim().parse::<u64>().is_ok(), "{title}");
    // The list shows the last message on one line.
    b.text_in("#conversation-list .conversation-item .preview", "Where is my parcel 7731?").await;
    b.click("#conversation-list button.conversation-item").await;
    b.text_in("#messages", "parcel 7731").await;

    b.click("#contact-panel summary").await;
    b.fill("#contact-name", "Marfa Ignatova").await;
    b.fill("#contact-email", "marfa@example.com").await;
    b.screenshot(&format!("contact-panel-{lang}-{width}")).await;
    b.click("#contact-save").await;
    b.text_in("#contact-panel .ok", words.saved).await;
    b.text_in(".conversation-header h2", "Marfa Ignatova").await;
    b.text_in("#conversation-list .conversation-item .title", "Marfa Ignatova").await;
    b.screenshot(&format!("contact-named-{lang}-{width}")).await;

    b.click("#close").await;
    b.find("#tab-closed").await;
    // Found again by a word of its text…
    b.fill("#conversation-search", "parcel").await;
    b.text_in("#conversation-list .conversation-item .title", "Marfa Ignatova").await;
    b.screenshot(&format!("search-by-text-{lang}-{width}")).await;
    // …and by the contact's name, and it opens.
    b.fill("#conversation-search", "ignatova").await;
    b.text_in("#conversation-list .conversation-item .title", "Marfa Ignatova").await;
    b.click("#conversation-list button.conversation-item").await;
    b.text_in("#messages", "parcel 7731").await;
    b.screenshot(&format!("search-by-name-{lang}-{width}")).await;
    no_csp_violations(&s);
    crate::no_console_errors(&driver, &[&b]).await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_names_a_contact_and_finds_it_again_in_russian_on_a_desktop() {
    an_operator_names_a_contact_and_finds_the_closed_conversation("ru", 1280, 860).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_names_a_contact_and_finds_it_again_in_english_on_a_phone() {
    an_operator_names_a_contact_and_finds_the_closed_conversation("en", 390, 844).await;
}
