//! Conformance of `ChannelStore`: channels, their contacts, and the outbox
//! that `append_messages` fills in the same transaction as the reply.

use super::conversations::{seal, text, widget};
use super::{T0, conflict_on, not_found, operator, tag};
use crate::{Attempt, ChannelRecord, ConversationRecord, External, NewMessage, Source, Store, VisitorRecord};
use ostrog_domain::channel::{ChannelSettings, DeliveryStatus, TelegramMode};
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ChannelId, ConversationId, MessageId, VisitorId};
use ostrog_domain::message::{Author, Body};

async fn channel(store: &dyn Store) -> ChannelRecord {
    let c = ChannelRecord {
        id: ChannelId::random(),
        name: format!("Bot {}", tag()),
        settings: ChannelSettings::Telegram { api_base: "http://127.0.0.1:9".into(), mode: TelegramMode::Webhook },
        secrets: vec![7, 7, 7],
        secrets_changed_at: T0,
        secrets_changed_by: None,
        poll_offset: 0,
        created_at: T0,
    };
    store.create_channel(&c).await.expect("create channel");
    c
}

async fn contact_conversation(store: &dyn Store, ch: ChannelId) -> ConversationRecord {
    let external = External { index: format!("contact-{}", tag()), sealed: vec![1] };
    let v = VisitorRecord {
        id: VisitorId::random(),
        source: Source::Channel(ch),
        external: Some(external),
        created_at: T0,
    };
    store.create_visitor(&v, None).await.expect("create contact");
    let c = ConversationRecord {
        id: ConversationId::random(),
        visitor_id: v.id,
        channel: "telegram".into(),
        state: State::Queued,
        operator: None,
        last_seq: 0,
        created_at: T0,
        updated_at: T0,
    };
    store.create_conversation(&c).await.expect("create conversation");
    c
}

pub(super) async fn channels_are_kept_and_disconnected(store: &dyn Store) {
    let c = channel(store).await;
    assert_eq!(store.channel(c.id).await.unwrap(), Some(c.clone()));
    assert!(store.list_channels().await.unwrap().contains(&c));
    let moved = ChannelSettings::Telegram { api_base: "http://127.0.0.1:10".into(), mode: TelegramMode::Polling };
    store.update_channel(c.id, "Renamed", &moved).await.unwrap();
    let other_kind = ChannelSettings::Webhook { url: "https://app.example".into() };
    not_found(store.update_channel(c.id, "x", &other_kind).await, "a channel keeps its kind");
    let by = operator(store).await;
    store.set_channel_secrets(c.id, &[9, 9], T0 + 5, Some(by)).await.unwrap();
    store.set_poll_offset(c.id, 42).await.unwrap();
    store.set_poll_offset(c.id, 41).await.unwrap();
    let now = store.channel(c.id).await.unwrap().unwrap();
    assert_eq!((now.name.as_str(), &now.settings, now.secrets.as_slice()), ("Renamed", &moved, &[9u8, 9][..]));
    assert_eq!((now.secrets_changed_at, now.secrets_changed_by, now.poll_offset), (T0 + 5, Some(by), 42));
    store.delete_channel(c.id, T0 + 6, "disconnected").await.unwrap();
    assert_eq!(store.channel(c.id).await.unwrap(), None);
    assert!(!store.list_channels().await.unwrap().iter().any(|x| x.id == c.id));
    not_found(store.delete_channel(c.id, T0 + 7, "again").await, "disconnecting twice");
    not_found(store.set_channel_secrets(c.id, &[1], T0 + 8, None).await, "secrets of a disconnected channel");
}

pub(super) async fn contacts_are_unique_per_channel(store: &dyn Store) {
    let (a, b) = (channel(store).await, channel(store).await);
    let external = External { index: format!("same-{}", tag()), sealed: vec![2] };
    let v = VisitorRecord {
        id: VisitorId::random(),
        source: Source::Channel(a.id),
        external: Some(external.clone()),
        created_at: T0,
    };
    store.create_visitor(&v, None).await.unwrap();
    assert_eq!(store.visitor(v.id).await.unwrap(), Some(v.clone()));
    assert_eq!(store.visitor_by_external_index(Source::Channel(a.id), &external.index).await.unwrap(), Some(v.clone()));
    assert_eq!(store.visitor_by_external_index(Source::Channel(b.id), &external.index).await.unwrap(), None);
    let w = widget(store).await;
    assert_eq!(store.visitor_by_external_index(Source::Widget(w), &external.index).await.unwrap(), None);
    let twin = VisitorRecord { id: VisitorId::random(), ..v.clone() };
    conflict_on(store.create_visitor(&twin, None).await, "visitor", "one contact per user and channel");
    let on_b = VisitorRecord { id: VisitorId::random(), source: Source::Channel(b.id), ..v.clone() };
    store.create_visitor(&on_b, None).await.expect("the same user on another channel");
}

