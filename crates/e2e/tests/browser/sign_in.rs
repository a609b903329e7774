//! Signing in and what a session may see: enrolment in two-factor
//! authentication with codes and recovery codes, sections hidden from those
//! without their permissions, a weak password refused for its reason, a
//! session ended or an employee blocked dropping to the sign-in screen, and
//! the CSP refusing inline script.

use ostrog_domain::role::Role;
use ostrog_e2e::sign_in::{code, secret_bytes, sign_in};
use ostrog_e2e::{Driver, PATIENCE, eventually, no_csp_violations};
use ostrog_testkit::{Backend, TestServer};
use reqwest::Method;
use std::sync::atomic::Ordering;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_enrols_two_factor_and_signs_in_with_a_code_and_a_recovery_code() {
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.administrator().await;
    let driver = Driver::start().await;
    let b = driver.browser(1280, 860).await;

    b.goto(&s.url).await;
    b.text_in("h1", "Вход").await; // Russian for a new installation
    b.screenshot("sign-in-ru").await;
    b.click("select.language").await;
    b.run("const s = document.querySelector('select.language'); s.value = 'en'; s.dispatchEvent(new Event('change'));")
        .await;
    b.text_in("h1", "Sign in to Ostrog").await;
    b.screenshot("sign-in").await;
    b.fill("#f-email", &admin.employee.email).await;
    b.fill("#f-password", "not the password").await;
    b.click("button[type=submit]").await;
    b.text_in("form .error", "Wrong e-mail or password").await;
    b.fill("#f-password", &admin.password).await;
    b.click("button[type=submit]").await;

    // First sign-in: enrolment, reading the secret from the page.
    let secret = secret_bytes(&b.find("#totp-secret").await.text().await.unwrap());
    b.screenshot("enrolment").await;
    b.fill("#f-code", &code(&s, &secret)).await;
    b.click("button[type=submit]").await;
    let codes = b.find("#recovery-codes").await.text().await.unwrap();
    let codes: Vec<String> = codes.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    b.screenshot("recovery-codes").await;
    b.click("#codes-saved").await;
    b.find("#sign-out").await;
    b.screenshot("workplace-empty").await;

    // Again, with a code.
    b.click("#sign-out").await;
    b.fill("#f-email", &admin.employee.email).await;
    b.fill("#f-password", &admin.password).await;
    b.click("button[type=submit]").await;
    b.fill("#f-code", &code(&s, &secret)).await;
    b.screenshot("second-factor").await;
    b.click("button[type=submit]").await;
    b.find("#sign-out").await;

    // And with a recovery code.
    b.click("#sign-out").await;
    b.fill("#f-email", &admin.employee.email).await;
    b.fill("#f-password", &admin.password).await;
    b.click("button[type=submit]").await;
    b.click("#use-recovery").await;
    b.fill("#f-code", &codes[0]).await;
    b.click("button[type=submit]").await;
    b.find("#sign-out").await;
    // Each section, once what it loads is shown.
    for (section, loaded) in [
        ("employees", "#employees"),
        ("widgets", "main .panel h1"),
        ("statistics", "svg.chart rect"),
        ("audit", "#audit tbody tr"),
        ("security", "#two-factor-policy"),
        ("finance", "#finance"),
        ("account", "main table"),
    ] {
        b.click(&format!("a[data-section={section}]")).await;
        b.find(loaded).await;
        b.screenshot(&format!("cabinet-{section}")).await;
    }
    // The audit log: newest first, with its chain checked.
    b.click("a[data-section=audit]").await;
    b.text_in("#audit-chain", "intact").await;
    // In words: who did what, the outcome translated.
    b.text_in("#audit tbody tr:first-child", "Second factor checked").await;
    b.text_in("#audit tbody tr:first-child", &admin.employee.name).await;
    b.text_in("#audit tbody tr:first-child", "Done").await;
    b.text_in("#audit tbody tr:last-child", "Created an employee").await;
    b.click("a[data-section=statistics]").await;
    b.find("svg.chart rect").await;
    let csv = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; fetch(document.querySelector('#statistics-csv').href).then((r) => r.text()).then(done);",
            vec![],
        )
        .await
        .unwrap();
    assert!(csv.as_str().unwrap().lines().count() >= 2, "the CSV export answers a table: {csv}");
    no_csp_violations(&s);
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sees_only_their_sections_and_is_refused_the_others() {
    let s = TestServer::start(Backend::Sqlite).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    let b = driver.browser(1280, 860).await;
    sign_in(&s, &b, &operator).await;
    let menu = b.find("nav").await.text().await.unwrap();
    for hidden in ["Сотрудники", "Виджеты", "Журнал аудита", "Финансы"] {
        assert!(!menu.contains(hidden), "{hidden} is not in the menu: {menu}");
    }
    assert!(menu.contains("Диалоги"), "{menu}");
    for path in ["/employees", "/audit", "/finance"] {
        b.goto(&format!("{}{path}", s.url)).await;
        b.text_in("main h1", "Здесь ничего нет").await;
    }
    // And the server refuses the data behind them to this session.
    for api in ["/api/v1/employees", "/api/v1/audit", "/api/v1/finance/tariff"] {
        let status = b
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then((r) => done(r.status));",
                vec![serde_json::json!(api)],
            )
            .await
            .unwrap();
        assert_eq!(status, 403, "{api}");
    }
    b.screenshot("operator-not-found").await;
    no_csp_violations(&s);
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_operator_drops_to_the_sign_in_screen() {
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    let b = driver.browser(1280, 860).await;
    sign_in(&s, &b, &operator).await;
    b.text_in(".connection", "Подключено").await;
    let r = s.as_(&admin, Method::POST, &format!("/api/v1/employees/{}/block", operator.id())).send().await.unwrap();
    assert_eq!(r.status(), 204);
    // The live connection is cut at once; the page goes to sign-in.
    b.text_in("h1", "Вход в Острог").await;
    assert!(!b.has("#sign-out").await);
    no_csp_violations(&s);
    b.close().await;
    s.stop().await;
}

