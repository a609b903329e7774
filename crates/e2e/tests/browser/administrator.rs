//! Administrators and managers in the cabinet: a new installation from its
//! set-up link, permissions and offboarding, a Telegram channel.

use ostrog_domain::clock::SECOND;
use ostrog_domain::role::Role;
use ostrog_e2e::company::{company_site, open_widget, serve_company_page, write};
use ostrog_e2e::sign_in::{enrol, sign_in};
use ostrog_e2e::{Driver, PATIENCE, eventually, no_csp_violations};
use ostrog_testkit::{Backend, TestServer};
use reqwest::Method;

/// The README's promise: from the set-up link to the first conversation,
/// all in the browser (in Russian, the default of a new installation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_installation_from_the_set_up_link_to_the_first_chat() {
    let s = TestServer::start(Backend::Sqlite).await;
    let link = s.app.setup.link().await.unwrap().expect("a new installation has a set-up link");
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
    let saved = s.app.widgets.list().await.unwrap().remove(0).settings.working_hours;
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
    crate::no_console_errors(&driver, &[&admin, &operator, &visitor]).await;
    for b in [admin, operator, visitor] {
        b.close().await;
    }
    page.abort();
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
    let held = s.app.employees.permissions(operator.id()).await.unwrap();
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
    let channel = s.app.channel_admin.list_channels().await.unwrap().remove(0).id;
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