pub(super) async fn replies_to_contacts_are_queued_with_them(store: &dyn Store) {
    let ch = channel(store).await;
    let c = contact_conversation(store, ch.id).await;
    let op = Author::Employee(operator(store).await);
    let note = NewMessage {
        id: MessageId::random(),
        conversation_id: c.id,
        client_key: None,
        author: op,
        body: seal(Body::Note("internal".into())),
        at: T0 + 3,
    };
    let batch =
        [text(&c, Author::Visitor(c.visitor_id), None, "hello", T0 + 1), text(&c, op, None, "reply", T0 + 2), note];
    store.append_messages(&batch, &[]).await.unwrap();
    let queued = store.deliveries_of(c.id).await.unwrap();
    assert_eq!(queued.len(), 1, "only the employee's text goes out: {queued:?}");
    let d = &queued[0];
    assert_eq!((d.message_id, d.seq, d.channel_id, d.status), (batch[1].id, 2, ch.id, DeliveryStatus::Pending));
    assert_eq!((d.attempts, d.next_attempt_at, d.created_at), (0, T0 + 2, T0 + 2));
    assert_eq!(store.delivery(batch[1].id).await.unwrap().as_ref(), Some(d));

    // A resend of the same reply queues nothing twice.
    let keyed = text(&c, op, Some(&format!("k-{}", tag())), "keyed", T0 + 4);
    store.append_messages(&[keyed.clone(), keyed.clone()], &[]).await.unwrap();
    store.append_messages(std::slice::from_ref(&keyed), &[]).await.unwrap();
    assert_eq!(store.deliveries_of(c.id).await.unwrap().len(), 2);

    // A widget visitor's conversation has no channel: nothing is queued.
    let w = super::conversations::conversation(store).await;
    store.append_messages(&[text(&w, op, None, "to the widget", T0 + 1)], &[]).await.unwrap();
    assert!(store.deliveries_of(w.id).await.unwrap().is_empty());
}

pub(super) async fn deliveries_go_in_order_and_are_retried(store: &dyn Store) {
    let ch = channel(store).await;
    let (c1, c2) = (contact_conversation(store, ch.id).await, contact_conversation(store, ch.id).await);
    let op = Author::Employee(operator(store).await);
    let (first, second, other) =
        (text(&c1, op, None, "one", T0 + 1), text(&c1, op, None, "two", T0 + 2), text(&c2, op, None, "x", T0 + 3));
    store.append_messages(&[first.clone(), second.clone(), other.clone()], &[]).await.unwrap();
    let due = |now| async move {
        let all = store.due_deliveries(now, 1000).await.unwrap();
        let mine: Vec<MessageId> = all.iter().filter(|d| d.channel_id == ch.id).map(|d| d.message_id).collect();
        mine
    };
    assert_eq!(due(T0 + 10).await, vec![first.id, other.id], "the first reply of each conversation");
    assert_eq!(due(T0 + 2).await, vec![first.id], "not before it is due");

    let retry = Attempt::Retry { next: T0 + 100, error: "HTTP 502".into() };
    assert!(store.record_attempt(first.id, &retry).await.unwrap());
    assert_eq!(due(T0 + 10).await, vec![other.id], "the second waits behind the first");
    let d = store.delivery(first.id).await.unwrap().unwrap();
    assert_eq!((d.attempts, d.next_attempt_at, d.last_error.as_deref()), (1, T0 + 100, Some("HTTP 502")));

    assert!(store.record_attempt(first.id, &Attempt::Sent { at: T0 + 101 }).await.unwrap());
    assert!(!store.record_attempt(first.id, &Attempt::Sent { at: T0 + 102 }).await.unwrap(), "only once");
    assert_eq!(due(T0 + 101).await, vec![second.id, other.id]);
    let d = store.delivery(first.id).await.unwrap().unwrap();
    assert_eq!((d.status, d.attempts, d.done_at), (DeliveryStatus::Sent, 2, Some(T0 + 101)));

    let given_up = Attempt::Failed { at: T0 + 200, error: "the user blocked the bot".into() };
    assert!(store.record_attempt(second.id, &given_up).await.unwrap());
    let dead = store.dead_letters(ch.id, 10).await.unwrap();
    assert_eq!(dead.iter().map(|d| d.message_id).collect::<Vec<_>>(), vec![second.id]);
    assert_eq!(dead[0].last_error.as_deref(), Some("the user blocked the bot"));
    assert!(store.requeue_delivery(second.id, T0 + 300).await.unwrap());
    assert!(!store.requeue_delivery(second.id, T0 + 300).await.unwrap(), "no longer failed");
    assert!(store.dead_letters(ch.id, 10).await.unwrap().is_empty());
    assert_eq!(due(T0 + 300).await, vec![other.id, second.id], "oldest due first");

    // Disconnecting gives up whatever still waits, with the reason.
    store.delete_channel(ch.id, T0 + 400, "the channel was disconnected").await.unwrap();
    assert!(due(T0 + 1000).await.is_empty());
    let d = store.delivery(other.id).await.unwrap().unwrap();
    assert_eq!((d.status, d.last_error.as_deref()), (DeliveryStatus::Failed, Some("the channel was disconnected")));
    assert!(!store.requeue_delivery(other.id, T0 + 500).await.unwrap(), "not to a disconnected channel");
}

pub(super) async fn erasing_a_contact_removes_its_deliveries(store: &dyn Store) {
    let ch = channel(store).await;
    let c = contact_conversation(store, ch.id).await;
    let reply = text(&c, Author::Employee(operator(store).await), None, "personal", T0 + 1);
    store.append_messages(std::slice::from_ref(&reply), &[]).await.unwrap();
    store.erase_visitor(c.visitor_id, T0 + 2).await.unwrap();
    assert_eq!(store.delivery(reply.id).await.unwrap(), None);
    assert!(store.deliveries_of(c.id).await.unwrap().is_empty());
}