/// The check the other tests end with can fail: an inline script is refused
/// by the CSP, and the browser's report reaches the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csp_refuses_inline_script_and_the_report_reaches_the_server() {
    let s = TestServer::start(Backend::Sqlite).await;
    let driver = Driver::start().await;
    let b = driver.browser(800, 600).await;
    b.goto(&format!("{}/sign-in", s.url)).await;
    b.find("#f-email").await;
    let ran = b
        .run("const el = document.createElement('script'); el.textContent = 'window.injected = true'; document.body.append(el); return !!window.injected;")
        .await;
    assert_eq!(ran, false, "the inline script did not run");
    eventually("a CSP report arrives", PATIENCE, || async { s.app.csp_violations.load(Ordering::Relaxed) > 0 }).await;
    b.close().await;
    s.stop().await;
}

/// An operator's weak new password is refused with the reason named, in
/// Russian and in English; then a manager ends all of the operator's
/// sessions from the list of employees (after confirming), and the
/// operator's open workplace drops to the sign-in screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weak_password_is_refused_for_its_reason_and_a_manager_ends_someones_sessions() {
    let s = TestServer::start(Backend::Sqlite).await;
    let manager = s.employee(Role::Manager, &[]).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    let op = driver.browser(390, 844).await;
    sign_in(&s, &op, &operator).await;
    op.click("#menu-toggle").await; // on a phone the sections are behind the menu
    op.click("a[data-section=account]").await;
    op.fill("#f-current_password", &operator.password).await;
    op.fill("#f-new_password", "password12345678").await;
    op.click("form.panel button[type=submit]").await;
    op.text_in("form.panel .error", "распространённым паролем").await;
    op.run("document.querySelector('form.panel .error').scrollIntoView({block: 'center'})").await;
    op.screenshot("account-weak-password-ru").await;
    op.run(
        "const s = document.querySelector('select.language'); s.value = 'en'; s.dispatchEvent(new Event('change'));",
    )
    .await;
    op.click("#menu-toggle").await;
    op.click("a[data-section=account]").await;
    op.fill("#f-current_password", &operator.password).await;
    op.fill("#f-new_password", "qwertyuiopasdfgh").await;
    op.click("form.panel button[type=submit]").await;
    op.text_in("form.panel .error", "adjacent keys").await;
    op.run("document.querySelector('form.panel .error').scrollIntoView({block: 'center'})").await;
    op.screenshot("account-weak-password-en").await;
    op.click("#menu-toggle").await;
    op.click("a[data-section=workplace]").await;
    op.text_in(".connection", "Connected").await;

    let b = driver.browser(1280, 860).await;
    sign_in(&s, &b, &manager).await;
    b.click("a[data-section=employees]").await;
    b.click(&format!("button[data-end-sessions='{}']", operator.employee.email)).await;
    b.client.accept_alert().await.unwrap(); // "End every session of …?"
    op.text_in("h1", "Sign in").await;
    assert!(!op.has("#sign-out").await, "the operator is signed out");
    let audit = s.app.audit_log.page(&Default::default(), 0, 1000).await.unwrap();
    assert!(audit.iter().any(|e| e.event.action == "employee.sessions_ended"));
    b.screenshot("cabinet-employees").await;
    no_csp_violations(&s);
    op.close().await;
    b.close().await;
    s.stop().await;
}
