//! Satisfaction as a manager reads it: conversations routed to a team and
//! rated by their visitors (the widget's comment is in `visitor.rs`), and
//! the statistics page over a period the manager
//! picks — longer than a month, so the chart by day gives way — showing the
//! team's and the other conversations' ratings; a reversed period is
//! refused next to the dates. In Russian on a desktop and in English on a
//! phone.

use ostrog_domain::role::Role;
use ostrog_e2e::sign_in::sign_in;
use ostrog_e2e::{Driver, PATIENCE, eventually, no_csp_violations};
use ostrog_testkit::{Backend, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn post(s: &TestServer, token: &str, path: &str, body: Value) -> Value {
    let r = s.as_(token, Method::POST, path).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

async fn a_manager_reads_satisfaction_by_team_over_a_period(lang: &str, width: u32, height: u32) {
    let (team_name, no_team, refused) = if lang == "en" {
        ("Payments", "No team", "before the last")
    } else {
        ("Оплата", "Без команды", "раньше последнего")
    };
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    s.set_language(&admin, lang).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let op_token = s.session(&operator).await;
    let mut op_ws = s.operator_ws(&op_token).await;
    op_ws.send(json!({"type": "presence", "status": "online"})).await;
    let team = post(&s, &admin, "/api/v1/teams", json!({"name": team_name, "members": [operator.id()]})).await;
    let rules = json!({"rules": [{"name": "pay", "when": {"words": ["оплат*"]}, "then": {"team": team["id"]}}]});
    let r = s.as_(&admin, Method::PUT, "/api/v1/routing/rules").json(&rules).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let (widget, _) = s.widget(&admin).await;
    for (text, rate) in [
        ("Оплата прошла?", json!({"type": "rate", "rating": 5, "comment": "Спасибо, всё понятно"})),
        ("Где курьер?", json!({"type": "rate", "rating": 2})),
    ] {
        let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
        let c = visitor.say(text).await["conversation_id"].as_str().unwrap().to_string();
        op_ws.receive(text).await;
        post(&s, &op_token, &format!("/api/v1/conversations/{c}/close"), json!({})).await;
        visitor.expect("closed").await;
        visitor.send(rate).await;
        visitor.expect("rated").await;
    }

    let driver = Driver::start().await;
    let manager = s.employee(Role::Manager, &[]).await;
    let m = driver.browser(width, height).await;
    sign_in(&s, &m, &manager).await;
    m.section("statistics").await;
    m.find("#satisfaction-teams").await;
    // A reversed period is refused where the dates are.
    m.run("document.getElementById('stats-from').value = '2030-01-10'; document.getElementById('stats-to').value = '2030-01-01'").await;
    m.click("#stats-show").await;
    m.text_in("#stats-period-error", refused).await;
    // Forty days up to today: no chart by day, the ratings by team.
    m.run(
        "const d = (n) => { const x = new Date(Date.now() - n * 864e5); \
           return `${x.getFullYear()}-${String(x.getMonth() + 1).padStart(2, '0')}-${String(x.getDate()).padStart(2, '0')}`; }; \
         document.getElementById('stats-from').value = d(40); document.getElementById('stats-to').value = d(0)",
    )
    .await;
    m.click("#stats-show").await;
    eventually("the ratings by team", PATIENCE, || async {
        let rows =
            m.run("const t = document.getElementById('satisfaction-teams'); return t ? t.textContent : ''").await;
        rows.as_str()
            .is_some_and(|r| r.contains(&format!("{team_name}15100 %")) && r.contains(&format!("{no_team}120 %")))
    })
    .await;
    assert!(!m.has("svg.chart").await, "no chart by day for 41 days");
    m.run("document.getElementById('satisfaction-title').scrollIntoView()").await;
    m.screenshot(&format!("satisfaction-{lang}-{width}")).await;

    let _ = &mut op_ws;
    no_csp_violations(&s);
    crate::no_console_errors(&driver, &[&m]).await;
    m.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn satisfaction_ru_desktop() {
    a_manager_reads_satisfaction_by_team_over_a_period("ru", 1440, 900).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn satisfaction_en_phone() {
    a_manager_reads_satisfaction_by_team_over_a_period("en", 390, 844).await;
}
