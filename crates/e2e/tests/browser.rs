//! The web app in a real, headless Chromium against the real server:
//! sign-in with 2FA enrolment and recovery, a visitor and an operator chatting
//! through the embedded widget, the menu following permissions, a blocked
//! operator dropping to the sign-in screen, and no CSP violation anywhere.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ostrog_domain::clock::{Clock, SECOND};
use ostrog_domain::permission::Permission;
use ostrog_domain::role::Role;
use ostrog_e2e::{Browser, Driver, PATIENCE, eventually};
use ostrog_testkit::{Backend, TestEmployee, TestServer, grant};
use reqwest::Method;
use std::sync::atomic::Ordering;

/// Signs `who` in through the pages: password, then a fresh TOTP code.
async fn sign_in(s: &TestServer, b: &Browser, who: &TestEmployee) {
    sign_in_at(s, &s.url, b, who).await;
}

async fn sign_in_at(s: &TestServer, url: &str, b: &Browser, who: &TestEmployee) {
    b.goto(&format!("{url}/sign-in")).await;
    b.fill("#f-email", &who.employee.email).await;
    b.fill("#f-password", &who.password).await;
    b.click("button[type=submit]").await;
    b.fill("#f-code", &s.next_code(who)).await;
    b.click("button[type=submit]").await;
    b.find("#sign-out").await;
}

fn no_csp_violations(s: &TestServer) {
    assert_eq!(s.app.csp_violations.load(Ordering::Relaxed), 0, "the browser reported CSP violations (see the log)");
}

/// The base32 secret the enrolment page shows, as bytes.
fn secret_bytes(base32: &str) -> Vec<u8> {
    totp_rs::Secret::Encoded(base32.trim().to_string()).to_bytes().unwrap()
}

fn code(s: &TestServer, secret: &[u8]) -> String {
    s.clock.advance(30 * SECOND);
    ostrog_domain::totp::code_at(secret, (s.clock.now() / SECOND) as u64)
}

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
    b.text_in("#audit tbody tr:first-child", "auth.second_factor").await;
    b.text_in("#audit tbody tr:last-child", "employee.created").await;
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

/// A visitor on the company's page with the widget open (inside its frame).
async fn open_widget(driver: &Driver, shop: &str, width: u32, height: u32) -> Browser {
    let visitor = driver.browser(width, height).await;
    visitor.goto(shop).await;
    visitor.find("iframe").await;
    visitor.client.enter_frame(0).await.unwrap();
    visitor.click("#launcher").await;
    visitor
}

/// The visitor writes in the open widget; returns once it shows the message.
async fn write(visitor: &Browser, text: &str) {
    visitor.fill("#widget-input", text).await;
    visitor.click("#widget-send").await;
    visitor.text_in("#messages", text).await;
}

/// A company's site on another origin: its address, to allow in the widget.
async fn company_site() -> (String, tokio::net::TcpListener) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    (format!("http://{}", listener.local_addr().unwrap()), listener)
}

