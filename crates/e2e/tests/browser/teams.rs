//! Teams and routing rules as a manager sets them up and operators live
//! them: from the Security page's routing panel the manager opens the
//! teams page, adds a payment team with one operator (the same name again is
//! refused next to the field), adds a rule sending messages about payment
//! (`оплат*`) to that team with a high priority, and tries the rules: a
//! payment question names the rule and the team, "where is my order" goes
//! to the general queue because it has none of the words. Then, with the
//! member and another operator online, a visitor writes about a payment:
//! the member gets the conversation, marked with the team and "urgent",
//! and the other operator does not. Someone who may only read the settings
//! sees the team and the rule and tries them, without a control to change
//! them — in Russian on a desktop and in English on a phone.

use ostrog_domain::permission::Permission;
use ostrog_domain::role::Role;
use ostrog_e2e::sign_in::sign_in;
use ostrog_e2e::{Driver, PATIENCE, eventually, no_csp_violations};
use ostrog_testkit::{Backend, TestServer, revoke};
use serde_json::json;

struct Words {
    team: &'static str,
    rule: &'static str,
    taken: &'static str,
    connected: &'static str,
    urgent: &'static str,
    decides: &'static str,
    general_queue: &'static str,
    no_words: &'static str,
}

const RU: Words = Words {
    team: "Оплата",
    rule: "Платежи",
    taken: "уже есть",
    connected: "Подключено",
    urgent: "Срочно",
    decides: "Решает правило 1 «Платежи»: команда «Оплата», высокий приоритет.",
    general_queue: "Ни одно правило не подходит: диалог пойдёт в общую очередь.",
    no_words: "в первом сообщении нет ни одного из слов",
};
const EN: Words = Words {
    team: "Payments",
    rule: "Card payments",
    taken: "already exists",
    connected: "Connected",
    urgent: "Urgent",
    decides: "Rule 1 “Card payments” decides: team “Payments”, high priority.",
    general_queue: "No rule matches: the conversation goes to the general queue.",
    no_words: "the first message has none of the words",
};

