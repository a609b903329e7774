//! Routing as operators live it, in both languages, on a desktop and on a
//! 390×844 phone: an operator whose tab navigates to another site gets no
//! new conversation until they come back; a supervisor takes over a stuck
//! conversation (each sees the other in it first, the previous operator is
//! told); a transfer's note is shown on the transfer event and the transfer
//! is confirmed to its sender; a supervisor sets the routing times.

use ostrog_domain::permission::Permission;
use ostrog_domain::role::Role;
use ostrog_e2e::sign_in::sign_in;
use ostrog_e2e::{Browser, Driver, PATIENCE, eventually, no_csp_violations};
use ostrog_testkit::{Backend, TestServer, grant};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Clone, Copy)]
enum Lang {
    Ru,
    En,
}

impl Lang {
    fn pick(self, ru: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }

    fn code(self) -> &'static str {
        self.pick("ru", "en")
    }
}

const DESKTOP: (u32, u32) = (1280, 860);
const PHONE: (u32, u32) = (390, 844);

/// A server speaking `lang`, with its administrator's token and a widget.
async fn server(lang: Lang) -> (TestServer, String, String) {
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    let r = s.as_(&admin, Method::PUT, "/api/v1/settings/language").json(&json!({"language": lang.code()})).send();
    assert_eq!(r.await.unwrap().status(), 204);
    let (widget, _) = s.widget(&admin).await;
    (s, admin, widget)
}

fn name(lang: Lang, screen: (u32, u32), what: &str) -> String {
    format!("{what}-{}-{}", lang.code(), if screen == PHONE { "phone" } else { "desktop" })
}

async fn connected(b: &Browser, lang: Lang) {
    b.text_in(".connection", lang.pick("Подключено", "Connected")).await;
}

/// A page on another site, for the operator's tab to navigate to.
async fn another_site() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let html =
        "<!doctype html><html><head><meta charset=utf-8><title>News</title></head><body><h1>News</h1></body></html>";
    ostrog_e2e::company::serve_html(listener, html.into());
    url
}

async fn conversation(s: &TestServer, admin: &str, id: &str) -> Value {
    s.get_json(admin, &format!("/api/v1/conversations/{id}")).await
}

