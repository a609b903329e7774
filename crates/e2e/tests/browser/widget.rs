//! The widget as a visitor lives with it on a company's page: the newest
//! message always in view (a small panel, a phone), a "new messages" pill
//! when they have scrolled up to read, and a frame that loads only the
//! widget (never the employees' app).

use ostrog_domain::role::Role;
use ostrog_e2e::company::{company_site, open_widget, serve_company_page, serve_page, write};
use ostrog_e2e::sign_in::sign_in;
use ostrog_e2e::{Browser, Driver, PATIENCE, eventually, no_csp_violations};
use ostrog_testkit::{Backend, TestServer};
use reqwest::Method;

/// An installation and a widget speaking `language`; the widget's allowed origin is a company's site
/// serving a page with it: the site's address and the server task.
async fn shop(s: &TestServer, language: &str) -> (String, tokio::task::JoinHandle<()>) {
    let admin = s.session(&s.administrator().await).await;
    // The installation speaks the widget's language too (the workplace's words).
    let r = s.as_(&admin, Method::PUT, "/api/v1/settings/language").json(&serde_json::json!({"language": language}));
    assert_eq!(r.send().await.unwrap().status(), 204);
    let (shop, site) = company_site().await;
    let body = serde_json::json!({"name": "Shop", "greeting": "Hello! How can we help?", "allowed_origins": [shop], "language": language});
    let r = s.as_(&admin, Method::POST, "/api/v1/widgets").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let widget = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let page = serve_company_page(site, &s.url, &widget);
    (shop, page)
}

/// Whether the last message of the widget's list contains `text` and lies
/// wholly inside the list's visible rectangle (the visitor sees it).
async fn newest_in_view(visitor: &Browser, text: &str) -> bool {
    let script = format!(
        "const list = document.getElementById('messages');
         const items = list.querySelectorAll('li.message');
         const last = items[items.length - 1];
         if (!last || !last.textContent.includes({text})) return false;
         const a = list.getBoundingClientRect(), b = last.getBoundingClientRect();
         return b.top >= a.top - 1 && b.bottom <= a.bottom + 1;",
        text = serde_json::to_string(text).unwrap()
    );
    visitor.run(&script).await == true
}

async fn sees_newest(visitor: &Browser, text: &str) {
    eventually(&format!("the visitor sees {text:?} in the list"), PATIENCE, || newest_in_view(visitor, text)).await;
}

