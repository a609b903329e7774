//! The cabinet as an administrator lives in it (issue 20, defect 10): the
//! top bar on one line at 1440 px and behind a menu on a phone, recovery
//! codes that never wrap mid-code and can be copied or downloaded, an audit
//! log in words (who, what, on what, outcome), invitations shown as invited
//! until accepted with resend and revoke, a widget form that keeps its time
//! zone after saving, and personal-data subjects found by search.

use ostrog_e2e::sign_in::{code, secret_bytes};
use ostrog_e2e::{Browser, Driver, PATIENCE, eventually, no_csp_violations};
use ostrog_server::services::auditor::Ctx;
use ostrog_testkit::{Backend, TestEmployee, TestServer};

/// How the top bar lies: lines its sections take, how far they overflow, its height.
const TOP_BAR: &str = "const items = [...document.querySelectorAll('header.top nav li')]; \
    const nav = document.querySelector('header.top nav'); \
    const tops = new Set(items.map((li) => Math.round(li.getBoundingClientRect().top))); \
    return [tops.size, nav.scrollWidth - nav.clientWidth, Math.round(document.querySelector('header.top').getBoundingClientRect().height)];";

async fn language(b: &Browser, code: &str) {
    // The page draws the selector after its first request: wait for it (a
    // loaded CI machine once ran the script before it was there).
    b.find("select.language").await;
    b.run(&format!(
        "const s = document.querySelector('select.language'); s.value = '{code}'; s.dispatchEvent(new Event('change'));"
    ))
    .await;
}

/// Signs the Administrator in for the first time: enrolment, up to the
/// recovery codes (left on screen for the test).
async fn first_sign_in(s: &TestServer, b: &Browser, admin: &TestEmployee) {
    b.goto(&format!("{}/sign-in", s.url)).await;
    b.fill("#f-email", &admin.employee.email).await;
    b.fill("#f-password", &admin.password).await;
    b.click("button[type=submit]").await;
    let secret = secret_bytes(&b.find("#totp-secret").await.text().await.unwrap());
    b.fill("#f-code", &code(s, &secret)).await;
    b.click("button[type=submit]").await;
    b.find("#recovery-codes").await;
}

/// Every recovery code on one line, and copy and download offered.
async fn recovery_codes_are_whole(b: &Browser, shot: &str) {
    let wrapped = b
        .run("return [...document.querySelectorAll('#recovery-codes code')].filter((c) => c.getClientRects().length !== 1).length")
        .await;
    assert_eq!(wrapped, 0, "a recovery code broke across lines");
    b.screenshot(shot).await;
    b.click("#codes-copy").await;
    eventually("copying says what happened", PATIENCE, || async {
        !b.find("#codes-done").await.text().await.unwrap().is_empty()
    })
    .await;
    b.click("#codes-download").await;
    let href = b.run("return document.querySelector('#codes-download').getAttribute('href')").await;
    assert!(href.as_str().unwrap().starts_with("blob:"), "the codes download as a file made in the page: {href}");
    b.click("#codes-saved").await;
    b.find("#sign-out").await;
}

async fn top_bar_is_one_line(b: &Browser, what: &str) {
    b.find("header.top nav li").await;
    let [lines, overflow, height] = b.run(TOP_BAR).await.as_array().unwrap().clone().try_into().unwrap();
    assert_eq!(lines, 1, "{what}: the sections take one line");
    assert!(overflow.as_i64().unwrap() <= 1, "{what}: every section is visible, none scrolled away ({overflow} px)");
    assert!(height.as_i64().unwrap() < 64, "{what}: the top bar is one line high ({height} px)");
}