async fn a_rule_sends_a_payment_question_to_the_payment_team(lang: &str, width: u32, height: u32) {
    let words = if lang == "en" { EN } else { RU };
    let shot = |what: &str| format!("teams-{what}-{lang}-{width}");
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    s.set_language(&admin, lang).await;
    let (widget, _) = s.widget(&admin).await;
    let member = s.employee(Role::Operator, &[]).await;
    let outsider = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;

    // The manager finds the page from the routing panel of the Security page.
    let manager = s.employee(Role::Manager, &[]).await;
    let m = driver.browser(width, height).await;
    sign_in(&s, &m, &manager).await;
    m.section("security").await;
    m.find("#teams-link").await;
    m.run("document.getElementById('teams-link').scrollIntoView({block: 'center'})").await;
    m.screenshot(&shot("security-link")).await;
    m.click("#teams-link").await;
    m.find("#teams-settings #team-new-name").await;
    assert!(m.run("return location.pathname").await == json!("/teams"));

    // A team with one of the two operators; the same name again is refused at the field.
    m.fill("#team-new-name", words.team).await;
    m.click(&format!("#team-new-form input[name=member][value='{}']", member.id().0)).await;
    m.click("#team-add").await;
    let listed = m.text_in("#teams-settings .team-list", words.team).await;
    assert!(listed.contains("Test operator") && listed.contains("120"), "{listed}");
    m.fill("#team-new-name", &words.team.to_uppercase()).await;
    m.click("#team-add").await;
    m.text_in("#team-new-name-error", words.taken).await;
    let focused = m.run("return document.activeElement.id").await;
    assert_eq!(focused, json!("team-new-name"), "the cursor goes to the refused field");
    let refused = crate::console_errors(&driver, &m).await;
    assert!(refused.len() == 1 && refused[0].contains("409"), "only the refusal shown: {refused:?}");
    m.run("document.getElementById('teams-settings').scrollIntoView()").await;
    m.screenshot(&shot("settings")).await;

    // The team waits longer for its members: changed in place.
    m.click("#teams-settings .team-item button[data-edit]").await;
    m.fill("#teams-settings .team-item input[name=fallback_after_seconds]", "300").await;
    m.click("#teams-settings .team-item button[type=submit]").await;
    let listed = m.text_in("#teams-settings .team-list", "300").await;
    assert!(listed.contains(words.team) && listed.contains("Test operator"), "the name and members stay: {listed}");

    // A rule: the words about payment go to that team, urgently.
    m.click("#rule-new").await;
    m.fill("#rule-name", words.rule).await;
    m.fill("#rule-words", "оплат*, не списались").await;
    m.run(&format!(
        "const s = document.getElementById('rule-team'); s.value = [...s.options].find(o => o.textContent === '{}').value",
        words.team
    ))
    .await;
    m.run("document.getElementById('rule-priority').value = 'high'").await;
    m.run("document.getElementById('rule-form').scrollIntoView()").await;
    m.screenshot(&shot("rule-form")).await;
    m.click("#rule-save").await;
    let rules = m.text_in("#rules-settings .rule-list", words.rule).await;
    assert!(rules.contains(words.team) && rules.contains("оплат*, не списались"), "{rules}");
    assert!(!m.has("#rule-form").await, "the form closes once saved");
    m.run("document.getElementById('rules-settings').scrollIntoView()").await;
    m.screenshot(&shot("rules")).await;

    // The dry-run names the rule and the team; a question without the words goes to the general queue.
    m.fill("#dry-run-text", "Не проходит оплата").await;
    m.click("#dry-run-go").await;
    m.text_in("#dry-run-result", words.decides).await;
    m.run("document.getElementById('dry-run').scrollIntoView()").await;
    m.screenshot(&shot("dry-run-matched")).await;
    m.fill("#dry-run-text", "Где заказ?").await;
    m.click("#dry-run-go").await;
    let result = m.text_in("#dry-run-result", words.general_queue).await;
    assert!(result.contains(words.rule) && result.contains(words.no_words), "{result}");
    m.run("document.getElementById('dry-run').scrollIntoView()").await;
    m.screenshot(&shot("dry-run-unmatched")).await;

    // Both operators are online; a visitor writes about a payment.
    let a = driver.browser(width, height).await;
    sign_in(&s, &a, &member).await;
    a.text_in(".connection", words.connected).await;
    let b = driver.browser(width, height).await;
    sign_in(&s, &b, &outsider).await;
    b.text_in(".connection", words.connected).await;
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    visitor.say("Не проходит оплата картой").await;

    // The member has it, marked with the team and as urgent, in words.
    let row = "#conversation-list .conversation-item .labels";
    a.text_in(row, words.team).await;
    let marks = a.text_in(row, words.urgent).await;
    assert!(marks.contains(words.team), "{marks}");
    a.text_in("#conversation-list .conversation-item", "оплата картой").await;
    a.screenshot(&shot("member")).await;
    let id = a.run("return document.querySelector('#conversation-list .conversation-item').dataset.id").await;
    let c = s.get_json(&admin, &format!("/api/v1/conversations/{}", id.as_str().unwrap())).await;
    assert_eq!(c["operator_id"], json!(member.id().0.to_string()), "{c}");

    // The other operator's list stays empty: the team's wait has not passed.
    eventually("the outsider's list is drawn", PATIENCE, || async { b.has("#conversation-list li.empty").await }).await;
    let theirs = b.run("return document.querySelectorAll('#conversation-list .conversation-item').length").await;
    assert_eq!(theirs, json!(0), "the outsider does not get the team's conversation");
    b.screenshot(&shot("outsider")).await;

    // Someone who may only read the settings sees the team and the rule, and tries the rules, but changes nothing.
    let reader = s.employee(Role::OperatorSupervisor, &[revoke(Permission::SettingsManage)]).await;
    let r = driver.browser(width, height).await;
    sign_in(&s, &r, &reader).await;
    r.goto(&format!("{}/teams", s.url)).await;
    r.text_in("#teams-settings .team-list", words.team).await;
    r.text_in("#rules-settings .rule-list", words.rule).await;
    for control in ["#team-add", "#rule-new", "#rules-settings .rule-list button", "#teams-settings .team-list button"]
    {
        assert!(!r.has(control).await, "{control} is for those who may change the settings");
    }
    r.fill("#dry-run-text", "Деньги не списались").await;
    r.click("#dry-run-go").await;
    r.text_in("#dry-run-result", words.decides).await;
    r.screenshot(&shot("read-only")).await;

    no_csp_violations(&s);
    crate::no_console_errors(&driver, &[&m, &a, &b, &r]).await;
    r.close().await;
    a.close().await;
    b.close().await;
    m.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_question_goes_to_the_payment_team_in_russian_on_a_desktop() {
    a_rule_sends_a_payment_question_to_the_payment_team("ru", 1440, 900).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_question_goes_to_the_payment_team_in_english_on_a_phone() {
    a_rule_sends_a_payment_question_to_the_payment_team("en", 390, 844).await;
}
