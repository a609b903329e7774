//! Conformance of `LabelStore`: names unique without regard to case, a
//! conversation's labels replaced whole or not at all, the list filtered by
//! a label, deletion taking a label off every conversation, and counts by
//! the period in which conversations started; erasure takes them along.

use super::conversations::conversation;
use super::{T0, conflict_on, not_found, tag};
use crate::{ConversationFilter, LabelRecord, Store};
use ostrog_domain::ids::{ConversationId, LabelId};
use ostrog_domain::label::Colour;

fn label(name: &str, colour: Colour) -> LabelRecord {
    LabelRecord { id: LabelId::random(), name: name.into(), colour, created_at: T0 }
}

pub(super) async fn label_names_are_unique_and_deletion_frees_them(store: &dyn Store) {
    let name = format!("Оплата {}", tag());
    let paid = label(&name, Colour::Green);
    store.create_label(&paid).await.unwrap();
    conflict_on(store.create_label(&label(&name.to_uppercase(), Colour::Red)).await, "label", "same name, other case");
    assert!(store.labels().await.unwrap().contains(&paid));

    let other = label(&format!("Жалоба {}", tag()), Colour::Red);
    store.create_label(&other).await.unwrap();
    let renamed = LabelRecord { name: name.clone(), ..other.clone() };
    conflict_on(store.update_label(&renamed).await, "label", "renamed onto a taken name");
    let recoloured = LabelRecord { colour: Colour::Purple, ..other.clone() };
    store.update_label(&recoloured).await.unwrap();
    assert!(store.labels().await.unwrap().contains(&recoloured));

    store.delete_label(paid.id, T0 + 1).await.unwrap();
    assert!(!store.labels().await.unwrap().iter().any(|l| l.id == paid.id));
    not_found(store.delete_label(paid.id, T0 + 2).await, "deleted twice");
    not_found(store.update_label(&paid).await, "a deleted label changed");
    store.create_label(&label(&name, Colour::Blue)).await.expect("a deleted label's name is free again");
}

pub(super) async fn conversation_labels_are_replaced_whole_and_filter_the_list(store: &dyn Store) {
    let (a, b) = (label(&format!("a {}", tag()), Colour::Teal), label(&format!("b {}", tag()), Colour::Yellow));
    for l in [&a, &b] {
        store.create_label(l).await.unwrap();
    }
    let (first, second) = (conversation(store).await, conversation(store).await);
    store.set_conversation_labels(first.id, &[a.id, b.id, a.id], T0).await.unwrap();
    store.set_conversation_labels(second.id, &[b.id], T0).await.unwrap();
    let of = |pairs: Vec<(ConversationId, LabelId)>| -> Vec<(ConversationId, LabelId)> {
        let mut pairs = pairs;
        pairs.sort();
        pairs
    };
    let mut expected = vec![(first.id, a.id), (first.id, b.id), (second.id, b.id)];
    expected.sort();
    assert_eq!(of(store.labels_of(&[first.id, second.id]).await.unwrap()), expected);

    // All or nothing: an unknown label changes nothing.
    not_found(store.set_conversation_labels(first.id, &[a.id, LabelId::random()], T0).await, "an unknown label");
    not_found(store.set_conversation_labels(ConversationId::random(), &[a.id], T0).await, "an unknown conversation");
    assert_eq!(store.labels_of(&[first.id]).await.unwrap().len(), 2);

    let with_a = ConversationFilter { label: Some(a.id), limit: 10, ..Default::default() };
    let listed: Vec<ConversationId> = store.list_conversations(&with_a).await.unwrap().iter().map(|c| c.id).collect();
    assert_eq!(listed, [first.id]);

    let started = first.created_at.min(second.created_at);
    let counts = store.label_counts(started, started.max(first.created_at).max(second.created_at) + 1).await.unwrap();
    assert!(counts.contains(&(b.id, 2)) && counts.contains(&(a.id, 1)), "{counts:?}");

    store.delete_label(b.id, T0 + 5).await.unwrap();
    assert_eq!(of(store.labels_of(&[first.id, second.id]).await.unwrap()), [(first.id, a.id)], "b is off everywhere");
    store.set_conversation_labels(first.id, &[], T0).await.unwrap();
    assert!(store.labels_of(&[first.id]).await.unwrap().is_empty());
    not_found(store.set_conversation_labels(first.id, &[b.id], T0).await, "a deleted label");

    // Erasure takes a labelled conversation with everything else.
    store.set_conversation_labels(first.id, &[a.id], T0).await.unwrap();
    store.erase_visitor(first.visitor_id, T0 + 6).await.expect("erase a labelled conversation's visitor");
    assert!(store.labels_of(&[first.id]).await.unwrap().is_empty());
}