fn token(url: &str) -> String {
    url.split('#').nth(1).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_at_1440_reads_the_audit_log_handles_invitations_and_keeps_the_time_zone() {
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.administrator().await;
    let driver = Driver::start().await;
    let b = driver.browser(1440, 900).await;
    first_sign_in(&s, &b, &admin).await;
    recovery_codes_are_whole(&b, "recovery-codes-1440-ru").await;
    top_bar_is_one_line(&b, "Russian").await;
    language(&b, "en").await;
    b.text_in("header.top nav", "Audit log").await;
    top_bar_is_one_line(&b, "English").await;

    // An invitation: invited until accepted; a new link replaces the old; revoked, none works.
    b.click("a[data-section=employees]").await;
    b.fill("#f-name", "Ivan Invited").await;
    b.fill("#f-email", "ivan@shop.example").await;
    b.click("button[type=submit]").await;
    let first = b.find("#invitation-url").await.text().await.unwrap();
    let row = "#employees tr[data-email='ivan@shop.example']";
    b.text_in(row, "Invited, not accepted yet").await;
    b.click("button[data-resend='ivan@shop.example']").await;
    eventually("a new link is shown", PATIENCE, || async {
        b.find("#invitation-url").await.text().await.unwrap() != first
    })
    .await;
    let second = b.find("#invitation-url").await.text().await.unwrap();
    b.screenshot("cabinet-employees-invited-1440-en").await;
    let setup = &s.app.setup;
    let accept =
        |t: String| async move { setup.accept_invitation(&t, "a long passphrase of mine", &Ctx::default()).await };
    assert!(accept(token(&first)).await.is_err(), "the first link stopped working");
    b.click("button[data-revoke='ivan@shop.example']").await;
    b.client.accept_alert().await.unwrap();
    eventually("the revoked invitee leaves the list", PATIENCE, || async { !b.has(row).await }).await;
    assert!(accept(token(&second)).await.is_err(), "a revoked invitation cannot be accepted");

    // The audit log says it in words.
    b.click("a[data-section=audit]").await;
    let newest = "#audit tbody tr:first-child";
    b.text_in(newest, "Revoked an invitation").await;
    b.text_in(newest, "Ada Admin").await;
    b.text_in(newest, "Ivan Invited").await;
    b.text_in(newest, "Done").await;
    b.screenshot("cabinet-audit-1440-en").await;
    b.run("const s = document.querySelector('#audit-action'); s.value = 'employee.invitation_resent';").await;
    b.click(".filters button[type=submit]").await;
    eventually("the filter leaves the resent invitation only", PATIENCE, || async {
        let n = b.run("return document.querySelectorAll('#audit tbody tr').length").await;
        let text = b.find("#audit tbody").await.text().await.unwrap();
        n == 1 && text.contains("Sent a new invitation link")
    })
    .await;

    // A new widget: the time zone is still there afterwards.
    b.click("a[data-section=widgets]").await;
    b.fill("#f-name", "Shop").await;
    b.fill("#f-origins", "https://shop.example").await;
    b.click("button[type=submit]").await;
    b.find("#widget-secret").await;
    let offset = b.run("return document.querySelector('#hours-offset').value").await;
    assert_eq!(offset, "3", "the time-zone field keeps its value after saving");
    b.screenshot("cabinet-widgets-1440-en").await;

    language(&b, "ru").await;
    b.click("a[data-section=audit]").await;
    // The newest entry is now the widget just created.
    b.text_in(newest, "Создал виджет").await;
    b.text_in(newest, "Выполнено").await;
    b.screenshot("cabinet-audit-1440-ru").await;
    b.click("a[data-section=employees]").await;
    b.find("#employees").await;
    b.screenshot("cabinet-employees-1440-ru").await;
    b.click("a[data-section=widgets]").await;
    b.find(".widget-card").await;
    b.screenshot("cabinet-widgets-1440-ru").await;
    no_csp_violations(&s);
    crate::no_console_errors(&driver, &[&b]).await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_the_sections_are_behind_a_menu_and_subjects_are_found_by_a_word() {
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.administrator().await;
    let driver = Driver::start().await;
    let b = driver.browser(390, 844).await;
    b.goto(&format!("{}/sign-in", s.url)).await;
    language(&b, "en").await;
    first_sign_in(&s, &b, &admin).await;
    recovery_codes_are_whole(&b, "recovery-codes-390-en").await;

    // A visitor wrote about their order.
    let token = s.session(&admin).await;
    let (widget, _) = s.widget(&token).await;
    let (mut visitor, _) = s.visitor(&widget, serde_json::json!({"type": "hello", "v": 1})).await;
    visitor.say("Please delete my data, order 5521").await;

    assert!(!b.find("a[data-section=audit]").await.is_displayed().await.unwrap(), "sections folded away");
    b.screenshot("cabinet-menu-closed-390-en").await;
    b.click("#menu-toggle").await;
    b.screenshot("cabinet-menu-open-390-en").await;
    b.click("a[data-section=audit]").await;
    b.text_in("#audit tbody", "Ada Admin").await;
    b.screenshot("cabinet-audit-390-en").await;

    b.click("#menu-toggle").await;
    b.click("a[data-section=personal-data]").await;
    b.fill("#subject-search", "order").await;
    b.text_in("#subject-results", "Visitor via Website").await;
    b.click("#subject-results button[data-subject]").await;
    b.text_in("#subject-chosen", "Chosen: Visitor via Website").await;
    b.screenshot("cabinet-personal-data-390-en").await;
    b.click("#request-open").await;
    eventually("the request is opened for the visitor found", PATIENCE, || async {
        s.app.store.requests(None, false, 10).await.map(|r| r.len() == 1).unwrap_or(false)
    })
    .await;

    language(&b, "ru").await;
    b.text_in("#subject-results", "Посетитель (Сайт)").await;
    b.screenshot("cabinet-personal-data-390-ru").await;
    b.click("#menu-toggle").await;
    b.click("a[data-section=audit]").await;
    b.text_in("#audit tbody", "Вход").await;
    b.screenshot("cabinet-audit-390-ru").await;
    no_csp_violations(&s);
    crate::no_console_errors(&driver, &[&b]).await;
    visitor.close().await;
    b.close().await;
    s.stop().await;
}
