//! The visitor in the widget on a company's page: chatting with an operator,
//! sending files through the antivirus, consenting to the processing of their
//! personal data and having it destroyed on request.

use ostrog_domain::role::Role;
use ostrog_e2e::company::{company_site, open_widget, serve_company_page, write};
use ostrog_e2e::sign_in::sign_in;
use ostrog_e2e::{Driver, PATIENCE, eventually, no_csp_violations};
use ostrog_testkit::{Backend, TestServer};
use reqwest::Method;

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
    visitor.fill("#rating-comment", "Quick and kind").await;
    visitor.screenshot("widget-rating").await;
    visitor.click("#rating-send").await;
    visitor.text_in("#rating", "Thank you").await;
    op.text_in("#messages", "Rated 5 of 5: “Quick and kind”").await;
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
    crate::no_console_errors(&driver, &[&op, &visitor, &phone]).await;
    for b in [op, visitor, phone] {
        b.close().await;
    }
    page.abort();
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
    // The thumbnail is fetched after the message is shown: wait for it to load.
    let script = "const i = document.querySelector('#messages .file img'); return !!i && i.complete && i.naturalWidth;";
    eventually("the thumbnail loaded, 320 pixels wide", PATIENCE, || async { op.run(script).await == 320 }).await;

    // The operator tries to send malware: refused, in words, and never posted.
    op.find("#attach").await.send_keys(malware.to_str().unwrap()).await.unwrap();
    op.text_in("#notice", "The antivirus found malware").await;
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
