//! The operator in the workplace (transfers are in `routing.rs`): surviving a
//! network drop, paging a long history, revealing a masked card number.

use ostrog_domain::clock::Clock;
use ostrog_domain::role::Role;
use ostrog_e2e::sign_in::{sign_in, sign_in_at};
use ostrog_e2e::{Driver, PATIENCE, eventually, no_csp_violations};
use ostrog_testkit::{Backend, TestServer};

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
    crate::no_console_errors_but_failed_sockets(&driver, &b).await;
    b.close().await;
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
    crate::no_console_errors(&driver, &[&b]).await;
    b.close().await;
    s.stop().await;
}