/// Serves the company's page, which embeds the widget with one tag.
fn serve_company_page(listener: tokio::net::TcpListener, ostrog: &str, widget: &str) -> tokio::task::JoinHandle<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let html = format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Shop</title></head><body><h1>Shop</h1>\
         <p>Our goods.</p><script src=\"{ostrog}/widget.js\" data-widget=\"{widget}\" async></script></body></html>"
    );
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    html.len()
                );
                let _ = tcp.write_all(head.as_bytes()).await;
                let _ = tcp.write_all(html.as_bytes()).await;
            });
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_and_an_operator_chat_through_the_widget() {
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    // The installation speaks English (a new one speaks Russian).
    let r = s.as_(&admin, Method::PUT, "/api/v1/settings/language").json(&serde_json::json!({"language": "en"})).send();
    assert_eq!(r.await.unwrap().status(), 204);
    let (shop, site) = company_site().await;
    let body = serde_json::json!({"name": "Shop", "greeting": "Hello! How can we help?", "allowed_origins": [shop], "language": "en"});
    let r = s.as_(&admin, Method::POST, "/api/v1/widgets").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let widget = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let page = serve_company_page(site, &s.url, &widget);

    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    let op = driver.browser(1280, 860).await;
    sign_in(&s, &op, &operator).await;
    op.text_in(".connection", "Connected").await;

    let visitor = open_widget(&driver, &shop, 1280, 860).await;
    visitor.text_in(".greeting", "How can we help?").await;
    write(&visitor, "Hello, where is my order 1042?").await;

    // The operator gets it live, answers.
    op.click("#conversation-list button.conversation-item").await;
    op.text_in("#messages", "where is my order 1042").await;
    op.fill("#composer", "It left the warehouse today.").await;
    op.click("#send").await;
    op.text_in("#messages", "It left the warehouse today.").await;
    op.screenshot("workplace-conversation").await;

    visitor.text_in("#messages", "It left the warehouse today.").await;
    // The visitor has seen it: the operator's message gets its double tick.
    op.find("#messages li.to-visitor.read").await;
    visitor.client.enter_parent_frame().await.unwrap();
    visitor.screenshot("widget-open").await;
    visitor.client.enter_frame(0).await.unwrap();

    // The operator closes; the visitor rates.
    op.click("#close").await;
    visitor.find("#rating button[data-rating='5']").await;
    visitor.click("#rating button[data-rating='5']").await;
    visitor.text_in("#rating", "Thank you").await;
    op.text_in("#messages", "Rated 5 of 5").await;
    visitor.click("#widget-close").await;
    visitor.client.enter_parent_frame().await.unwrap();
    visitor.screenshot("widget-closed").await;

    // The same widget on a phone-sized screen.
    let phone = open_widget(&driver, &shop, 390, 780).await;
    phone.find("#widget-input").await;
    phone.client.enter_parent_frame().await.unwrap();
    let width = phone.run("return document.querySelector('iframe').getBoundingClientRect().width").await;
    assert!(width.as_f64().unwrap() >= 380.0, "the open widget fills a phone's width: {width}");
    phone.screenshot("widget-phone").await;

    no_csp_violations(&s);
    for b in [op, visitor, phone] {
        b.close().await;
    }
    page.abort();
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

/// Reads the enrolment secret from the page, confirms with a code and
/// finishes at the workplace, as a person does at their first sign-in.
async fn enrol(s: &TestServer, b: &Browser) {
    let secret = secret_bytes(&b.find("#totp-secret").await.text().await.unwrap());
    b.fill("#f-code", &code(s, &secret)).await;
    b.click("button[type=submit]").await;
    b.click("#codes-saved").await;
    b.find("#sign-out").await;
}

/// The README's promise: from the set-up link to the first conversation,
/// all in the browser (in Russian, the default of a new installation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_installation_from_the_set_up_link_to_the_first_chat() {
    let s = TestServer::start(Backend::Sqlite).await;
    let link = s.app.setup_link().await.unwrap().expect("a new installation has a set-up link");
    let driver = Driver::start().await;
    let admin = driver.browser(1280, 860).await;
    admin.goto(&link).await;
    admin.fill("#f-name", "Ада Админова").await;
    admin.fill("#f-email", "ada@shop.example").await;
    admin.fill("#f-password", "a long passphrase of my own").await;
    admin.screenshot("setup").await;
    admin.click("button[type=submit]").await;
    admin.text_in("h1", "Вход в Острог").await;
    admin.fill("#f-email", "ada@shop.example").await;
    admin.fill("#f-password", "a long passphrase of my own").await;
    admin.click("button[type=submit]").await;
    enrol(&s, &admin).await;

    // Invite an operator; they choose a password from the link and enrol too.
    admin.click("a[data-section=employees]").await;
    admin.fill("#f-name", "Олег Операторов").await;
    admin.fill("#f-email", "oleg@shop.example").await;
    admin.click("button[type=submit]").await;
    let invitation = admin.find("#invitation-url").await.text().await.unwrap();
    let operator = driver.browser(1280, 860).await;
    operator.goto(&invitation).await;
    operator.fill("#f-password", "another long passphrase").await;
    operator.click("button[type=submit]").await;
    operator.fill("#f-email", "oleg@shop.example").await;
    operator.fill("#f-password", "another long passphrase").await;
    operator.click("button[type=submit]").await;
    enrol(&s, &operator).await;
    operator.text_in(".connection", "Подключено").await;

    // A widget for the company's site, and its one tag on the site's page.
    let (shop, site) = company_site().await;
    admin.click("a[data-section=widgets]").await;
    admin.fill("#f-name", "Магазин").await;
    admin.fill("#f-greeting", "Привет").await;
    admin.fill("#f-origins", &shop).await;
    admin.click("button[type=submit]").await;
    admin.find("#widget-secret").await;
    let snippet = admin.find(".snippet").await.text().await.unwrap();
    // A better greeting, changed afterwards.
    admin.click(".widget-card button[data-edit]").await;
    admin.text_in("form h1", "Магазин").await;
    admin.fill("#f-greeting", "Здравствуйте! Чем помочь?").await;
    admin.click("#hours-always").await; // weekdays 9 to 18, Moscow time
    admin.run("document.querySelector('.hours').scrollIntoView()").await;
    admin.screenshot("cabinet-widget-edit").await;
    admin.click("button[type=submit]").await;
    admin.text_in("form h1", "Новый виджет").await;
    let saved = s.app.list_widgets().await.unwrap().remove(0).settings.working_hours;
    assert_eq!(
        (saved.utc_offset_minutes, saved.days.len(), saved.days[0], saved.days[6]),
        (180, 7, Some((540, 1080)), None)
    );
    admin.screenshot("cabinet-widgets").await;
    let widget = snippet.split("data-widget=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string();
    let page = serve_company_page(site, &s.url, &widget);

    let visitor = open_widget(&driver, &shop, 1280, 860).await;
    visitor.text_in(".greeting", "Чем помочь?").await;
    write(&visitor, "Добрый день! Есть ли доставка в Тверь?").await;
    operator.click("#conversation-list button.conversation-item").await;
    operator.text_in("#messages", "доставка в Тверь").await;
    operator.fill("#composer", "Да, за два дня.").await;
    operator.click("#send").await;
    visitor.text_in("#messages", "Да, за два дня.").await;
    operator.screenshot("workplace-ru").await;

    no_csp_violations(&s);
    for b in [admin, operator, visitor] {
        b.close().await;
    }
    page.abort();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_senior_operator_transfers_a_conversation_to_a_colleague_with_a_note() {
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    // The role itself is an Operator's scope: this one was granted the queue and transfers.
    let rights = [grant(Permission::ConversationsAll), grant(Permission::ConversationsTransfer)];
    let (senior, operator) = (s.employee(Role::SeniorOperator, &rights).await, s.employee(Role::Operator, &[]).await);
    let driver = Driver::start().await;
    let a = driver.browser(1280, 860).await;
    sign_in(&s, &a, &senior).await;
    a.text_in(".connection", "Подключено").await;
    let (mut visitor, _) = s.visitor(&widget, serde_json::json!({"type": "hello", "v": 1})).await;
    visitor.say("I need the warranty department").await;
    a.click("#conversation-list button.conversation-item").await;
    a.text_in("#messages", "warranty department").await;

    let b = driver.browser(1280, 860).await;
    sign_in(&s, &b, &operator).await;
    b.text_in(".connection", "Подключено").await;
    a.click("#transfer").await;
    a.find("#transfer-to option").await;
    a.fill("#transfer-note", "Warranty case, order 1042").await;
    a.screenshot("workplace-transfer").await;
    a.click("#transfer-submit").await;

    b.click("#conversation-list button.conversation-item").await;
    b.text_in("#messages", "warranty department").await;
    b.text_in("#messages", "Передан оператору Test operator").await;
    no_csp_violations(&s);
    a.close().await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workplace_survives_a_network_drop_without_losing_what_was_typed() {
    let relay = ostrog_e2e::Relay::bind().await;
    let public = relay.url.clone();
    let s = TestServer::start_with(Backend::Sqlite, move |c| c.public_url = public).await;
    relay.forward_to(&s.url);
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    let b = driver.browser(1280, 860).await;
    sign_in_at(&s, &relay.url, &b, &operator).await;
    b.text_in(".connection", "Подключено").await;
    let (mut visitor, _) = s.visitor(&widget, serde_json::json!({"type": "hello", "v": 1})).await;
    visitor.say("Is anyone there?").await;
    b.click("#conversation-list button.conversation-item").await;
    b.text_in("#messages", "Is anyone there?").await;

    relay.cut();
    b.text_in(".connection.offline", "Нет связи").await;
    b.screenshot("workplace-offline").await;
    b.fill("#composer", "Written while offline").await;
    b.click("#send").await;
    b.text_in(".pending", "Written while offline").await;
    visitor.say("Hello?").await;

    relay.restore();
    b.text_in(".connection", "Подключено").await;
    visitor.receive("Written while offline").await;
    b.text_in("#messages", "Hello?").await;
    b.text_in("#messages", "Written while offline").await;
    assert_eq!(b.find(".pending").await.text().await.unwrap(), "", "nothing left waiting");
    no_csp_violations(&s);
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_revokes_a_permission_after_confirming_who_they_are() {
    let s = TestServer::start(Backend::Sqlite).await;
    let manager = s.employee(Role::Manager, &[]).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    let b = driver.browser(1280, 900).await;
    sign_in(&s, &b, &manager).await;
    b.click("a[data-section=employees]").await;
    b.click(&format!("button[data-permissions='{}']", operator.employee.email)).await;
    b.text_in("#permissions tr[data-permission='statistics.own']", "по роли").await;
    // Long enough after signing in that changing permissions needs the password again.
    s.clock.advance(6 * 60 * SECOND);
    b.run(
        "const s = document.querySelector(\"#permissions tr[data-permission='statistics.own'] select\"); \
         s.value = 'revoke'; s.dispatchEvent(new Event('change'));",
    )
    .await;
    b.fill("#permission-editor #f-password", &manager.password).await;
    b.fill("#permission-editor #f-code", &s.next_code(&manager)).await;
    b.screenshot("cabinet-permissions").await;
    b.click("#reauth-submit").await;
    b.text_in("#permissions tr[data-permission='statistics.own']", "отозвано").await;
    let held = s.app.employee_permissions(operator.id()).await.unwrap();
    assert!(held.iter().all(|p| p.permission.name() != "statistics.own" || !p.held), "the server holds it revoked");

    // A lost phone: their 2FA is reset (proof is still fresh); then they leave for good.
    let email = &operator.employee.email;
    b.click(&format!("button[data-reset='{email}']")).await;
    b.client.accept_alert().await.unwrap();
    b.text_in("#permission-editor", "заново").await;
    b.click(&format!("button[data-delete='{email}']")).await;
    b.client.accept_alert().await.unwrap();
    let row = format!("#employees tr[data-email='{email}']");
    eventually("the deleted employee leaves the list", PATIENCE, || async { !b.has(&row).await }).await;
    let gone = s.app.store.employee(operator.id()).await.unwrap().unwrap();
    assert_eq!(gone.employee.status, ostrog_domain::employee::EmployeeStatus::Deleted);
    no_csp_violations(&s);
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_through_the_antivirus_both_ways_and_malware_is_refused_in_words() {
    let clamd = ostrog_testkit::clamd::Clamd::start();
    let socket = clamd.socket.clone();
    let s = TestServer::start_with(Backend::Sqlite, move |c| c.scanner.socket = socket).await;
    let admin = s.session(&s.administrator().await).await;
    let r = s.as_(&admin, Method::PUT, "/api/v1/settings/language").json(&serde_json::json!({"language": "en"})).send();
    assert_eq!(r.await.unwrap().status(), 204);
    let (shop, site) = company_site().await;
    let body = serde_json::json!({"name": "Shop", "greeting": "Hi", "allowed_origins": [shop], "language": "en"});
    let r = s.as_(&admin, Method::POST, "/api/v1/widgets").json(&body).send().await.unwrap();
    let widget = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let page = serve_company_page(site, &s.url, &widget);

    let dir = std::env::temp_dir().join(format!("ostrog-e2e-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("receipt.png");
    image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])).save(&photo).unwrap();
    let malware = dir.join("invoice.pdf");
    std::fs::write(&malware, ostrog_testkit::clamd::eicar()).unwrap();

    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    let op = driver.browser(1280, 860).await;
    sign_in(&s, &op, &operator).await;
    let visitor = open_widget(&driver, &shop, 1280, 860).await;
    write(&visitor, "I will send you a receipt").await;

    // The visitor sends a picture; the operator sees its thumbnail, scanned.
    visitor.find("#widget-attach").await.send_keys(photo.to_str().unwrap()).await.unwrap();
    op.click("#conversation-list button.conversation-item").await;
    op.find("#messages .file img").await;
    op.text_in("#messages .file", "receipt.png").await;
    op.text_in("#messages .file", "checked by the antivirus").await;
    let loaded =
        op.run("const i = document.querySelector('#messages .file img'); return i.complete && i.naturalWidth;").await;
    assert_eq!(loaded, 320, "the thumbnail loaded, 320 pixels wide");

    // The operator tries to send malware: refused, in words, and never posted.
    op.find("#attach").await.send_keys(malware.to_str().unwrap()).await.unwrap();
    op.text_in(".conversation .error", "The antivirus found malware").await;
    op.screenshot("workplace-files").await;
    let files = op.run("return [...document.querySelectorAll('#messages li.file')].map((f) => f.closest('li').dataset.seq + ' ' + f.textContent)").await;
    assert_eq!(files.as_array().unwrap().len(), 1, "{files}");
    visitor.text_in("#messages", "receipt.png").await;
    let script =
        "const i = document.querySelector('#messages a.attachment img'); return !!i && i.complete && i.naturalWidth;";
    eventually("the widget shows the thumbnail", PATIENCE, || async { visitor.run(script).await == 320 }).await;
    visitor.client.enter_parent_frame().await.unwrap();
    visitor.screenshot("widget-file").await;

    no_csp_violations(&s);
    op.close().await;
    visitor.close().await;
    page.abort();
    let _ = std::fs::remove_dir_all(&dir);
    s.stop().await;
}

/// A day's work in the workplace: 50 open conversations and one with a long
/// history (`OSTROG_TEST_HISTORY` messages, 1,000 by default; the
/// measurement in docs/benchmarks.md uses 10,000), paged in as the operator
/// scrolls up to the very first message. Prints how long each step took;
/// asserts only that everything arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workplace_pages_a_long_history_and_many_conversations() {
    use ostrog_domain::ids::{ConversationId, MessageId, VisitorId};
    use ostrog_domain::message::{Author, Body};
    use std::time::Instant;
    let history: usize = std::env::var("OSTROG_TEST_HISTORY").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000);
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let operator = s.employee(Role::Operator, &[]).await;
    s.app.store.set_chat_limit(operator.id(), 100).await.unwrap();
    let token = s.session(&operator).await;
    let mut presence = s.operator_ws(&token).await;
    presence.send(serde_json::json!({"type": "presence", "status": "online"})).await;
    let mut visitors = Vec::new();
    for i in 0..50 {
        let (mut v, welcome) = s.visitor(&widget, serde_json::json!({"type": "hello", "v": 1})).await;
        let ack = v.say(&format!("Question number {i}")).await;
        visitors.push((
            v,
            welcome["visitor_id"].as_str().unwrap().to_string(),
            ack["conversation_id"].as_str().unwrap().to_string(),
        ));
    }
    let (_, visitor_id, long) = &visitors[0];
    let (visitor_id, long) = (VisitorId(visitor_id.parse().unwrap()), ConversationId(long.parse().unwrap()));
    let started = Instant::now();
    for chunk in (1..=history).collect::<Vec<_>>().chunks(1_000) {
        let batch: Vec<ostrog_store::NewMessage> = chunk
            .iter()
            .map(|n| ostrog_store::NewMessage {
                id: MessageId::random(),
                conversation_id: long,
                client_key: None,
                author: Author::Visitor(visitor_id),
                body: Body::Text(format!("Line {n} of a long story")),
                at: s.clock.now(),
            })
            .collect();
        s.app.ledger.append_messages(batch).await.unwrap();
    }
    println!("seeded {history} messages in {:?}", started.elapsed());
    drop(presence);

    let driver = Driver::start().await;
    let b = driver.browser(1280, 900).await;
    sign_in(&s, &b, &operator).await;
    let started = Instant::now();
    let listed = "return document.querySelectorAll('#conversation-list button.conversation-item').length";
    eventually("all 50 conversations are listed", PATIENCE, || async { b.run(listed).await == 50 }).await;
    println!("50 conversations listed in {:?}", started.elapsed());
    let started = Instant::now();
    b.click(&format!("#conversation-list button[data-id='{}']", long.0)).await;
    b.text_in("#messages li:last-child", &format!("Line {history} of")).await;
    println!("the long conversation opened at its end in {:?}", started.elapsed());
    let started = Instant::now();
    let first = "#messages li.message p";
    let scroll_up = "const m = document.querySelector('#messages'); m.scrollTop = 0; \
                     return m.querySelector('li.message p')?.textContent";
    let reached = || async { b.run(scroll_up).await == "Question number 0" };
    eventually("scrolling up reaches the first message", std::time::Duration::from_secs(300), reached).await;
    let shown = b.run("return document.querySelectorAll('#messages li').length").await;
    println!("scrolled back through {history} messages ({shown} shown) in {:?}", started.elapsed());
    b.find(first).await;
    // Still responsive with all of it in the page: a live message appears.
    let started = Instant::now();
    visitors[0].0.say("And one more thing").await;
    b.text_in("#messages li:last-child", "And one more thing").await;
    println!("a live message appeared under the whole history in {:?}", started.elapsed());
    b.screenshot("workplace-long-history").await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_number_is_shown_masked_and_revealed_with_a_reason() {
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let manager = s.employee(Role::Manager, &[]).await;
    let driver = Driver::start().await;
    let b = driver.browser(1280, 860).await;
    sign_in(&s, &b, &manager).await;
    b.text_in(".connection", "Подключено").await;
    let (mut visitor, _) = s.visitor(&widget, serde_json::json!({"type": "hello", "v": 1})).await;
    visitor.say("Верните деньги на карту 4276 3800 1234 5679").await;
    b.click("#conversation-list button.conversation-item").await;
    b.text_in("#messages", "4276 **** **** 5679").await;
    assert!(!b.find("#messages").await.text().await.unwrap().contains("3800"), "masked in the page");
    b.click("#messages button[data-reveal='0']").await;
    b.client.send_alert_text("возврат по заявке клиента").await.unwrap();
    b.client.accept_alert().await.unwrap();
    b.text_in("#messages .revealed", "4276 3800 1234 5679").await;
    b.screenshot("workplace-reveal").await;
    let audit = s.get_json(&admin, "/api/v1/audit?action=personal_data.revealed").await;
    assert_eq!(audit[0]["details"]["reason"], "возврат по заявке клиента");
    no_csp_violations(&s);
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_from_consent_in_the_widget_to_the_act_of_destruction() {
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    let (shop, site) = company_site().await;
    let body = serde_json::json!({"name": "Магазин", "greeting": "Здравствуйте!", "allowed_origins": [shop]});
    let r = s.as_(&admin, Method::POST, "/api/v1/widgets").json(&body).send().await.unwrap();
    let widget = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let page = serve_company_page(site, &s.url, &widget);
    let manager = s.employee(Role::Manager, &[]).await;
    let driver = Driver::start().await;
    let b = driver.browser(1280, 1000).await;
    sign_in(&s, &b, &manager).await;

    // The consent text, required, set in the cabinet.
    b.click("a[data-section=personal-data]").await;
    b.fill("#consent-text", "Я согласен на обработку моих персональных данных ООО «Магазин».").await;
    b.click("#consent-required").await;
    b.click("#consent-save").await;
    b.text_in("#consent-version", "1").await;

    // The visitor may write only after accepting it.
    let visitor = open_widget(&driver, &shop, 1280, 860).await;
    visitor.text_in("#consent-text", "ООО «Магазин»").await;
    assert_eq!(visitor.run("return document.querySelector('#widget-input').disabled").await, true);
    visitor.client.enter_parent_frame().await.unwrap();
    visitor.screenshot("widget-consent").await;
    visitor.client.enter_frame(0).await.unwrap();
    visitor.click("#consent-accept").await;
    visitor.find("#consent-withdraw").await;
    write(&visitor, "Меня зовут Пётр, удалите потом мои данные").await;
    assert_eq!(s.search(&admin, "Пётр").await.len(), 1, "findable while kept");

    // From the conversation to the subject's data: an erasure request, answered.
    b.click("a[data-section=workplace]").await;
    b.click("#conversation-list button.conversation-item").await;
    b.text_in("#messages", "Меня зовут Пётр").await;
    b.click("#client-data").await;
    let prefilled = b.run("return document.querySelector('#request-visitor').value").await;
    assert_eq!(prefilled.as_str().map(str::len), Some(36), "the visitor comes from the conversation");
    b.run("document.querySelector('#request-kind').value = 'erasure'").await;
    b.fill("#request-note", "обращение № 5").await;
    b.click("#request-open").await;
    b.text_in("#requests-table", "обращение № 5").await;
    b.screenshot("cabinet-personal-data").await;
    b.click("#requests-table button[data-erase]").await;
    b.client.accept_alert().await.unwrap();
    b.text_in("#requests-table", "Исполнен").await;
    // The widget, cut off, starts afresh: a new visitor, asked for consent again.
    visitor.find("#consent-accept").await;
    assert!(!visitor.find("#messages").await.text().await.unwrap().contains("Пётр"), "nothing of Пётр left on screen");

    // The act is listed, and who read what is on record.
    b.click("a[data-section=employees]").await;
    b.click("a[data-section=personal-data]").await;
    b.text_in("#destruction-acts", "Запрос субъекта").await;
    b.text_in("#destruction-acts", "переписка, записи о согласии").await;
    b.text_in("#access-trail", "прочитал переписку").await;
    b.text_in("#access-trail", "уничтожил данные").await;
    b.screenshot("cabinet-acts").await;
    let search = s.get_json(&admin, "/api/v1/conversations?q=Пётр").await;
    assert_eq!(search["items"], serde_json::json!([]), "nothing of Пётр is left");
    no_csp_violations(&s);
    for br in [b, visitor] {
        br.close().await;
    }
    page.abort();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_connects_telegram_and_an_operator_answers_a_telegram_user() {
    use ostrog_testkit::fakes::telegram::FakeTelegram;
    const TOKEN: &str = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ";
    let s = TestServer::start(Backend::Sqlite).await;
    let fake = FakeTelegram::start(TOKEN).await;
    let manager = s.employee(Role::Manager, &[]).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    let b = driver.browser(1280, 900).await;
    sign_in(&s, &b, &manager).await;
    b.click("a[data-section=channels]").await;
    b.text_in("#main", "не подключены").await;
    b.fill("#channel-connect #f-name", "Бот магазина").await;
    b.fill("#channel-connect #f-api_base", &fake.base_url()).await;
    b.fill("#channel-connect #f-bot_token", TOKEN).await;
    // Long enough after signing in that connecting needs the password again.
    s.clock.advance(6 * 60 * SECOND);
    b.click("#channel-connect-submit").await;
    b.fill("#main #f-password", &manager.password).await;
    b.fill("#main #f-code", &s.next_code(&manager)).await;
    b.click("#reauth-submit").await;
    b.text_in("#main article[data-channel]", "Бот магазина").await;
    b.text_in("#main article[data-channel]", "Токен бота").await;
    let page = b.run("return document.body.innerText").await;
    assert!(!page.as_str().unwrap().contains(TOKEN), "the token is never shown back");
    b.screenshot("cabinet-channels").await;
    let (_, secret) = fake.webhook().expect("the webhook is registered");

    // A Telegram user writes; the operator answers in the workplace.
    let op = driver.browser(1280, 860).await;
    sign_in(&s, &op, &operator).await;
    op.text_in(".connection", "Подключено").await;
    let channel = s.app.list_channels().await.unwrap().remove(0).id;
    let update = serde_json::json!({"update_id": 1, "message": {"message_id": 1, "date": 1,
        "chat": {"id": 4242, "type": "private"}, "from": {"id": 4242, "is_bot": false, "first_name": "Anna"},
        "text": "Здравствуйте, где мой заказ?"}});
    let r = s
        .request(Method::POST, &format!("/api/v1/hooks/telegram/{channel}"))
        .header("X-Telegram-Bot-Api-Secret-Token", secret.unwrap())
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    op.text_in("#conversation-list", "Telegram").await;
    op.click("#conversation-list button.conversation-item").await;
    op.text_in("#messages", "где мой заказ").await;
    op.fill("#composer", "Заказ уже в пути.").await;
    op.click("#send").await;
    op.text_in("#messages li.to-visitor", "Доставлено в мессенджер").await;
    assert_eq!(fake.sent()[0].text.as_deref(), Some("Заказ уже в пути."));
    op.screenshot("workplace-telegram").await;
    no_csp_violations(&s);
    for browser in [b, op] {
        browser.close().await;
    }
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
    op.click("a[data-section=account]").await;
    op.fill("#f-current_password", &operator.password).await;
    op.fill("#f-new_password", "qwertyuiopasdfgh").await;
    op.click("form.panel button[type=submit]").await;
    op.text_in("form.panel .error", "adjacent keys").await;
    op.run("document.querySelector('form.panel .error').scrollIntoView({block: 'center'})").await;
    op.screenshot("account-weak-password-en").await;
    op.click("a[data-section=workplace]").await;
    op.text_in(".connection", "Connected").await;

    let b = driver.browser(1280, 860).await;
    sign_in(&s, &b, &manager).await;
    b.click("a[data-section=employees]").await;
    b.click(&format!("button[data-end-sessions='{}']", operator.employee.email)).await;
    b.client.accept_alert().await.unwrap(); // "End every session of …?"
    op.text_in("h1", "Sign in").await;
    assert!(!op.has("#sign-out").await, "the operator is signed out");
    let audit = s.app.audit_page(&Default::default(), 0, 1000).await.unwrap();
    assert!(audit.iter().any(|e| e.event.action == "employee.sessions_ended"));
    b.screenshot("cabinet-employees").await;
    no_csp_violations(&s);
    op.close().await;
    b.close().await;
    s.stop().await;
}
