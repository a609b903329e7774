//! Personal data at rest: sealed by each visitor's own key, found through
//! blind indexes, erased by destroying the key, and surviving master key
//! rotation under load — on both backends.

use ostrog_domain::ids::{ConversationId, VisitorId};
use ostrog_domain::message::Body;
use ostrog_domain::role::Role;
use ostrog_server::keys::{Ledger, Vault, master};
use ostrog_server::services::auditor::Ctx;
use ostrog_testkit::{TestServer, assert_not_in_dump, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;

const NAME: &str = "Ярослав Пименов";
const CARD: &str = "4276 3800 1234 5679";
const PHONE: &str = "916 123-45-67";
const EMAIL: &str = "yaroslav.pimenov@example.org";
const USER_ID: &str = "crm-user-884113";
/// The contact's name (from the signed identity) and the details an
/// operator typed: sealed like the messages.
const CONTACT_NAME: &str = "Агафья Купердягина";
const CONTACT_EMAIL: &str = "agafya.kuperdyagina@example.net";
const CONTACT_PHONE: &str = "+7 903 555-71-19";
/// The path of the page the visitor wrote from (kept sealed with the contact).
const PAGE: &str = "orders/zakaz-tikhonovykh";
const CONTACT_COMPANY: &str = "Кондитерская Тихоновых";

fn sign(user: &str, key: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&hex::decode(key).unwrap()).unwrap();
    mac.update(user.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A signed-in visitor who tells an operator everything about themselves;
/// returns the admin's session, the conversation and the visitor id.
async fn confession(s: &TestServer) -> (String, String, String) {
    let admin = s.session(&s.administrator().await).await;
    let (widget, secret) = s.widget(&admin).await;
    let identity = json!({"user_id": USER_ID, "signature": sign(USER_ID, &secret), "name": CONTACT_NAME});
    let hello = json!({"type": "hello", "v": 1, "identity": identity, "page": format!("https://shop.example/{PAGE}")});
    let (mut visitor, welcome) = s.visitor(&widget, hello).await;
    let said = format!("Меня зовут {NAME}, карта {CARD}, телефон +7 {PHONE}, почта {EMAIL}");
    let c = visitor.say(&said).await["conversation_id"].as_str().unwrap().to_string();
    let r = s.as_(&admin, Method::POST, &format!("/api/v1/conversations/{c}/messages"));
    let note =
        r.json(&json!({"client_id": uuid::Uuid::new_v4(), "text": format!("Перезвонить: {NAME}"), "note": true}));
    assert!(note.send().await.unwrap().status().is_success());
    let details = json!({"phone": CONTACT_PHONE, "email": CONTACT_EMAIL, "company": CONTACT_COMPANY});
    let r = s.as_(&admin, Method::PUT, &format!("/api/v1/conversations/{c}/contact")).json(&details);
    assert_eq!(r.send().await.unwrap().status(), 200);
    (admin, c, welcome["visitor_id"].as_str().unwrap().to_string())
}

both_backends!(a_dump_of_the_installation_shows_no_personal_data, |s| {
    let (admin, c, _) = confession(s).await;
    // Search still finds the conversation, by blind-index terms.
    let found = s.search(&admin, "пименов").await;
    assert_eq!(found[0]["id"], c.as_str(), "search by a word, any case: {found:?}");
    let none = s.get_json(&admin, "/api/v1/conversations?q=Pimenoff").await;
    assert_eq!(none["items"], json!([]));
    // The transcript reads back whole through the API.
    let history = s.get_json(&admin, &format!("/api/v1/conversations/{c}/messages")).await.to_string();
    assert!(history.contains(NAME), "{history}");

    let contact = s.get_json(&admin, &format!("/api/v1/conversations/{c}/contact")).await;
    assert_eq!((contact["name"].as_str(), contact["email"].as_str()), (Some(CONTACT_NAME), Some(CONTACT_EMAIL)));
    assert_eq!(contact["page"].as_str(), Some(format!("https://shop.example/{PAGE}").as_str()));
    let dump = s.dump().await;
    let admin_email = b"admin@example.test";
    assert!(dump.windows(admin_email.len()).any(|w| w == admin_email), "the dump holds the stored rows");
    for secret in [
        NAME,
        "Пименов",
        CARD,
        PHONE,
        EMAIL,
        USER_ID,
        "Меня зовут",
        "Перезвонить",
        CONTACT_NAME,
        "Купердягина",
        CONTACT_EMAIL,
        CONTACT_PHONE,
        "555-71-19",
        CONTACT_COMPANY,
        PAGE,
    ] {
        assert_not_in_dump(&dump, secret);
    }
});

both_backends!(erasure_destroys_the_key_then_the_rows_and_files, |s| {
    let (admin, c, visitor) = confession(s).await;
    let conversation = ConversationId(c.parse().unwrap());
    let visitor = VisitorId(visitor.parse().unwrap());
    // A copy of the stored rows as a backup would hold them.
    let before = s.app.store.messages(conversation, 0, None, 100).await.unwrap();
    assert_eq!(before.len(), 3, "queued, the text and the note");
    assert_eq!(s.search(&admin, "Пименов").await.len(), 1, "findable before");
    let copy = match s.config.database_url().starts_with("sqlite:") {
        true => Some(s.copy_sqlite().await),
        false => None,
    };

    let path = format!("/api/v1/visitors/{visitor}/erase");
    let operator = s.session(&s.employee(Role::Operator, &[]).await).await;
    let body = json!({"basis": "subject_request", "note": "request 2026/17"});
    assert_eq!(s.as_(&operator, Method::POST, &path).json(&body).send().await.unwrap().status(), 403);
    let bad = json!({"basis": "whim"});
    assert_eq!(s.as_(&admin, Method::POST, &path).json(&bad).send().await.unwrap().status(), 422);
    let r = s.as_(&admin, Method::POST, &path).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let act: Value = r.json().await.unwrap();
    assert_eq!(act["details"]["categories"], json!(["identifiers", "correspondence"]));
    assert_eq!(
        (act["details"]["basis"].as_str(), act["details"]["messages"].as_u64()),
        (Some("subject_request"), Some(3))
    );
    assert_eq!(s.as_(&admin, Method::POST, &path).json(&body).send().await.unwrap().status(), 404, "only once");

    // Gone from the API and from the rows.
    let r = s.as_(&admin, Method::GET, &format!("/api/v1/conversations/{c}/messages")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(s.app.store.messages(conversation, 0, None, 100).await.unwrap().is_empty());
    assert_eq!(s.app.store.conversation(conversation).await.unwrap(), None);
    assert_eq!(s.app.store.contact(visitor).await.unwrap(), None, "the contact goes too");
    let search = s.get_json(&admin, "/api/v1/conversations?q=%D0%9F%D0%B8%D0%BC%D0%B5%D0%BD%D0%BE%D0%B2").await;
    assert_eq!(search["items"], json!([]));
    // The copy taken before no longer opens: the key is gone everywhere.
    assert!(s.app.vault.subject_keys(&[visitor], None).await.unwrap().is_empty());
    let names = [format!("subject:{visitor}")];
    assert!(s.app.vault.key_store().keys(&names).await.unwrap().is_empty());
    if let Some(copy) = copy {
        let store = ostrog_store_sql::connect(&format!("sqlite:{}", copy.display())).await.unwrap();
        assert_eq!(store.messages(conversation, 0, None, 100).await.unwrap(), before, "the copy holds the rows");
        let ledger = Ledger::new(store, s.app.vault.clone(), s.app.clock.clone());
        assert!(ledger.messages(conversation, 0, None, 100).await.is_err(), "but they no longer open");
    }
    // The act is listed, tamper-evident, and holds no personal data.
    let acts = s.get_json(&admin, "/api/v1/personal-data/acts").await;
    assert_eq!(acts[0]["number"], act["number"]);
    assert!(!acts.to_string().contains("Пименов") && !acts.to_string().contains(USER_ID), "{acts}");
    assert_eq!(s.get_json(&admin, "/api/v1/audit/chain").await["intact"], true);
    assert_eq!(s.as_(&operator, Method::GET, "/api/v1/personal-data/acts").send().await.unwrap().status(), 403);
});

both_backends!(the_master_key_rotates_under_load_and_the_old_one_is_retired, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let key_file = s.config.data_dir.join("master.key");
    let old = master::read_file(&key_file).unwrap();
    let (mut visitor, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c = visitor.say("first").await["conversation_id"].as_str().unwrap().to_string();

    // Visitors keep writing and reading while the key rotates.
    let rotation = tokio::spawn({
        let app = s.app.clone();
        async move { app.key_admin.rotate(&Ctx::default()).await.unwrap() }
    });
    let mut said = vec!["first".to_string()];
    let mut others = vec![];
    while !rotation.is_finished() {
        let (mut v, _) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
        let text = format!("message {} during rotation", said.len());
        visitor.say(&text).await;
        v.say(&text).await;
        said.push(text);
        others.push(v);
        let history = s.get_json(&admin, &format!("/api/v1/conversations/{c}/messages?limit=1000")).await;
        let texts = history["items"].as_array().unwrap().iter().filter(|m| m["kind"] == "text").count();
        assert_eq!(texts, said.len(), "every acknowledged message reads back");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let done = rotation.await.unwrap();
    assert_eq!((done.current, done.retired.clone()), (2, vec![1]));
    assert!(said.len() > 3, "the rotation overlapped the writes: {}", said.len());

    // Afterwards only the new master key is held, and it opens everything.
    let file = master::read_file(&key_file).unwrap();
    assert_eq!(file.ids(), vec![2]);
    let status = s.app.key_admin.status().await.unwrap();
    assert_eq!(status.wrapped_by.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![2], "{status:?}");
    let store = s.app.vault.key_store().clone();
    let fresh = Vault::with_keys(file, master::KeySource::Environment, store.clone(), 0, false).await.unwrap();
    let ledger = Ledger::new(s.app.store.clone(), Arc::new(fresh), s.app.clock.clone());
    let texts: Vec<String> = ledger
        .messages(ConversationId(c.parse().unwrap()), 0, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m.body {
            Body::Text(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(texts, said);
    assert!(
        Vault::with_keys(old, master::KeySource::Environment, store, 0, false).await.is_err(),
        "the old key opens nothing"
    );
    let audit = s.get_json(&admin, "/api/v1/audit?action=keys.rotated").await;
    assert_eq!(audit[0]["details"]["current"], 2);
});

/// Runs `sql` with text parameters directly on the test's database, as
/// an older version would have written it.
async fn exec(s: &TestServer, sql: &str, params: &[&str]) {
    use sqlx::Connection;
    let url = s.config.database_url();
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let mut q = sqlx::query(sql);
        for p in params {
            q = q.bind(*p);
        }
        q.execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let mut q = sqlx::query(sql);
        for p in params {
            q = q.bind(*p);
        }
        q.execute(&mut c).await.unwrap();
    }
}

both_backends!(what_an_older_version_stored_in_the_clear_is_sealed_on_upgrade, |s| {
    let admin = s.session(&s.administrator().await).await;
    let (widget, secret) = s.widget(&admin).await;
    let user = "legacy-user-77";
    let hello = json!({"type": "hello", "v": 1, "identity": {"user_id": user, "signature": sign(user, &secret)}});
    let (mut visitor, welcome) = s.visitor(&widget, hello.clone()).await;
    let said = "старый текст 4276 3800 1234 5679";
    let c = visitor.say(said).await["conversation_id"].as_str().unwrap().to_string();
    let v = welcome["visitor_id"].as_str().unwrap().to_string();
    // As schema 0003 kept them: the text and the user id in the clear.
    exec(s, "UPDATE messages SET body = $1, sealed = NULL WHERE conversation_id = $2 AND kind = 'text'", &[said, &c])
        .await;
    exec(
        s,
        "UPDATE visitors SET external_id = $1, external_index = NULL, external_sealed = NULL WHERE id = $2",
        &[user, &v],
    )
    .await;
    exec(s, "DELETE FROM message_terms WHERE conversation_id = $1", &[&c]).await;
    exec(s, "DELETE FROM settings WHERE key = 'personal_data.legacy_sealed'", &[]).await;
    let dump = s.dump().await;
    assert!(dump.windows(user.len()).any(|w| w == user.as_bytes()), "the clear rows are in place");

    assert_eq!(s.app.legacy_sealing.run().await.unwrap(), (1, 1));
    for secret in [said, "старый текст", user] {
        assert_not_in_dump(&s.dump().await, secret);
    }
    let history = s.get_json(&admin, &format!("/api/v1/conversations/{c}/messages")).await.to_string();
    assert!(history.contains("старый текст"), "{history}");
    assert_eq!(s.search(&admin, "старый").await.len(), 1, "and findable");
    let (_, again) = s.visitor(&widget, hello).await;
    assert_eq!(again["visitor_id"], v.as_str(), "the signed user is found by the new index");
    assert_eq!(s.app.legacy_sealing.run().await.unwrap(), (0, 0), "once");
});
