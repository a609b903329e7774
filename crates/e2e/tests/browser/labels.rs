//! Labels as people use them: a manager adds a label on the security page
//! (a taken name is refused next to the field), an operator marks a
//! conversation with it from the open conversation, sees the chip in the
//! list, and filters the list down to the conversations that carry it; the
//! manager's statistics count it — in
//! Russian on a desktop and in English on a phone.

use ostrog_domain::role::Role;
use ostrog_e2e::sign_in::sign_in;
use ostrog_e2e::{Driver, PATIENCE, eventually, no_csp_violations};
use ostrog_testkit::{Backend, TestServer};
use reqwest::Method;
use serde_json::json;

struct Words {
    payment: &'static str,
    complaint: &'static str,
    taken: &'static str,
    connected: &'static str,
}

const RU: Words = Words {
    payment: "Оплата", complaint: "Жалоба", taken: "уже есть", connected: "Подключено"
};
const EN: Words = Words { payment: "Payment", complaint: "Complaint", taken: "already exists", connected: "Connected" };

async fn an_operator_labels_a_conversation_and_filters_by_it(lang: &str, width: u32, height: u32) {
    let words = if lang == "en" { EN } else { RU };
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    s.set_language(&admin, lang).await;
    let r = s.as_(&admin, Method::POST, "/api/v1/labels").json(&json!({"name": words.complaint, "colour": "red"}));
    assert_eq!(r.send().await.unwrap().status(), 201);
    let (widget, _) = s.widget(&admin).await;
    let driver = Driver::start().await;

    // The manager adds the label; the same name again is refused at the field.
    let manager = s.employee(Role::Manager, &[]).await;
    let m = driver.browser(width, height).await;
    sign_in(&s, &m, &manager).await;
    m.section("security").await;
    m.fill("#label-new-name", words.payment).await;
    m.run("document.getElementById('label-new-colour').value = 'green'").await;
    m.click("#label-add").await;
    m.text_in("#labels-settings .label-list", words.payment).await;
    m.fill("#label-new-name", &words.payment.to_uppercase()).await;
    m.click("#label-add").await;
    m.text_in("#label-new-error", words.taken).await;
    let refused = crate::console_errors(&driver, &m).await;
    assert!(refused.len() == 1 && refused[0].contains("409"), "only the refusal shown: {refused:?}");
    m.run("document.getElementById('labels-settings').scrollIntoView()").await;
    m.screenshot(&format!("labels-settings-{lang}-{width}")).await;

    // Two clients write; the operator marks the first one's conversation.
    let operator = s.employee(Role::Operator, &[]).await;
    let op = driver.browser(width, height).await;
    sign_in(&s, &op, &operator).await;
    op.text_in(".connection", words.connected).await;
    let (mut first, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    first.say("Не проходит оплата картой").await;
    let (mut second, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    second.say("Когда доставка?").await;
    eventually("both conversations listed", PATIENCE, || async {
        op.run("return document.querySelectorAll('#conversation-list .conversation-item').length").await == json!(2)
    })
    .await;
    op.run("[...document.querySelectorAll('#conversation-list .conversation-item')].find(b => b.textContent.includes('оплата')).click()").await;
    op.text_in("#messages", "оплата").await;
    op.click("#edit-labels").await;
    op.run(&format!("[...document.querySelectorAll('.label-picker label')].find(l => l.textContent.includes('{}')).querySelector('input').click()", words.payment)).await;
    op.text_in("#conversation-list .conversation-item.open .labels", words.payment).await;
    op.text_in("#conversation-labels .labels", words.payment).await;
    op.screenshot(&format!("labels-picker-{lang}-{width}")).await;

    // The filter leaves only the labelled conversation.
    let payment = op
        .run(&format!(
            "return [...document.querySelectorAll('#label-filter option')].find(o => o.textContent === '{}').value",
            words.payment
        ))
        .await;
    op.run(&format!(
        "const f = document.getElementById('label-filter'); f.value = '{}'; f.dispatchEvent(new Event('change'))",
        payment.as_str().unwrap()
    ))
    .await;
    eventually("only the labelled conversation listed", PATIENCE, || async {
        op.run("return [...document.querySelectorAll('#conversation-list .conversation-item')].map(b => b.textContent).join('|')").await.as_str().is_some_and(|t| t.contains("оплата") && !t.contains("доставка"))
    })
    .await;
    op.screenshot(&format!("labels-filtered-{lang}-{width}")).await;

    // The manager's statistics count the labelled conversation.
    m.section("statistics").await;
    eventually("the label's count", PATIENCE, || async {
        let rows = m
            .run(
                "return [...document.querySelectorAll('#label-statistics tbody tr')].map(r => r.textContent).join('|')",
            )
            .await;
        rows.as_str()
            .is_some_and(|r| r.contains(&format!("{}1", words.payment)) && r.contains(&format!("{}0", words.complaint)))
    })
    .await;
    m.run("document.getElementById('label-statistics').scrollIntoView()").await;
    m.screenshot(&format!("labels-statistics-{lang}-{width}")).await;

    no_csp_violations(&s);
    crate::no_console_errors(&driver, &[&op, &m]).await;
    op.close().await;
    m.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_labels_a_conversation_in_russian_on_a_desktop() {
    an_operator_labels_a_conversation_and_filters_by_it("ru", 1440, 900).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_labels_a_conversation_in_english_on_a_phone() {
    an_operator_labels_a_conversation_and_filters_by_it("en", 390, 844).await;
}
