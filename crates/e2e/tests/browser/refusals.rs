//! Refusals said in words, where they belong: the password policy's length
//! counted live and a too-short password refused with the number, a wrong
//! second-factor code explained (not "wrong password"), and a taken e-mail
//! shown next to the e-mail field.

use ostrog_domain::role::Role;
use ostrog_e2e::sign_in::sign_in;
use ostrog_e2e::{Driver, no_csp_violations};
use ostrog_testkit::{Backend, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_policy_is_counted_live_and_a_refusal_names_its_reason() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.auth.password_min_length = 15).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    let op = driver.browser(390, 844).await;
    sign_in(&s, &op, &operator).await;
    op.section("account").await;
    op.text_in("#f-new_password-hint", "Осталось символов: 15").await;
    op.fill("#f-current_password", &operator.password).await;
    // Thirteen characters: two short, counted as they are typed.
    op.fill("#f-new_password", "лодка у моста").await;
    op.text_in("#f-new_password-hint", "Осталось символов: 2").await;
    op.click("form.panel button[type=submit]").await;
    op.text_in("form.panel .error", "не меньше 15 символов").await;
    op.run("document.querySelector('form.panel .error').scrollIntoView({block: 'center'})").await;
    op.screenshot("account-password-too-short-ru").await;
    op.fill("#f-new_password", "лодка у моста ночью").await;
    op.text_in("#f-new_password-hint", "Длины достаточно").await;
    no_csp_violations(&s);
    op.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_code_at_sign_in_says_the_code_did_not_match() {
    let s = TestServer::start(Backend::Sqlite).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    let b = driver.browser(1280, 860).await;
    b.goto(&format!("{}/sign-in", s.url)).await;
    let right = s.next_code(&operator);
    let wrong = if right == "000000" { "111111" } else { "000000" };
    // In Russian (a new installation's language), then in English.
    for (language, did_not_match) in [("ru", "Код не подошёл"), ("en", "The code did not match")] {
        let choose = format!(
            "const s = document.querySelector('select.language'); s.value = '{language}'; s.dispatchEvent(new Event('change'));"
        );
        b.find("select.language").await;
        b.run(&choose).await;
        b.fill("#f-email", &operator.employee.email).await;
        b.fill("#f-password", &operator.password).await;
        b.click("button[type=submit]").await;
        b.fill("#f-code", wrong).await;
        b.click("button[type=submit]").await;
        b.text_in("form .error", did_not_match).await;
        if language == "ru" {
            b.text_in("form .error", "часы телефона").await;
            b.screenshot("second-factor-wrong-code-ru").await;
            b.click("form .link:last-of-type").await; // sign out, back to the first step
            b.find("#f-email").await;
        }
    }
    let said = b.text_in("form .error", "The code did not match").await;
    assert!(said.contains("clock"), "suggests checking the phone's clock: {said}");
    assert!(!said.contains("password"), "not a wrong password: {said}");
    b.screenshot("second-factor-wrong-code").await;
    b.fill("#f-code", &right).await;
    b.click("button[type=submit]").await;
    b.find("#sign-out").await;
    no_csp_violations(&s);
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_e_mail_is_shown_next_to_the_e_mail_field() {
    let s = TestServer::start(Backend::Sqlite).await;
    let manager = s.employee(Role::Manager, &[]).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    for (width, height, name) in [(1280, 860, "desktop"), (390, 844, "phone")] {
        let b = driver.browser(width, height).await;
        sign_in(&s, &b, &manager).await;
        b.section("employees").await;
        b.fill("#f-name", "Олег Второй").await;
        b.fill("#f-email", &operator.employee.email).await;
        b.click("form.panel button[type=submit]").await;
        b.text_in("#f-email-error", "уже есть").await;
        let beside = "const e = document.getElementById('f-email-error');
            return e.parentElement.contains(document.getElementById('f-email'))
              && document.getElementById('f-email').getAttribute('aria-invalid') === 'true'";
        assert_eq!(b.run(beside).await, true, "the refusal is next to the e-mail field");
        b.run("document.getElementById('f-email').scrollIntoView({block: 'center'})").await;
        b.screenshot(&format!("cabinet-invite-email-taken-{name}")).await;
        // Corrected, the error goes and the invitation is made.
        b.fill("#f-email", &format!("oleg.{name}@shop.example")).await;
        b.click("form.panel button[type=submit]").await;
        b.find("#invitation-url").await;
        assert!(!b.has("#f-email-error").await, "the old refusal is gone");
        b.close().await;
    }
    no_csp_violations(&s);
    s.stop().await;
}
