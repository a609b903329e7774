//! Conformance of `ContactStore`: every visitor gets a numbered contact;
//! names follow their sources' precedence and are found by their terms;
//! erasure removes the contact.

use super::conversations::widget;
use super::{T0, tag};
use crate::{ConversationFilter, SealedName, Source, Store, Term, VisitorRecord};
use ostrog_domain::contact::NameSource;
use ostrog_domain::ids::VisitorId;
use ostrog_domain::message::Author;

async fn visitor(store: &dyn Store) -> VisitorId {
    let w = widget(store).await;
    let v = VisitorRecord { id: VisitorId::random(), source: Source::Widget(w), external: None, created_at: T0 };
    store.create_visitor(&v, None).await.expect("create visitor");
    v.id
}

fn name(text: &str, source: NameSource) -> SealedName {
    SealedName { sealed: text.as_bytes().to_vec(), source }
}

pub(super) async fn every_visitor_gets_a_numbered_contact(store: &dyn Store) {
    let (a, b) = (visitor(store).await, visitor(store).await);
    let first = store.contact(a).await.unwrap().expect("a contact made with the visitor");
    let second = store.contact(b).await.unwrap().expect("b's contact");
    assert!(second.number > first.number, "numbered in order of arrival: {} then {}", first.number, second.number);
    assert_eq!((first.name, first.details_sealed, first.visit_sealed), (None, None, None), "nothing known yet");
    assert_eq!(first.updated_at, T0);
    assert!(store.contact(VisitorId::random()).await.unwrap().is_none());

    let mut both = store.contacts(&[b, a, VisitorId::random()]).await.unwrap();
    both.sort_by_key(|c| c.number);
    assert_eq!(both.iter().map(|c| c.visitor_id).collect::<Vec<_>>(), [a, b], "the known ones, in one call");
    assert!(store.contacts(&[]).await.unwrap().is_empty());
}

pub(super) async fn contact_names_keep_their_strongest_source(store: &dyn Store) {
    let v = visitor(store).await;
    let (ivan, operator_word) = (format!("ivan-{}", tag()), format!("op-{}", tag()));
    assert!(
        store.set_contact_name(v, &name("Ivan", NameSource::Messenger), &[ivan.clone().into()], T0 + 1).await.unwrap()
    );
    let got = store.contact(v).await.unwrap().unwrap();
    assert_eq!((got.name, got.updated_at), (Some(name("Ivan", NameSource::Messenger)), T0 + 1));
    assert_eq!(store.visitors_named(&[ivan.clone().into()], 10).await.unwrap(), [v]);

    let typed = name("Ivan the client", NameSource::Operator);
    let words: Vec<Vec<u8>> = vec![ivan.clone().into(), operator_word.clone().into(), operator_word.clone().into()];
    assert!(store.set_contact_name(v, &typed, &words, T0 + 2).await.unwrap(), "repeated terms are stored once");
    assert!(
        !store.set_contact_name(v, &name("Ivan P", NameSource::Identity), &[], T0 + 3).await.unwrap(),
        "an identity does not overwrite an operator's edit"
    );
    assert!(!store.set_contact_name(v, &name("@ivan", NameSource::Messenger), &[], T0 + 3).await.unwrap());
    assert_eq!(store.contact(v).await.unwrap().unwrap().name, Some(typed));
    let both: Vec<Vec<u8>> = vec![ivan.clone().into(), operator_word.clone().into()];
    assert_eq!(store.visitors_named(&both, 10).await.unwrap(), [v], "every term must match");
    let other = visitor(store).await;
    store.set_contact_name(other, &name("Other", NameSource::Identity), &[ivan.clone().into()], T0).await.unwrap();
    let mut named = store.visitors_named(&[ivan.clone().into()], 10).await.unwrap();
    named.sort();
    let mut expected = vec![v, other];
    expected.sort();
    assert_eq!(named, expected);
    assert_eq!(store.visitors_named(&[ivan.clone().into()], 1).await.unwrap().len(), 1, "at most the limit");
    assert_eq!(store.visitors_named(&both, 10).await.unwrap(), [v]);
    assert!(store.visitors_named(&[], 10).await.unwrap().is_empty());

    // A search finds the conversation by its contact's name, and by a
    // name's word and a message's word together.
    let c = super::conversations::conversation(store).await;
    let said = format!("said-{}", tag());
    let message = super::conversations::text(&c, Author::Visitor(c.visitor_id), None, &said, T0 + 1);
    store.append_messages(&[message], &[Term { conversation: c.id, term: said.clone().into() }]).await.unwrap();
    let called = format!("called-{}", tag());
    store
        .set_contact_name(c.visitor_id, &name("Called", NameSource::Operator), &[called.clone().into()], T0)
        .await
        .unwrap();
    let search = |words: Vec<Vec<u8>>| async move {
        let f = ConversationFilter { terms: words, limit: 10, ..Default::default() };
        store.list_conversations(&f).await.unwrap().into_iter().map(|c| c.id).collect::<Vec<_>>()
    };
    assert_eq!(search(vec![called.clone().into()]).await, [c.id], "by the name");
    assert_eq!(search(vec![called.clone().into(), said.clone().into()]).await, [c.id], "by name and text");
    assert!(search(vec![called.into(), b"absent".to_vec()]).await.is_empty(), "every word must match");

    let renamed = name("Пётр", NameSource::Operator);
    assert!(store.set_contact_name(v, &renamed, &[b"petr".to_vec()], T0 + 4).await.unwrap(), "operators rename");
    assert!(store.visitors_named(&[operator_word.into()], 10).await.unwrap().is_empty(), "old terms are gone");
    assert!(!store.set_contact_name(VisitorId::random(), &renamed, &[], T0).await.unwrap(), "no such contact");
}

pub(super) async fn contact_details_and_visits_are_replaced_and_erased(store: &dyn Store) {
    let v = visitor(store).await;
    assert!(store.set_contact_details(v, Some(b"phone"), T0 + 1).await.unwrap());
    assert!(store.set_contact_visit(v, Some(b"page"), T0 + 2).await.unwrap());
    let got = store.contact(v).await.unwrap().unwrap();
    assert_eq!((got.details_sealed.as_deref(), got.visit_sealed.as_deref()), (Some(&b"phone"[..]), Some(&b"page"[..])));
    assert_eq!(got.updated_at, T0 + 2);
    assert!(store.set_contact_details(v, None, T0 + 3).await.unwrap());
    assert_eq!(store.contact(v).await.unwrap().unwrap().details_sealed, None, "cleared");
    assert!(!store.set_contact_details(VisitorId::random(), None, T0).await.unwrap());
    assert!(!store.set_contact_visit(VisitorId::random(), None, T0).await.unwrap());

    let word = format!("erased-{}", tag());
    store.set_contact_name(v, &name("Erased", NameSource::Operator), &[word.clone().into()], T0).await.unwrap();
    store.erase_visitor(v, T0 + 9).await.unwrap();
    assert_eq!(store.contact(v).await.unwrap(), None, "erasure removes the contact");
    assert!(store.visitors_named(&[word.into()], 10).await.unwrap().is_empty(), "and its name's terms");
    let next = visitor(store).await;
    assert!(store.contact(next).await.unwrap().is_some(), "numbering goes on after an erasure");
}
