//! The security checks, on the Security page, as the security officer uses
//! them (issue 26): no report before the first run; "Check now" shows what
//! to do before production, worst first, with what passed folded away; a
//! rule weakened on the same page appears as a finding at the next check
//! and goes once it is restored; in Russian and English, on a phone and at
//! a desk.

use ostrog_domain::role::Role;
use ostrog_e2e::sign_in::sign_in;
use ostrog_e2e::{Browser, Driver, PATIENCE, eventually, no_csp_violations};
use ostrog_store::AuditFilter;
use ostrog_testkit::{Backend, TestServer};

async fn language(b: &Browser, code: &str) {
    b.find("select.language").await;
    b.run(&format!(
        "const s = document.querySelector('select.language'); s.value = '{code}'; s.dispatchEvent(new Event('change'));"
    ))
    .await;
}

/// Presses "Check now" and waits for the report made after it.
async fn check_now(b: &Browser) {
    b.find("#checks-run").await;
    b.run("document.getElementById('checks-summary')?.remove();").await;
    b.click("#checks-run").await;
    b.find("#checks-summary").await;
}

/// Ticks or unticks the Operators' two-factor requirement, above the checks.
async fn operators_two_factor(s: &TestServer, b: &Browser, required: bool) {
    b.click("#two-factor-policy input[name=operator]").await;
    eventually("the policy is saved", PATIENCE, || async {
        let policy = s.app.settings.two_factor_policy().await.unwrap();
        policy.required.get(&Role::Operator).copied().unwrap_or(true) == required
    })
    .await;
}

/// The checks listed as findings, in order: id and severity.
async fn findings(b: &Browser) -> Vec<(String, String)> {
    let ids = b
        .run("return [...document.querySelectorAll('#checks-found li')].map((li) => [li.dataset.check, li.classList[1]]);")
        .await;
    let found: Vec<(String, String)> = serde_json::from_value(ids).unwrap();
    let rank = |s: &str| ["ok", "notice", "warning", "critical"].iter().position(|r| *r == s).unwrap();
    assert!(found.windows(2).all(|w| rank(&w[0].1) >= rank(&w[1].1)), "the worst first: {found:?}");
    found
}

fn has(found: &[(String, String)], id: &str) -> Option<String> {
    found.iter().find(|(i, _)| i == id).map(|(_, s)| s.clone())
}

/// Shows the checks, below the settings, as a person scrolls to them.
async fn shot(b: &Browser, name: &str) {
    b.run("document.getElementById('security-checks').scrollIntoView();").await;
    b.screenshot(name).await;
}

async fn fits_the_window(b: &Browser, what: &str) {
    let overflow = b.run("return document.documentElement.scrollWidth - window.innerWidth;").await;
    assert!(overflow.as_i64().unwrap() <= 0, "{what}: nothing wider than the window ({overflow} px)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_security_officer_checks_fixes_and_checks_again() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.administrator().await;
    let manager = s.employee(Role::Manager, &[]).await;
    let driver = Driver::start().await;
    let b = driver.browser(390, 844).await;
    b.goto(&format!("{}/sign-in", s.url)).await;
    language(&b, "en").await;
    sign_in(&s, &b, &manager).await;

    b.section("security").await;
    b.text_in("#checks-none", "No check has run yet").await;
    check_now(&b).await;
    let backups = "#checks-found li[data-check='backups.recent']";
    b.text_in(backups, "Backups").await;
    b.text_in(backups, "Warning").await;
    b.text_in(backups, "What to do: set [backup] dir").await;
    b.text_in(backups, "docs/operations.md#9-backup").await;
    let before = findings(&b).await;
    assert_eq!(has(&before, "auth.second_factor"), None, "every role signs in with two factors");
    let folded = b.run("return document.getElementById('checks-passed').open;").await;
    assert_eq!(folded, false, "what passed is folded away");
    fits_the_window(&b, "the report on a phone").await;
    shot(&b, "security-checks-390-en").await;

    // Two-factor sign-in made optional for Operators: a critical finding, first.
    operators_two_factor(&s, &b, false).await;
    check_now(&b).await;
    let weakened = findings(&b).await;
    assert_eq!(has(&weakened, "auth.second_factor").as_deref(), Some("critical"));
    assert_eq!(weakened.len(), before.len() + 1, "{weakened:?}");
    let second = "#checks-found li[data-check='auth.second_factor']";
    b.text_in(second, "Critical").await;
    b.text_in(second, "password alone: operator").await;
    let critical = weakened.iter().filter(|(_, s)| s == "critical").count();
    b.text_in("#checks-summary", &format!("critical: {critical}")).await;
    shot(&b, "security-checks-finding-390-en").await;
    let filter = AuditFilter { action: Some("doctor.finding".into()), ..Default::default() };
    let audited = s.app.store.audit_entries(&filter, 0, 50).await.unwrap();
    assert!(
        audited.iter().any(|e| e.event.target.as_deref() == Some("auth.second_factor")),
        "the finding is on record"
    );

    // Restored: the finding goes at the next check.
    operators_two_factor(&s, &b, true).await;
    check_now(&b).await;
    assert_eq!(findings(&b).await, before, "the fixed finding went");
    b.click("#checks-passed summary").await;
    b.text_in("#checks-passed li[data-check='auth.second_factor']", "Two-factor sign-in for every role").await;

    language(&b, "ru").await;
    b.text_in(backups, "Резервные копии").await;
    b.text_in(backups, "Предупреждение").await;
    b.text_in(backups, "Что сделать:").await;
    b.text_in("#checks-passed summary", "Пройдено").await;
    fits_the_window(&b, "the report in Russian on a phone").await;
    shot(&b, "security-checks-390-ru").await;
    b.client.set_window_size(1440, 900).await.unwrap();
    shot(&b, "security-checks-1440-ru").await;
    language(&b, "en").await;
    b.text_in(backups, "Backups").await;
    shot(&b, "security-checks-1440-en").await;
    no_csp_violations(&s);
    crate::no_console_errors(&driver, &[&b]).await;
    b.close().await;
    s.stop().await;
}
