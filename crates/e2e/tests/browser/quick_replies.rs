//! Quick replies: an operator answering a visitor whose name the company's
//! site signed types `/` and is told there are no replies yet, with a link
//! to the page where they are written; meanwhile a manager writes a shared
//! reply with placeholders (told, next to the code, when a code is taken)
//! and names the company. Back in the workplace the operator types `/hel`,
//! closes the menu with Esc (the text stays), opens it again and inserts
//! the reply with Enter: the composer holds it filled with the visitor's
//! and the operator's names, and nothing is sent until Enter again. A reply
//! deleted meanwhile is refused in words and drops out of the menu. The
//! operator then writes a reply of their own (a placeholder put in with its
//! button), retitles it and finds it in the menu; the statistics count both
//! uses, and the operator deletes it again — in Russian on a desktop (the
//! company named) and in English on a phone (the company not named: the
//! placeholder stays, selected, with a notice). Screenshots at 1440 and
//! 390 px in both languages.

use ostrog_domain::role::Role;
use ostrog_e2e::fantoccini::key::Key;
use ostrog_e2e::sign_in::sign_in;
use ostrog_e2e::{Browser, Driver, PATIENCE, eventually, no_csp_violations};
use ostrog_testkit::{Backend, ORIGIN, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

struct Words {
    connected: &'static str,
    saved: &'static str,
    taken: &'static str,
    shared: &'static str,
    mine: &'static str,
    no_personal: &'static str,
    none: &'static str,
    no_match: &'static str,
    gone: &'static str,
    unfilled: &'static str,
    question: &'static str,
}

const RU: Words = Words {
    connected: "Подключено",
    saved: "Сохранено.",
    taken: "уже есть",
    shared: "общий",
    mine: "мой",
    no_personal: "Своих ответов у вас пока нет",
    none: "Быстрых ответов пока нет",
    no_match: "Нет быстрого ответа для /by",
    gone: "Этого быстрого ответа больше нет",
    unfilled: "название компании",
    question: "Здравствуйте, когда привезёте заказ?",
};
const EN: Words = Words {
    connected: "Connected",
    saved: "Saved.",
    taken: "already exists",
    shared: "shared",
    mine: "mine",
    no_personal: "You have no replies of your own yet",
    none: "There are no quick replies yet",
    no_match: "No quick reply matches /by",
    gone: "This quick reply no longer exists",
    unfilled: "the company’s name",
    question: "Hello, when will my order come?",
};

/// The contact's name, as the company's site signs it.
const CONTACT: &str = "Агафья Купердягина";
const COMPANY: &str = "Кондитерская «Ромашка»";
const HELLO_RU: &str = "Здравствуйте, {contact_name}! Меня зовут {operator_name}, {company_name}.";
const HELLO_EN: &str = "Hello, {contact_name}! My name is {operator_name}, {company_name}.";
/// A code in Cyrillic: codes are letters of any alphabet.
const DELIVERY: &str = "доставка";
const DELIVERY_RU: &str = "{contact_name|Коллега}, доставка занимает два дня.";
/// The English text's placeholder is put in with its button on the form.
const DELIVERY_EN: &str = "Dear {contact_name}, delivery takes two days.";

/// The visitor's identity signed as the company's server would: HMAC-SHA256
/// of the user id under the widget's secret (hex), computed by the
/// browser's Web Crypto, since this crate has no HMAC of its own.
async fn signature(b: &Browser, secret: &str, user: &str) -> String {
    let script = "const [key, user, done] = arguments; \
        const bytes = new Uint8Array(key.match(/../g).map((x) => parseInt(x, 16))); \
        crypto.subtle.importKey('raw', bytes, {name: 'HMAC', hash: 'SHA-256'}, false, ['sign']) \
          .then((k) => crypto.subtle.sign('HMAC', k, new TextEncoder().encode(user))) \
          .then((s) => done([...new Uint8Array(s)].map((x) => x.toString(16).padStart(2, '0')).join('')));";
    let signed = b.client.execute_async(script, vec![json!(secret), json!(user)]).await.unwrap();
    signed.as_str().unwrap().to_string()
}

/// What the composer holds, and what of it is selected.
async fn composer(b: &Browser) -> (String, String) {
    let v = b.run("const c = document.getElementById('composer'); return [c.value, c.value.slice(c.selectionStart, c.selectionEnd)]").await;
    (v[0].as_str().unwrap().to_string(), v[1].as_str().unwrap().to_string())
}

async fn keys(b: &Browser, keys: &str) {
    b.find("#composer").await.send_keys(keys).await.unwrap();
}

async fn menu_open(b: &Browser) -> bool {
    b.run("return !document.getElementById('quick-reply-menu').hidden").await == true
}

/// Nothing on the page is wider than the window (a phone scrolls only down).
async fn fits(b: &Browser, what: &str) {
    let overflow = b.run("return document.documentElement.scrollWidth - window.innerWidth;").await;
    assert!(overflow.as_i64().unwrap() <= 0, "{what}: nothing wider than the window ({overflow} px)");
}

/// `name-lang-width.png` at the journey's width and at the other one (a
/// desktop's 1440 px, a phone's 390 px), checking that the page fits both;
/// `end`: the part of the page to show at the bottom of the window (the
/// top bar: the top of the page).
async fn shots(b: &Browser, name: &str, lang: &str, size: (u32, u32), end: Option<&str>) {
    let other = if size.0 > 600 { (390, 844) } else { (1440, 900) };
    for (width, height) in [size, other] {
        b.client.set_window_size(width, height).await.unwrap();
        if let Some(css) = end {
            b.run(&format!("document.querySelector('{css}').scrollIntoView({{block: 'end'}})")).await;
        }
        fits(b, name).await;
        b.screenshot(&format!("{name}-{lang}-{width}")).await;
    }
    b.client.set_window_size(size.0, size.1).await.unwrap();
}

/// Fills the replies page's form and sends it.
async fn write_reply(b: &Browser, scope: Option<&str>, code: &str, title: &str, ru: &str, en: &str) {
    b.find("#quick-reply-form").await;
    if let Some(scope) = scope {
        b.click(&format!("#f-scope option[value={scope}]")).await;
    }
    b.fill("#f-code", code).await;
    b.fill("#f-title", title).await;
    b.fill("#f-body_ru", ru).await;
    b.fill("#f-body_en", en).await;
    b.click("#quick-reply-form button[type=submit]").await;
}

async fn quick_replies_journey(lang: &str, width: u32, height: u32) {
    let words = if lang == "en" { EN } else { RU };
    let size = (width, height);
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    s.set_language(&admin, lang).await;
    // The widget speaks the journey's language: its conversations get replies in it.
    let body = json!({"name": "Shop", "greeting": "Hi!", "allowed_origins": [ORIGIN], "language": lang});
    let r = s.as_(&admin, Method::POST, "/api/v1/widgets").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let widget: Value = r.json().await.unwrap();
    let (widget, secret) = (widget["id"].as_str().unwrap(), widget["secret"].as_str().unwrap());
    let manager = s.employee(Role::Manager, &[]).await;
    let operator = s.employee(Role::Operator, &[]).await;
    let driver = Driver::start().await;

    // A visitor whose name the company's site signed writes to the operator.
    let o = driver.browser(width, height).await;
    sign_in(&s, &o, &operator).await;
    o.text_in(".connection", words.connected).await;
    let user = "crm-4410";
    let identity = json!({"user_id": user, "signature": signature(&o, secret, user).await, "name": CONTACT});
    let (mut visitor, _) = s.visitor(widget, json!({"type": "hello", "v": 1, "identity": identity})).await;
    let conversation = visitor.say(words.question).await["conversation_id"].as_str().unwrap().to_string();
    o.click("#conversation-list button.conversation-item").await;
    o.text_in("#messages", words.question).await;
    o.text_in(".conversation-header h2", CONTACT).await;

    // No reply exists yet: `/` says so, and leads to the page where they are written.
    o.fill("#composer", "/").await;
    o.text_in("#quick-reply-menu .reply-menu-message", words.none).await;
    shots(&o, "quick-replies-menu-empty", lang, size, Some("form.composer")).await;
    o.click("#quick-reply-menu a.reply-manage").await;
    o.text_in("#quick-replies", words.no_personal).await;

    // Meanwhile the manager writes the shared reply, from the workplace's link.
    let m = driver.browser(width, height).await;
    sign_in(&s, &m, &manager).await;
    m.click("#quick-replies-link").await;
    write_reply(&m, Some("shared"), "hello", "Приветствие", HELLO_RU, HELLO_EN).await;
    m.text_in("#quick-reply-saved", "/hello").await;
    m.text_in("#quick-replies li[data-reply='shared:hello'] .reply-scope", words.shared).await;
    // The same code again (codes are kept lowercase) is refused at the code field.
    write_reply(&m, Some("shared"), "Hello", "Ещё одно", "Добрый день!", "").await;
    m.text_in("#f-code-error", words.taken).await;
    let beside = m.run("return document.getElementById('f-code').getAttribute('aria-invalid')").await;
    assert_eq!(beside, "true", "the refusal marks the code field");
    shots(&m, "quick-replies-page-manager", lang, size, Some("header.top")).await;
    shots(&m, "quick-replies-form-manager", lang, size, Some("#quick-reply-form")).await;
    // The company's name fills {company_name} (left unnamed in English, to see a placeholder stay).
    if lang == "ru" {
        m.section("security").await;
        m.fill("#company-name", COMPANY).await;
        m.click("#company-save").await;
        m.text_in("#company-settings .ok", words.saved).await;
        m.run("document.getElementById('company-settings').scrollIntoView({block: 'center'})").await;
        m.screenshot(&format!("company-name-{lang}-{width}")).await;
    }
    // The refused code is the one failed request the manager's page made.
    let errors = crate::console_errors(&driver, &m).await;
    assert!(errors.iter().all(|e| e.contains("409")), "console errors: {errors:?}");
    m.close().await;
    // One more shared reply, which will be deleted while the operator's menu still lists it.
    let bye = json!({"code": "bye", "title": "Прощание", "bodies": {"ru": "До свидания!", "en": "Goodbye!"}});
    let r = s.as_(&admin, Method::POST, "/api/v1/quick-replies/shared").json(&bye).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let bye = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();

    // Back in the workplace (a new visit loads the replies again), the conversation again.
    o.click("#replies-back").await;
    o.click("#conversation-list button.conversation-item").await;
    o.text_in("#messages", words.question).await;

    // `/hel` opens the menu, the reply chosen; Esc closes it and leaves `/hel`.
    o.fill("#composer", "/hel").await;
    o.text_in("#quick-reply-menu li[role=option][data-code=hello]", "/hello").await;
    o.text_in("#quick-reply-menu li[data-code=hello] .reply-scope", words.shared).await;
    let aria = o
        .run(
            "const c = document.getElementById('composer'); \
             return [c.getAttribute('aria-expanded'), c.getAttribute('aria-controls'), c.getAttribute('aria-activedescendant'), \
                     document.querySelector('#quick-reply-menu li[aria-selected=true]').id, \
                     document.getElementById(c.getAttribute('aria-controls')).getAttribute('role')]",
        )
        .await;
    assert_eq!(aria[0], "true", "{aria}");
    assert_eq!(aria[2], aria[3], "the chosen option is the active descendant: {aria}");
    assert_eq!(aria[4], "listbox", "{aria}");
    shots(&o, "quick-replies-menu", lang, size, Some("form.composer")).await;
    keys(&o, &Key::Escape.to_string()).await;
    eventually("Esc closes the menu", PATIENCE, || async { !menu_open(&o).await }).await;
    assert_eq!(composer(&o).await.0, "/hel", "the text stays as typed");
    assert_eq!(o.run("return document.getElementById('composer').getAttribute('aria-expanded')").await, "false");

    // Typed again, Enter inserts the reply filled for this conversation: not sent.
    keys(&o, &Key::Backspace.to_string().repeat(4)).await;
    keys(&o, "/hel").await;
    eventually("the menu opens again", PATIENCE, || async { menu_open(&o).await }).await;
    o.find("#quick-reply-menu li[data-code=hello]").await;
    keys(&o, &Key::Enter.to_string()).await;
    let me = &operator.employee.name;
    let filled = if lang == "ru" {
        format!("Здравствуйте, {CONTACT}! Меня зовут {me}, {COMPANY}.")
    } else {
        format!("Hello, {CONTACT}! My name is {me}, {{company_name}}.")
    };
    eventually("the reply is in the composer", PATIENCE, || async { composer(&o).await.0 == filled }).await;
    assert!(!menu_open(&o).await, "the menu closed");
    let sent = if lang == "ru" {
        filled.clone()
    } else {
        // Not known: the placeholder stays, selected, and a notice says what to fill in.
        assert_eq!(composer(&o).await.1, "{company_name}", "the placeholder to fill is selected");
        o.text_in("#notice", words.unfilled).await;
        o.run("document.querySelector('form.composer').scrollIntoView({block: 'end'})").await;
        o.screenshot(&format!("quick-replies-unfilled-{lang}-{width}")).await;
        keys(&o, "Acme").await;
        format!("Hello, {CONTACT}! My name is {me}, Acme.")
    };
    assert_eq!(composer(&o).await.0, sent);
    // Nothing went to the visitor: not in the transcript, nothing waiting to go.
    let said = s.get_json(&admin, &format!("/api/v1/conversations/{conversation}/messages?limit=50")).await;
    let texts: Vec<&str> = said["items"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect();
    let words_of_reply = if lang == "ru" { "Меня зовут" } else { "My name is" };
    assert!(!texts.iter().any(|t| t.contains(words_of_reply)), "not sent: {texts:?}");
    let shown = o.find("#messages").await.text().await.unwrap();
    assert!(!shown.contains(words_of_reply), "not in the transcript: {shown}");
    assert_eq!(o.find(".pending").await.text().await.unwrap(), "", "nothing waiting to be sent");
    o.run("document.querySelector('form.composer').scrollIntoView({block: 'end'})").await;
    o.screenshot(&format!("quick-replies-inserted-{lang}-{width}")).await;

    // Enter again sends it, as ever.
    keys(&o, &Key::Enter.to_string()).await;
    visitor.receive(&sent).await;
    o.text_in("#messages", &sent).await;
    assert_eq!(composer(&o).await.0, "");
    assert_eq!(o.find("#notice").await.text().await.unwrap(), "", "the notice went with the message");

    // A reply deleted since the menu was loaded: inserting it says so and loads the list again.
    let r = s.as_(&admin, Method::DELETE, &format!("/api/v1/quick-replies/shared/{bye}")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    keys(&o, "/bye").await;
    o.find("#quick-reply-menu li[data-code=bye]").await;
    keys(&o, &Key::Enter.to_string()).await;
    o.text_in("#notice", words.gone).await;
    assert_eq!(composer(&o).await.0, "/bye", "nothing inserted");
    keys(&o, &Key::Backspace.to_string()).await;
    o.text_in("#quick-reply-menu .reply-menu-message", words.no_match).await;
    assert!(!o.has("#quick-reply-menu li[data-code=bye]").await, "the list was loaded again");
    keys(&o, &Key::Backspace.to_string().repeat(3)).await;
    assert!(!menu_open(&o).await);

    // The operator has no reply of their own yet: they write one on the replies page.
    o.click("#quick-replies-link").await;
    o.text_in("#quick-replies", words.no_personal).await;
    assert!(!o.has("#f-scope").await, "an operator writes only their own replies");
    o.fill("#f-code", DELIVERY).await;
    o.fill("#f-title", "Доставка").await;
    o.fill("#f-body_ru", DELIVERY_RU).await;
    o.fill("#f-body_en", "Dear ").await;
    o.click("#quick-reply-form button[data-placeholder=contact_name]").await;
    o.find("#f-body_en").await.send_keys(", delivery takes two days.").await.unwrap();
    assert_eq!(o.run("return document.getElementById('f-body_en').value").await, DELIVERY_EN);
    o.click("#quick-reply-form button[type=submit]").await;
    o.text_in(&format!("#quick-replies li[data-reply='personal:{DELIVERY}'] .reply-scope"), words.mine).await;
    // …and retitle it.
    o.click(&format!("#quick-replies li[data-reply='personal:{DELIVERY}'] button[data-edit]")).await;
    o.text_in("#quick-reply-form h1", &format!("/{DELIVERY}")).await;
    o.fill("#f-title", "Доставка по городу").await;
    o.click("#quick-reply-form button[type=submit]").await;
    o.text_in(&format!("#quick-replies li[data-reply='personal:{DELIVERY}'] .reply-title"), "Доставка по городу").await;
    o.text_in("#quick-replies li[data-reply='shared:hello']", "/hello").await;
    shots(&o, "quick-replies-page-operator", lang, size, Some("header.top")).await;

    // Back in the workplace, `/` lists both; the arrows (Russian) or the mouse (English) choose it.
    o.click("#replies-back").await;
    o.click("#conversation-list button.conversation-item").await;
    o.text_in("#messages", &sent).await;
    if lang == "ru" {
        o.fill("#composer", "/").await;
    } else {
        // The composer's button starts a `/` as typing one does.
        o.click("#quick-replies-open").await;
    }
    o.text_in(&format!("#quick-reply-menu li[data-code='{DELIVERY}'] .reply-scope"), words.mine).await;
    o.text_in(&format!("#quick-reply-menu li[data-code='{DELIVERY}'] .reply-title"), "Доставка по городу").await;
    o.find("#quick-reply-menu li[data-code=hello]").await;
    assert_eq!(composer(&o).await.0, "/");
    shots(&o, "quick-replies-menu-both", lang, size, Some("form.composer")).await;
    let option = format!("#quick-reply-menu li[data-code='{DELIVERY}']");
    if lang == "ru" {
        let down = Key::Down.to_string();
        keys(&o, &format!("{down}{down}{}", Key::Up)).await;
        let chosen = o.run("return document.getElementById('composer').getAttribute('aria-activedescendant')").await;
        let id = o.run(&format!("return document.querySelector(\"{option}\").id")).await;
        assert_eq!(chosen, id, "↓ ↓ ↑ chose the second reply");
        keys(&o, &Key::Enter.to_string()).await;
    } else {
        o.click(&option).await;
    }
    let delivery = if lang == "ru" {
        format!("{CONTACT}, доставка занимает два дня.")
    } else {
        format!("Dear {CONTACT}, delivery takes two days.")
    };
    eventually("the own reply is in the composer", PATIENCE, || async { composer(&o).await.0 == delivery }).await;

    // The statistics count one use of each, in the same period as the rest.
    o.section("statistics").await;
    o.text_in("#reply-statistics tr[data-code=hello] td.number", "1").await;
    o.text_in(&format!("#reply-statistics tr[data-code='{DELIVERY}'] td.number"), "1").await;
    let csv = o.run("return document.getElementById('reply-statistics-csv').getAttribute('href')").await;
    assert!(csv.as_str().unwrap().contains("format=csv"), "{csv}");
    o.run("document.getElementById('reply-statistics').scrollIntoView({block: 'center'})").await;
    o.screenshot(&format!("quick-replies-statistics-{lang}-{width}")).await;

    // The operator deletes their reply; the shared one stays.
    o.section("workplace").await;
    o.click("#quick-replies-link").await;
    o.click(&format!("#quick-replies li[data-reply='personal:{DELIVERY}'] button[data-delete]")).await;
    o.client.accept_alert().await.unwrap();
    o.text_in("#quick-replies", words.no_personal).await;
    o.find("#quick-replies li[data-reply='shared:hello']").await;

    no_csp_violations(&s);
    // The one failed request: inserting the deleted reply.
    let errors = crate::console_errors(&driver, &o).await;
    let gone = format!("/quick-replies/{bye} - Failed to load resource: the server responded with a status of 404");
    assert!(errors.iter().all(|e| e.contains(&gone)), "console errors: {errors:?}");
    o.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_reply_is_filled_in_the_composer_and_sent_only_on_enter_in_russian_on_a_desktop() {
    quick_replies_journey("ru", 1440, 900).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_reply_is_filled_in_the_composer_and_sent_only_on_enter_in_english_on_a_phone() {
    quick_replies_journey("en", 390, 844).await;
}