/// A visitor writes ten messages and gets ten replies in a panel of
/// `width`×`height`, and always sees the newest; reopening the widget, or
/// coming back to the page, shows the newest; having scrolled up, they get
/// the pill instead of a jump.
async fn newest_always_in_view(width: u32, height: u32, language: &str, pill: &str, name: &str) {
    let s = TestServer::start(Backend::Sqlite).await;
    let (shop, page) = shop(&s, language).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    let op = driver.browser(1280, 860).await;
    sign_in(&s, &op, &operator).await;

    let visitor = open_widget(&driver, &shop, width, height).await;
    for i in 1..=10 {
        let question = format!("Question {i}: where is my order 10{i}? It was to come on Monday.");
        write(&visitor, &question).await;
        sees_newest(&visitor, &question).await;
        if i == 1 {
            op.click("#conversation-list button.conversation-item").await;
        }
        op.text_in("#messages", &question).await;
        let answer = format!("Answer {i}: it is on its way.");
        op.fill("#composer", &answer).await;
        op.click("#send").await;
        visitor.text_in("#messages", &answer).await;
        sees_newest(&visitor, &answer).await;
    }
    let overflows = "const l = document.getElementById('messages'); return l.scrollHeight > 2 * l.clientHeight";
    assert_eq!(visitor.run(overflows).await, true, "the history outgrew the panel");
    let panel_still =
        "return document.scrollingElement.scrollTop === 0 && document.querySelector('.widget-body').scrollTop === 0";
    assert_eq!(visitor.run(panel_still).await, true, "only the message list scrolls");
    visitor.client.enter_parent_frame().await.unwrap();
    visitor.screenshot(&format!("widget-newest-{name}")).await;
    visitor.client.enter_frame(0).await.unwrap();

    // Closed and opened again: the newest, not the oldest.
    visitor.click("#widget-close").await;
    visitor.click("#launcher").await;
    sees_newest(&visitor, "Answer 10").await;

    // Back on the page later: the history comes while the widget is closed.
    visitor.client.enter_parent_frame().await.unwrap();
    visitor.goto(&shop).await;
    visitor.find("iframe").await;
    visitor.client.enter_frame(0).await.unwrap();
    visitor.click("#launcher").await;
    visitor.text_in("#messages", "Answer 10").await;
    sees_newest(&visitor, "Answer 10").await;

    // Scrolled up to read: a new reply offers the pill instead of jumping.
    visitor.run("document.getElementById('messages').scrollTop = 0").await;
    let at_top = "return document.getElementById('messages').scrollTop === 0";
    eventually("the list stays at its top", PATIENCE, || async { visitor.run(at_top).await == true }).await;
    op.fill("#composer", "Answer 11: anything else?").await;
    op.click("#send").await;
    visitor.text_in("#new-messages:not([hidden])", pill).await;
    assert!(!newest_in_view(&visitor, "Answer 11").await, "the list did not jump");
    assert_eq!(visitor.run(at_top).await, true, "the visitor still reads where they were");
    visitor.client.enter_parent_frame().await.unwrap();
    visitor.screenshot(&format!("widget-new-messages-{name}")).await;
    visitor.client.enter_frame(0).await.unwrap();
    visitor.click("#new-messages").await;
    sees_newest(&visitor, "Answer 11").await;
    assert_eq!(visitor.run("return document.getElementById('new-messages').hidden").await, true);

    no_csp_violations(&s);
    op.close().await;
    visitor.close().await;
    page.abort();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_always_sees_the_newest_message_in_a_small_panel() {
    newest_always_in_view(1280, 520, "en", "New messages", "small").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_always_sees_the_newest_message_on_a_phone() {
    newest_always_in_view(390, 844, "ru", "Новые сообщения", "phone").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_frame_loads_only_the_widget() {
    let s = TestServer::start(Backend::Sqlite).await;
    let (shop, page) = shop(&s, "en").await;
    let driver = Driver::start().await;
    let visitor = open_widget(&driver, &shop, 1280, 860).await;
    write(&visitor, "Hello").await;

    // Nothing of the employees' app: no page of it, no call to its API.
    assert_eq!(visitor.run("return document.getElementById('app')").await, serde_json::Value::Null);
    let calls = "return performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)
        .filter((p) => p.startsWith('/api/') && !p.startsWith('/api/v1/widget/'))";
    assert_eq!(visitor.run(calls).await, serde_json::json!([]), "the frame called the employees' API");
    let scripts = "return performance.getEntriesByType('resource').map((e) => e.name).filter((n) => /\\/(app|nav)\\.js$/.test(n))";
    assert_eq!(visitor.run(scripts).await, serde_json::json!([]), "the frame loaded the employees' app");
    // And nothing went wrong on the way: no error in the console, on the page or in the frame.
    let errors = crate::console_errors(&driver, &visitor).await;
    assert!(errors.is_empty(), "console errors on a visitor's page: {errors:?}");

    no_csp_violations(&s);
    visitor.close().await;
    page.abort();
    s.stop().await;
}

/// Makes the page's WebSockets drop what they are given (`false`), as a
/// connection that silently lost its way would, or work again (`true`).
async fn sockets_deliver(b: &Browser, deliver: bool) {
    let script = if deliver {
        "if (window.realSend) WebSocket.prototype.send = window.realSend;"
    } else {
        "window.realSend = window.realSend || WebSocket.prototype.send; WebSocket.prototype.send = function () {};"
    };
    b.run(script).await;
}

/// A message the server never acknowledged is not "sending…" forever: it
/// says why it failed and offers "Resend", which delivers it, in the widget
/// and in the workplace alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_message_says_why_and_is_resent_in_the_widget_and_the_workplace() {
    let s = TestServer::start(Backend::Sqlite).await;
    let (shop, page) = shop(&s, "en").await;
    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;
    let op = driver.browser(1280, 860).await;
    sign_in(&s, &op, &operator).await;
    let visitor = open_widget(&driver, &shop, 390, 844).await;
    write(&visitor, "Hello, is my parcel insured?").await;
    op.click("#conversation-list button.conversation-item").await;
    op.text_in("#messages", "is my parcel insured").await;

    // The visitor's message is lost on the way: after a while it says so.
    sockets_deliver(&visitor, false).await;
    visitor.fill("#widget-input", "Are you there?").await;
    visitor.click("#widget-send").await;
    let long = std::time::Duration::from_secs(20);
    let failed = "const li = document.querySelector('#messages li.pending.failed'); return li ? li.textContent : ''";
    eventually("the widget says the message failed", long, || async {
        visitor.run(failed).await.as_str().is_some_and(|t| t.contains("Not sent"))
    })
    .await;
    let said = visitor.run(failed).await;
    assert!(said.as_str().unwrap().contains("did not confirm"), "{said}");
    assert!(!said.as_str().unwrap().contains("object"), "{said}");
    sees_newest(&visitor, "Are you there?").await;
    visitor.client.enter_parent_frame().await.unwrap();
    visitor.screenshot("widget-message-failed").await;
    visitor.client.enter_frame(0).await.unwrap();
    sockets_deliver(&visitor, true).await;
    visitor.click("#messages li.failed button.resend").await;
    op.text_in("#messages", "Are you there?").await;
    let delivered = "return !document.querySelector('#messages li.pending')
        && [...document.querySelectorAll('#messages li[data-seq]')].some((li) => li.textContent.includes('Are you there?'))";
    eventually("the widget shows it delivered", PATIENCE, || async { visitor.run(delivered).await == true }).await;

    // The same in the workplace.
    sockets_deliver(&op, false).await;
    op.fill("#composer", "Yes, it is insured.").await;
    op.click("#send").await;
    let failed = "const li = document.querySelector('.pending li.failed'); return li ? li.textContent : ''";
    eventually("the workplace says the message failed", long, || async {
        op.run(failed).await.as_str().is_some_and(|t| t.contains("Not sent"))
    })
    .await;
    op.screenshot("workplace-message-failed").await;
    sockets_deliver(&op, true).await;
    op.click(".pending li.failed button.resend").await;
    visitor.text_in("#messages", "Yes, it is insured.").await;
    eventually("the workplace shows it delivered", PATIENCE, || async {
        op.run("return document.querySelectorAll('.pending li').length").await == 0
    })
    .await;
    op.text_in("#messages", "Yes, it is insured.").await;

    no_csp_violations(&s);
    op.close().await;
    visitor.close().await;
    page.abort();
    s.stop().await;
}

/// A widget on a company's site that is not among its allowed origins shows
/// nothing there (no grey frame), while a widget allowed there shows; the
/// widget form says what an origin is, next to the field; and the widget's
/// test page on Ostrog lets the administrator chat with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_origin_shows_nothing_and_the_test_page_lets_its_manager_chat() {
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    let manager = s.employee(Role::Manager, &[]).await;
    let (shop, site) = company_site().await;
    let mut ids = Vec::new();
    for (name, origin) in [("Allowed", shop.as_str()), ("Elsewhere", "https://elsewhere.example")] {
        let body = serde_json::json!({"name": name, "greeting": "Hi", "allowed_origins": [origin], "language": "en"});
        let r = s.as_(&admin, Method::POST, "/api/v1/widgets").json(&body).send().await.unwrap();
        assert_eq!(r.status(), 201);
        ids.push(r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string());
    }
    let (allowed, refused) = (&ids[0], &ids[1]);
    let tags = format!(
        "<script src=\"{u}/widget.js\" data-widget=\"{refused}\" async></script>\
         <script src=\"{u}/widget.js\" data-widget=\"{allowed}\" async></script>",
        u = s.url
    );
    let page = serve_page(site, &tags);

    let driver = Driver::start().await;
    let visitor = driver.browser(1280, 860).await;
    visitor.goto(&shop).await;
    let shown = |id: &str| {
        format!(
            "const f = [...document.querySelectorAll('iframe')].find((f) => f.src.split('#')[0].endsWith('/widget/{id}'));
                 return !!f && getComputedStyle(f).visibility === 'visible'"
        )
    };
    let (allowed_shown, refused_shown) = (shown(allowed), shown(refused));
    eventually("the allowed widget shows", PATIENCE, || async { visitor.run(&allowed_shown).await == true }).await;
    // Both frames were asked for at once; the refused one stays hidden.
    let until = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
    while tokio::time::Instant::now() < until {
        assert_eq!(visitor.run(&refused_shown).await, false, "the refused widget shows nothing");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    visitor.screenshot("widget-refused-origin").await;
    // The browser reports its refusal of the frame (frame-ancestors): that one report, and no other.
    let reports = || s.app.csp_violations.load(std::sync::atomic::Ordering::Relaxed);
    eventually("the browser reported the refused frame", PATIENCE, || async { reports() == 1 }).await;

    // The form says what an origin is, and a wrong one is refused next to it.
    let b = driver.browser(1280, 1000).await;
    sign_in(&s, &b, &manager).await;
    b.click("a[data-section=widgets]").await;
    b.text_in("#f-origins-hint", "без пути").await;
    b.fill("#f-name", "Витрина").await;
    b.fill("#f-origins", "https://shop.example/cart").await;
    b.click("form.panel button[type=submit]").await;
    b.text_in("#f-origins-error", "схема://хост[:порт] без пути").await;
    b.screenshot("cabinet-widget-origin-error").await;

    // The test page of the widget allowed only elsewhere: it works there.
    let href = b.find(&format!("a[data-try='{refused}']")).await.attr("href").await.unwrap().unwrap();
    b.goto(&format!("{}{href}", s.url)).await;
    b.text_in("h1", "Test page of the widget “Elsewhere”").await;
    eventually("the widget shows on its test page", PATIENCE, || async { b.run(&refused_shown).await == true }).await;
    b.client.enter_frame(0).await.unwrap();
    b.click("#launcher").await;
    write(&b, "Testing my own widget").await;
    b.client.enter_parent_frame().await.unwrap();
    b.screenshot("widget-try-page").await;

    assert_eq!(reports(), 1, "no CSP violation besides the refused frame");
    visitor.close().await;
    b.close().await;
    page.abort();
    s.stop().await;
}
