//! The contact panel's context: a visitor on the company's pricing page
//! sends a picture, the operator closes the conversation and the visitor
//! rates it; the visitor writes again, and the operator, in the reopened
//! conversation, finds the earlier one in the panel with its date and
//! outcome, opens it read-only (its transcript, no composer), and sees the
//! page the visitor came from, their browser and the file — in Russian on
//! a desktop and in English on a phone.

use ostrog_domain::role::Role;
use ostrog_e2e::company::{company_site, open_widget, serve_company_page, write};
use ostrog_e2e::sign_in::sign_in;
use ostrog_e2e::{Driver, PATIENCE, eventually, no_csp_violations};
use ostrog_testkit::{Backend, TestServer};
use reqwest::Method;

struct Words {
    connected: &'static str,
    earlier: &'static str,
    closed_by: &'static str,
    rated: &'static str,
    read_only: &'static str,
    scanned: &'static str,
}

const RU: Words = Words {
    connected: "Подключено",
    earlier: "Прошлые диалоги (1)",
    closed_by: "Закрыт: ",
    rated: "оценка 5 из 5",
    read_only: "только чтение",
    scanned: "проверен антивирусом",
};
const EN: Words = Words {
    connected: "Connected",
    earlier: "Earlier conversations (1)",
    closed_by: "Closed by ",
    rated: "rated 5 of 5",
    read_only: "read only",
    scanned: "checked by the antivirus",
};

async fn the_panel_lists_the_earlier_conversation(lang: &str, width: u32, height: u32) {
    let words = if lang == "en" { EN } else { RU };
    let clamd = ostrog_testkit::clamd::Clamd::start();
    let socket = clamd.socket.clone();
    let s = TestServer::start_with(Backend::Sqlite, move |c| c.scanner.socket = socket).await;
    let admin = s.session(&s.administrator().await).await;
    if lang == "en" {
        let r = s.as_(&admin, Method::PUT, "/api/v1/settings/language").json(&serde_json::json!({"language": "en"}));
        assert_eq!(r.send().await.unwrap().status(), 204);
    }
    let (shop, site) = company_site().await;
    let body = serde_json::json!({"name": "Shop", "greeting": "Hi", "allowed_origins": [shop], "language": lang});
    let r = s.as_(&admin, Method::POST, "/api/v1/widgets").json(&body).send().await.unwrap();
    let widget = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let page = serve_company_page(site, &s.url, &widget);
    let dir = std::env::temp_dir().join(format!("ostrog-e2e-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("receipt.png");
    image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])).save(&photo).unwrap();

    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    let op = driver.browser(width, height).await;
    sign_in(&s, &op, &operator).await;
    op.text_in(".connection", words.connected).await;

    // The first conversation, from the pricing page, with a picture; closed and rated.
    let visitor = open_widget(&driver, &format!("{shop}/pricing"), 1280, 860).await;
    write(&visitor, "Do you deliver to Kazan?").await;
    visitor.find("#widget-attach").await.send_keys(photo.to_str().unwrap()).await.unwrap();
    op.click("#conversation-list button.conversation-item").await;
    op.text_in("#messages", "Kazan").await;
    op.text_in("#messages .file", "receipt.png").await;
    op.click("#close").await;
    visitor.click("#rating button[data-rating='5']").await;
    visitor.click("#rating-send").await;
    visitor.find("#messages").await;

    // The visitor writes again: the conversation reopens and comes back to the operator.
    write(&visitor, "And to Tver?").await;
    op.click("#tab-mine").await;
    op.text_in("#conversation-list .conversation-item .preview", "Tver").await;
    op.click("#conversation-list button.conversation-item").await;
    op.text_in("#messages", "Tver").await;

    // The panel lists the earlier conversation with its date and outcome.
    op.text_in("#contact-history summary", words.earlier).await;
    op.click("#contact-history summary").await;
    let line = op.text_in("#contact-history .past-conversation", words.closed_by).await;
    assert!(line.contains(&operator.employee.name) && line.contains(words.rated), "{line}");
    op.screenshot(&format!("contact-history-{lang}-{width}")).await;

    // It opens read-only: its transcript, not the new question, and no composer.
    op.click("#contact-history .past-conversation").await;
    op.text_in("#past-conversation", words.read_only).await;
    op.text_in("#past-conversation .messages", "Kazan").await;
    op.text_in("#past-conversation .messages", "receipt.png").await;
    let shown = op.run("return document.querySelector('#past-conversation .messages').textContent").await;
    assert!(!shown.as_str().unwrap().contains("Tver"), "{shown}");
    let composer =
        op.run("return document.querySelectorAll('#past-conversation textarea, #past-conversation form').length").await;
    assert_eq!(composer, 0, "read-only: no composer");
    op.screenshot(&format!("contact-history-transcript-{lang}-{width}")).await;
    op.click("#past-conversation-close").await;
    eventually("the dialog closed", PATIENCE, || async { !op.has("#past-conversation").await }).await;

    // The page the visitor came from and their browser, and the file.
    op.click("#contact-panel summary").await;
    op.text_in("#contact-visit", &format!("{shop}/pricing")).await;
    op.text_in("#contact-visit", "Chrome").await;
    op.screenshot(&format!("contact-visit-{lang}-{width}")).await;
    op.click("#contact-files summary").await;
    let file = op.text_in("#contact-files li", "receipt.png").await;
    assert!(file.contains(words.scanned), "{file}");
    op.run("document.querySelector('#contact-files').scrollIntoView({block: 'center'})").await;
    op.screenshot(&format!("contact-files-{lang}-{width}")).await;

    no_csp_violations(&s);
    crate::no_console_errors(&driver, &[&op, &visitor]).await;
    op.close().await;
    visitor.close().await;
    page.abort();
    let _ = std::fs::remove_dir_all(&dir);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contact_panel_lists_earlier_conversations_in_russian_on_a_desktop() {
    the_panel_lists_the_earlier_conversation("ru", 1280, 860).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contact_panel_lists_earlier_conversations_in_english_on_a_phone() {
    the_panel_lists_the_earlier_conversation("en", 390, 844).await;
}