async fn an_operator_whose_tab_navigates_away_gets_no_new_conversation(lang: Lang, screen: (u32, u32)) {
    let (s, admin, widget) = server(lang).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let id = operator.id().to_string();
    let driver = Driver::start().await;
    let b = driver.browser(screen.0, screen.1).await;
    sign_in(&s, &b, &operator).await;
    connected(&b, lang).await;
    let present = || async {
        let list = s.get_json(&admin, "/api/v1/presence").await;
        list.as_array().unwrap().iter().any(|p| p["employee_id"] == id.as_str() && p["status"] == "online")
    };
    eventually("the operator is online", PATIENCE, present).await;

    // The tab goes to another site; the page may wait in the back/forward cache.
    b.run("window.ostrogStayed = true; return null").await;
    b.goto(&another_site().await).await;
    eventually("the operator no longer counts as present", PATIENCE, || async { !present().await }).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c = visitor.say("Is anybody there?").await["conversation_id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(conversation(&s, &admin, &c).await["state"], "queued", "nothing for an absent operator");

    // Back to the workplace: connected again, and the conversation is theirs.
    b.client.back().await.unwrap();
    connected(&b, lang).await;
    // Whether the page came back from the back/forward cache (the case that
    // kept its socket alive) or was loaded again: both must end here.
    let cached = b.run("return window.ostrogStayed === true").await;
    println!("the workplace came back from the back/forward cache: {cached}");
    let assigned = || async { conversation(&s, &admin, &c).await["operator_id"] == id.as_str() };
    eventually("routing to the operator who came back", PATIENCE, assigned).await;
    b.click(&format!("#conversation-list button[data-id='{c}']")).await;
    b.text_in("#messages", "Is anybody there?").await;
    b.screenshot(&name(lang, screen, "workplace-back-from-another-site")).await;
    no_csp_violations(&s);
    crate::no_console_errors(&driver, &[&b]).await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_whose_tab_navigates_away_gets_no_new_conversation_ru_desktop() {
    an_operator_whose_tab_navigates_away_gets_no_new_conversation(Lang::Ru, DESKTOP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_whose_tab_navigates_away_gets_no_new_conversation_en_phone() {
    an_operator_whose_tab_navigates_away_gets_no_new_conversation(Lang::En, PHONE).await;
}

async fn a_supervisor_takes_over_a_stuck_conversation(lang: Lang, screen: (u32, u32)) {
    let (s, admin, widget) = server(lang).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let supervisor = s.employee(Role::OperatorSupervisor, &[]).await;
    let driver = Driver::start().await;
    let a = driver.browser(screen.0, screen.1).await;
    sign_in(&s, &a, &operator).await;
    connected(&a, lang).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c = visitor.say("My order is stuck").await["conversation_id"].as_str().unwrap().to_string();
    let item = format!("#conversation-list button[data-id='{c}']");
    a.click(&item).await;
    a.text_in("#messages", "My order is stuck").await;

    let b = driver.browser(screen.0, screen.1).await;
    sign_in(&s, &b, &supervisor).await;
    connected(&b, lang).await;
    b.click("#tab-all").await;
    b.click(&item).await;
    b.text_in("#messages", "My order is stuck").await;
    // Both have it open: each sees the other.
    b.text_in("#colleagues-here", "Test operator").await;
    a.text_in("#colleagues-here", "Test operator_supervisor").await;
    b.text_in(".conversation-header .assignee", "Test operator").await;

    // The transfer list offers the supervisor, never the current owner.
    b.click("#transfer").await;
    b.find("#transfer-to option").await;
    let options = b.run("return [...document.querySelectorAll('#transfer-to option')].map(o => o.textContent)").await;
    let options: Vec<&str> = options.as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(options.contains(&lang.pick("Мне", "Me")), "{options:?}");
    assert!(!options.iter().any(|o| o.starts_with("Test operator (")), "not its owner: {options:?}");

    b.text_in("#take", lang.pick("Перехватить", "Take over")).await;
    b.screenshot(&name(lang, screen, "workplace-take-over")).await;
    b.click("#take").await;
    b.text_in(
        "#messages",
        lang.pick("перехватил(а) диалог у оператора Test operator", "took it over from Test operator"),
    )
    .await;
    assert_eq!(conversation(&s, &admin, &c).await["operator_id"], supervisor.id().to_string());
    assert!(!b.has("#take").await, "nothing left to take");
    a.text_in(
        "#notice",
        lang.pick(
            "Test operator_supervisor перехватил(а) у вас этот диалог",
            "Test operator_supervisor took this conversation over from you",
        ),
    )
    .await;
    assert!(!a.has("#close").await, "nothing left for them to do in it");
    a.run("document.getElementById('notice').scrollIntoView(); return null").await;
    a.screenshot(&name(lang, screen, "workplace-taken-over-from-me")).await;
    b.run("document.querySelector('#messages li:last-child').scrollIntoView(); return null").await;
    b.screenshot(&name(lang, screen, "workplace-taken-over")).await;
    let audit = s.get_json(&admin, "/api/v1/audit?action=conversation.taken_over").await;
    assert_eq!(audit[0]["actor"], supervisor.id().to_string());
    no_csp_violations(&s);
    crate::no_console_errors(&driver, &[&a, &b]).await;
    a.close().await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_takes_over_a_stuck_conversation_en_desktop() {
    a_supervisor_takes_over_a_stuck_conversation(Lang::En, DESKTOP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_takes_over_a_stuck_conversation_ru_phone() {
    a_supervisor_takes_over_a_stuck_conversation(Lang::Ru, PHONE).await;
}

async fn a_transfer_note_is_shown_and_the_transfer_confirmed(lang: Lang, screen: (u32, u32)) {
    let (s, _admin, widget) = server(lang).await;
    // The role itself is an Operator's scope: this one was granted the queue and transfers.
    let rights = [grant(Permission::ConversationsAll), grant(Permission::ConversationsTransfer)];
    let (senior, operator) = (s.employee(Role::SeniorOperator, &rights).await, s.employee(Role::Operator, &[]).await);
    let driver = Driver::start().await;
    let a = driver.browser(screen.0, screen.1).await;
    sign_in(&s, &a, &senior).await;
    connected(&a, lang).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    visitor.say("I need the warranty department").await;
    a.click("#conversation-list button.conversation-item").await;
    a.text_in("#messages", "warranty department").await;

    let b = driver.browser(screen.0, screen.1).await;
    sign_in(&s, &b, &operator).await;
    connected(&b, lang).await;
    a.click("#transfer").await;
    a.find("#transfer-to option").await;
    a.run("const s = document.querySelector('#transfer-to'); s.value = [...s.options].find(o => o.textContent.startsWith('Test operator (')).value;")
        .await;
    a.fill("#transfer-note", "Warranty case, order 1042").await;
    a.screenshot(&name(lang, screen, "workplace-transfer")).await;
    a.click("#transfer-submit").await;
    a.text_in(
        "#confirmation",
        lang.pick(
            "Передан оператору Test operator с заметкой «Warranty case, order 1042»",
            "Transferred to Test operator with the note “Warranty case, order 1042”",
        ),
    )
    .await;
    // The sender's transcript names the colleague too (they connected after the page loaded).
    a.text_in("#messages", lang.pick("диалог оператору Test operator", "transferred it to Test operator")).await;
    a.run("document.querySelector('#confirmation').scrollIntoView(); return null").await;
    a.screenshot(&name(lang, screen, "workplace-transfer-confirmed")).await;

    b.click("#conversation-list button.conversation-item").await;
    b.text_in("#messages", "warranty department").await;
    b.text_in(
        "#messages",
        lang.pick(
            "Test senior_operator передал(а) диалог оператору Test operator",
            "Test senior_operator transferred it to Test operator",
        ),
    )
    .await;
    b.text_in("#messages .event-note", "Warranty case, order 1042").await;
    b.run("document.querySelector('#messages .event-note').scrollIntoView(); return null").await;
    b.screenshot(&name(lang, screen, "workplace-transfer-note")).await;
    no_csp_violations(&s);
    crate::no_console_errors(&driver, &[&a, &b]).await;
    a.close().await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_note_is_shown_and_the_transfer_confirmed_ru_desktop() {
    a_transfer_note_is_shown_and_the_transfer_confirmed(Lang::Ru, DESKTOP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_note_is_shown_and_the_transfer_confirmed_en_phone() {
    a_transfer_note_is_shown_and_the_transfer_confirmed(Lang::En, PHONE).await;
}

/// The routing times in the security section: a supervisor changes them
/// (audited); an operator has no such section.
async fn a_supervisor_sets_when_absent_operators_stop_getting_chats(lang: Lang, screen: (u32, u32)) {
    let (s, admin, _) = server(lang).await;
    let supervisor = s.employee(Role::OperatorSupervisor, &[]).await;
    let driver = Driver::start().await;
    let b = driver.browser(screen.0, screen.1).await;
    sign_in(&s, &b, &supervisor).await;
    b.goto(&format!("{}/security", s.url)).await;
    b.text_in("#routing-settings", lang.pick("Отсутствующие операторы", "Absent operators")).await;
    let shown = b.run("return document.querySelector('#f-requeue_after_seconds').value").await;
    assert_eq!(shown, "60", "the default");
    b.fill("#f-away_after_hidden_seconds", "45").await;
    b.fill("#f-requeue_after_seconds", "90").await;
    b.click("#routing-save").await;
    b.text_in("#routing-settings .ok", lang.pick("Сохранено", "Saved")).await;
    b.run("document.querySelector('#routing-settings').scrollIntoView(); return null").await;
    b.screenshot(&name(lang, screen, "security-routing")).await;
    let now = s.get_json(&admin, "/api/v1/settings/routing").await;
    assert_eq!(now, json!({"away_after_hidden_seconds": 45, "requeue_after_seconds": 90}));
    let audit = s.get_json(&admin, "/api/v1/audit?action=settings.changed&target=routing").await;
    assert_eq!(audit.as_array().map(Vec::len), Some(1), "{audit}");
    assert_eq!(audit[0]["actor"], supervisor.id().to_string());
    no_csp_violations(&s);
    crate::no_console_errors(&driver, &[&b]).await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sets_when_absent_operators_stop_getting_chats_en_desktop() {
    a_supervisor_sets_when_absent_operators_stop_getting_chats(Lang::En, DESKTOP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sets_when_absent_operators_stop_getting_chats_ru_phone() {
    a_supervisor_sets_when_absent_operators_stop_getting_chats(Lang::Ru, PHONE).await;
}
