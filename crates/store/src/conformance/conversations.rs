//! Conformance of `ConversationStore`: widgets, visitors, conversations,
//! batched appends with sequence numbers and idempotency, state changes.

use super::{T0, conflict_on, not_found, operator, tag};
use crate::{
    Appended, Content, ConversationFilter, ConversationRecord, External, FileRecord, NewMessage, SealedBody, Source,
    Store, Term, VisitorRecord, WidgetRecord,
};
use futures_util::future::join_all;
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ConversationId, MessageId, VisitorId, WidgetId};
use ostrog_domain::message::{Author, Body, Event};
use ostrog_domain::widget::{WidgetSettings, WorkingHours};

/// The store keeps sealed content and search terms as opaque bytes, so the
/// suite "seals" with the plain bytes, and uses plain words as terms.
pub(crate) fn seal(body: Body) -> SealedBody {
    SealedBody { kind: body.kind().into(), content: Content::Sealed(body.content().into_bytes()) }
}

fn terms(c: &ConversationRecord, words: &[&str]) -> Vec<Term> {
    words.iter().map(|w| Term { conversation: c.id, term: w.as_bytes().to_vec() }).collect()
}

fn open(b: &SealedBody) -> Body {
    let content = match &b.content {
        Content::Sealed(bytes) => String::from_utf8(bytes.clone()).unwrap(),
        Content::Legacy(text) => text.clone(),
    };
    Body::from_content(&b.kind, &content).unwrap()
}

pub(crate) async fn widget(store: &dyn Store) -> WidgetId {
    let w = WidgetRecord {
        id: WidgetId::random(),
        settings: WidgetSettings {
            name: "Shop".into(),
            greeting: "Hello".into(),
            working_hours: WorkingHours::default(),
            allowed_origins: vec!["https://shop.example".into()],
            language: Default::default(),
        },
        secret: vec![1, 2, 3],
        created_at: T0,
    };
    store.create_widget(&w).await.expect("create widget");
    w.id
}

pub(crate) async fn conversation(store: &dyn Store) -> ConversationRecord {
    let widget = widget(store).await;
    let visitor =
        VisitorRecord { id: VisitorId::random(), source: Source::Widget(widget), external: None, created_at: T0 };
    store.create_visitor(&visitor, Some(&format!("vt-{}", tag()))).await.expect("create visitor");
    let c = ConversationRecord {
        id: ConversationId::random(),
        visitor_id: visitor.id,
        channel: "widget".into(),
        state: State::Queued,
        operator: None,
        last_seq: 0,
        created_at: T0,
        updated_at: T0,
    };
    store.create_conversation(&c).await.expect("create conversation");
    c
}

pub(crate) fn text(
    c: &ConversationRecord,
    author: Author,
    key: Option<&str>,
    text: &str,
    at: i64,
) -> NewMessage<SealedBody> {
    NewMessage {
        id: MessageId::random(),
        conversation_id: c.id,
        client_key: key.map(str::to_string),
        author,
        body: seal(Body::Text(text.into())),
        at,
    }
}

/// Routing's move: the queued conversation `c` goes to `op`.
async fn assign(store: &dyn Store, c: &ConversationRecord, op: ostrog_domain::ids::EmployeeId, at: i64) {
    let event = NewMessage {
        id: MessageId::random(),
        conversation_id: c.id,
        client_key: None,
        author: Author::System,
        body: seal(Body::Event(Event::Assigned { operator: op })),
        at,
    };
    store.change_conversation(c.id, State::Queued, State::Assigned(op), &event).await.unwrap().unwrap();
}

fn stored(a: &Appended<SealedBody>) -> bool {
    matches!(a, Appended::Stored { .. })
}

pub(super) async fn widgets(store: &dyn Store) {
    let id = widget(store).await;
    let mut w = store.widget(id).await.unwrap().expect("widget found");
    assert_eq!(w.settings.allowed_origins, vec!["https://shop.example"]);
    w.settings.name = "Shop 2".into();
    store.update_widget(id, &w.settings, None).await.unwrap();
    let again = store.widget(id).await.unwrap().unwrap();
    assert_eq!((again.settings.name.as_str(), again.secret.as_slice()), ("Shop 2", &[1u8, 2, 3][..]), "secret kept");
    store.update_widget(id, &w.settings, Some(&[9])).await.unwrap();
    assert_eq!(store.widget(id).await.unwrap().unwrap().secret, vec![9]);
    assert!(store.list_widgets().await.unwrap().iter().any(|w| w.id == id));
    store.delete_widget(id, T0).await.unwrap();
    assert!(store.widget(id).await.unwrap().is_none());
    assert!(!store.list_widgets().await.unwrap().iter().any(|w| w.id == id));
    not_found(store.delete_widget(id, T0).await, "deleting twice");
    not_found(store.update_widget(WidgetId::random(), &w.settings, None).await, "updating a missing widget");
}

pub(super) async fn visitors_and_tokens(store: &dyn Store) {
    let (w, other) = (widget(store).await, widget(store).await);
    let external = External { index: format!("index-{}", tag()), sealed: vec![4, 5, 6] };
    let v = VisitorRecord {
        id: VisitorId::random(),
        source: Source::Widget(w),
        external: Some(external.clone()),
        created_at: T0,
    };
    store.create_visitor(&v, Some("token-a")).await.unwrap();
    store.add_visitor_token(v.id, "token-b", T0).await.unwrap();
    for token in ["token-a", "token-b"] {
        assert_eq!(store.visitor_by_token(w, token).await.unwrap(), Some(v.clone()), "{token}");
    }
    assert_eq!(store.visitor_by_token(other, "token-a").await.unwrap(), None, "a token belongs to its widget");
    assert_eq!(store.visitor_by_external_index(Source::Widget(w), &external.index).await.unwrap(), Some(v.clone()));
    assert_eq!(store.visitor(v.id).await.unwrap(), Some(v.clone()));
    let twin = VisitorRecord { id: VisitorId::random(), ..v.clone() };
    conflict_on(store.create_visitor(&twin, Some("token-c")).await, "visitor", "same external id twice");
    let elsewhere = VisitorRecord { id: VisitorId::random(), source: Source::Widget(other), ..v.clone() };
    store.create_visitor(&elsewhere, Some("token-d")).await.expect("the same user id on another widget");
}

pub(super) async fn events_and_files_are_read_without_the_texts(store: &dyn Store) {
    let c = conversation(store).await;
    let v = Author::Visitor(c.visitor_id);
    let message = |body: Body, at: i64| NewMessage {
        id: MessageId::random(),
        conversation_id: c.id,
        client_key: None,
        author: Author::System,
        body: seal(body),
        at,
    };
    let file = ostrog_domain::file::Attachment {
        file_id: ostrog_domain::ids::FileId::random(),
        name: "scan.pdf".into(),
        size: 3,
        content_type: "application/pdf".into(),
        thumbnail: false,
    };
    let batch = vec![
        message(Body::Event(Event::Queued), T0 + 1),
        text(&c, v, None, "hello", T0 + 2),
        message(Body::Note("a note".into()), T0 + 3),
        NewMessage { author: v, ..message(Body::File(file.clone()), T0 + 4) },
        message(Body::Event(Event::Closed { by: None }), T0 + 5),
        message(Body::Event(Event::Reopened), T0 + 6),
    ];
    store.append_messages(&batch, &[]).await.unwrap();
    let got = store.events_and_files(c.id, 0, 100).await.unwrap();
    assert_eq!(got.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 4, 5, 6], "in order, no texts or notes");
    assert_eq!(open(&got[1].body), Body::File(file));
    assert_eq!((got[1].author, got[1].at), (v, T0 + 4));
    assert_eq!(open(&got[2].body), Body::Event(Event::Closed { by: None }));
    let first = store.events_and_files(c.id, 0, 2).await.unwrap();
    assert_eq!(first.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 4], "at most the limit, oldest first");
    let next = store.events_and_files(c.id, 4, 2).await.unwrap();
    assert_eq!(next.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![5, 6], "the page after a sequence number");
    assert!(store.events_and_files(ConversationId::random(), 0, 10).await.unwrap().is_empty());
}

pub(super) async fn appends_number_messages_and_ignore_resends(store: &dyn Store) {
    let c = conversation(store).await;
    let v = Author::Visitor(c.visitor_id);
    let batch = vec![
        text(&c, v, Some("k1"), "one", T0 + 1),
        text(&c, v, Some("k2"), "two", T0 + 2),
        text(&c, v, Some("k1"), "one again, in the same batch", T0 + 3),
        text(&ConversationRecord { id: ConversationId::random(), ..c.clone() }, v, None, "nowhere", T0),
    ];
    let out = store.append_messages(&batch, &[]).await.unwrap();
    let seqs: Vec<i64> = out[..3].iter().map(|r| r.as_ref().unwrap().message().seq).collect();
    assert_eq!(seqs, vec![1, 2, 1], "numbered in order; the in-batch resend gets the first one's number");
    assert!(stored(out[0].as_ref().unwrap()) && !stored(out[2].as_ref().unwrap()));
    not_found(out.into_iter().nth(3).unwrap(), "a message to a missing conversation");

    let again = store.append_messages(&[text(&c, v, Some("k2"), "two", T0 + 9)], &[]).await.unwrap();
    let again = again.into_iter().next().unwrap().unwrap();
    assert_eq!(again.message().seq, 2, "a resend returns the stored message");
    assert!(!stored(&again));
    let all = store.messages(c.id, 0, None, 100).await.unwrap();
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2], "nothing stored twice");
    assert_eq!(open(&all[0].body), Body::Text("one".into()));
    let mut by_id = store.messages_by_id(&[all[1].id, MessageId::random(), all[0].id]).await.unwrap();
    by_id.sort_by_key(|m| m.seq);
    assert_eq!(by_id, all, "messages are found by id; unknown ids are left out");
    let other = conversation(store).await;
    let theirs = text(&other, Author::Visitor(other.visitor_id), None, "elsewhere", T0 + 4);
    store.append_messages(&[theirs], &[]).await.unwrap();
    let ends = [(c.id, 1), (other.id, 0), (ConversationId::random(), 0)];
    let mut tails = store.messages_after_each(&ends).await.unwrap();
    tails.sort_by_key(|m| (m.conversation_id != c.id, m.seq));
    let read: Vec<_> = tails.iter().map(|m| (m.conversation_id, m.seq)).collect();
    assert_eq!(read, vec![(c.id, 2), (other.id, 1)], "each conversation's end after its own number");
    let legacy = NewMessage {
        body: SealedBody {
            content: Content::Legacy("written before sealing".into()),
            ..seal(Body::Text(String::new()))
        },
        ..text(&c, v, None, "", T0 + 10)
    };
    store.append_messages(std::slice::from_ref(&legacy), &[]).await.unwrap();
    let read = store.messages(c.id, 2, None, 1).await.unwrap();
    assert_eq!(read[0].body.content, legacy.body.content, "unsealed rows of old versions read back as such");
    let before = Some((ConversationId(uuid::Uuid::nil()), 0));
    let clear: Vec<_> = store.legacy_messages(before, 10_000).await.unwrap();
    let ours = clear.iter().find(|m| m.message.id == legacy.id).expect("the clear row is listed for sealing");
    assert_eq!(ours.visitor_id, c.visitor_id);
    let sealed = crate::StoredMessage {
        body: SealedBody { content: Content::Sealed(vec![9, 9]), ..ours.message.body.clone() },
        ..ours.message.clone()
    };
    store.reseal_messages(std::slice::from_ref(&sealed)).await.unwrap();
    assert_eq!(store.messages(c.id, 2, None, 1).await.unwrap()[0].body.content, Content::Sealed(vec![9, 9]));
    let after = store.legacy_messages(Some((c.id, 0)), 10_000).await.unwrap();
    assert!(!after.iter().any(|m| m.message.id == legacy.id), "sealed rows are not listed again");
    assert_eq!(store.conversation(c.id).await.unwrap().unwrap().last_seq, 3);
    assert!(store.append_messages(&[], &[]).await.unwrap().is_empty());
    let key = format!("lookup-{}", tag());
    let keyed = text(&c, v, Some(&key), "looked up", T0);
    store.append_messages(std::slice::from_ref(&keyed), &[]).await.unwrap();
    assert_eq!(store.message_by_client_key(&key).await.unwrap().map(|m| m.id), Some(keyed.id));
    assert_eq!(store.message_by_client_key("no such key").await.unwrap(), None);
}

/// Batches over the same three conversations, met in opposite orders: each
/// is numbered whole, in its order. (A store that locks rows must lock them
/// in one order, or two such batches may wait on each other and one be
/// refused as a deadlock; this catches that only when they happen to meet.)
pub(super) async fn concurrent_batches_never_share_a_sequence_number(store: &dyn Store) {
    let c = [conversation(store).await, conversation(store).await, conversation(store).await];
    let batches: Vec<Vec<NewMessage<SealedBody>>> = (0..8)
        .map(|b| {
            let order: Vec<&ConversationRecord> =
                if b % 2 == 0 { c.iter().collect() } else { c.iter().rev().collect() };
            let key = |i: usize, c: &ConversationRecord| format!("{b}-{i}-{}", c.id);
            let v = |c: &ConversationRecord| Author::Visitor(c.visitor_id);
            (0..10).flat_map(|i| order.iter().map(move |c| text(c, v(c), Some(&key(i, c)), "x", T0))).collect()
        })
        .collect();
    let results = join_all(batches.iter().map(|b| store.append_messages(b, &[]))).await;
    for r in results {
        assert!(r.expect("no batch is refused").iter().all(|m| matches!(m, Ok(Appended::Stored { .. }))));
    }
    for c in &c {
        let seqs: Vec<i64> = store.messages(c.id, 0, None, 1000).await.unwrap().iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=80).collect::<Vec<_>>(), "80 messages each, numbered 1..80 without gaps or repeats");
    }
}

pub(super) async fn state_changes_are_compare_and_set(store: &dyn Store) {
    let c = conversation(store).await;
    let (a, b) = (operator(store).await, operator(store).await);
    let event = |e: Event, key: Option<String>| NewMessage {
        id: MessageId::random(),
        conversation_id: c.id,
        client_key: key,
        author: Author::System,
        body: seal(Body::Event(e)),
        at: T0 + 5,
    };
    let assign = |op| event(Event::Assigned { operator: op }, None);
    let won = store.change_conversation(c.id, State::Queued, State::Assigned(a), &assign(a)).await.unwrap();
    assert!(matches!(won, Some(Appended::Stored { state: State::Assigned(op), .. }) if op == a));
    let lost = store.change_conversation(c.id, State::Queued, State::Assigned(b), &assign(b)).await.unwrap();
    assert!(lost.is_none(), "only one assignment wins");
    let wrong = store.change_conversation(c.id, State::Assigned(b), State::Closed, &assign(b)).await.unwrap();
    assert!(wrong.is_none(), "the expected operator is part of the state");
    let close = event(Event::Closed { by: Some(a) }, None);
    store.change_conversation(c.id, State::Assigned(a), State::Closed, &close).await.unwrap().unwrap();
    let closed = store.conversation(c.id).await.unwrap().unwrap();
    assert_eq!((closed.state, closed.operator), (State::Closed, Some(a)), "closing keeps the operator");
    let rating = || {
        event(Event::Rated { rating: 5, comment: Some("Быстро ответили".into()) }, Some(format!("rating:{}:3", c.id)))
    };
    let first = store.change_conversation(c.id, State::Closed, State::Closed, &rating()).await.unwrap().unwrap();
    let second = store.change_conversation(c.id, State::Closed, State::Closed, &rating()).await.unwrap().unwrap();
    assert!(stored(&first) && !stored(&second), "one rating per closing");
    let reopen = event(Event::Reopened, None);
    store.change_conversation(c.id, State::Closed, State::Queued, &reopen).await.unwrap().unwrap();
    let reopened = store.conversation(c.id).await.unwrap().unwrap();
    assert_eq!((reopened.state, reopened.operator, reopened.last_seq), (State::Queued, None, 4));
    let events: Vec<Body> = store.messages(c.id, 0, None, 10).await.unwrap().iter().map(|m| open(&m.body)).collect();
    assert_eq!(events.len(), 4, "every change left its event: {events:?}");
}

pub(super) async fn history_pages_and_listing(store: &dyn Store) {
    let c = conversation(store).await;
    let op = operator(store).await;
    let v = Author::Visitor(c.visitor_id);
    let word = format!("order-{}", tag());
    let order = format!("заказ {word}");
    let batch: Vec<NewMessage<SealedBody>> =
        (1..=10).map(|i| text(&c, v, None, if i == 7 { &order } else { "hello" }, T0 + i)).collect();
    // Terms written with the messages, in their transaction.
    store
        .append_messages(&batch, &[terms(&c, &[&word, "заказ", "hello"]), terms(&c, &["hello"])].concat())
        .await
        .unwrap();
    let gone = ConversationRecord { id: ConversationId::random(), ..c.clone() };
    store.add_terms(&terms(&gone, &["hello"])).await.expect("terms of a missing conversation are skipped");
    let page = |after, before, limit| store.messages(c.id, after, before, limit);
    let seqs = |m: Vec<crate::StoredMessage>| m.iter().map(|m| m.seq).collect::<Vec<_>>();
    assert_eq!(seqs(page(3, None, 4).await.unwrap()), vec![4, 5, 6, 7]);
    assert_eq!(seqs(page(0, Some(9), 3).await.unwrap()), vec![6, 7, 8], "the page before 9");
    assert_eq!(seqs(page(2, Some(5), 10).await.unwrap()), vec![3, 4]);

    let search = |words: &[&str]| ConversationFilter {
        terms: words.iter().map(|w| w.as_bytes().to_vec()).collect(),
        limit: 10,
        ..Default::default()
    };
    let found = store.list_conversations(&search(&[&word, "заказ"])).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), vec![c.id], "every term held");
    assert!(store.list_conversations(&search(&[&word, "absent"])).await.unwrap().is_empty(), "one term missing");
    assign(store, &c, op, T0 + 20).await;
    let mine = ConversationFilter { operator: Some(op), limit: 10, ..Default::default() };
    assert_eq!(store.list_conversations(&mine).await.unwrap().len(), 1);
    let queued = ConversationFilter { state: Some("queued"), operator: Some(op), limit: 10, ..Default::default() };
    assert!(store.list_conversations(&queued).await.unwrap().is_empty());
    // Keyset paging: newest first, then the ones before it.
    conversation(store).await;
    let all = ConversationFilter { limit: 1, ..Default::default() };
    let first = store.list_conversations(&all).await.unwrap();
    let before = Some((first[0].updated_at, first[0].id));
    let second = store.list_conversations(&ConversationFilter { before, ..all }).await.unwrap();
    assert_ne!(first[0].id, second[0].id);
    assert!(first[0].updated_at >= second[0].updated_at);
}

pub(super) async fn loads_and_activity(store: &dyn Store) {
    let op = operator(store).await;
    store.set_chat_limit(op, 7).await.unwrap();
    assert_eq!(store.chat_limit(op).await.unwrap(), 7);
    let c = conversation(store).await;
    assign(store, &c, op, T0 + 100).await;
    let loads = store.loads(&[op]).await.unwrap();
    assert_eq!((loads[0].operator, loads[0].active, loads[0].limit), (op, 1, 7));
    let note =
        NewMessage { body: seal(Body::Note("internal".into())), ..text(&c, Author::Employee(op), None, "", T0 + 200) };
    store.append_messages(&[note, text(&c, Author::Employee(op), None, "hi", T0 + 201)], &[]).await.unwrap();
    let activity = store.activity(T0 + 150, T0 + 250).await.unwrap();
    let mine: Vec<_> = activity.iter().filter(|m| m.message.conversation_id == c.id).collect();
    assert_eq!(mine.len(), 2, "the assignment and the text, not the note");
    assert!(mine.iter().all(|m| m.channel == "widget" && m.visitor_id == c.visitor_id));
    assert!(store.activity(T0 + 10_000, T0 + 20_000).await.unwrap().iter().all(|m| m.message.conversation_id != c.id));
}

pub(super) async fn unattended_assignments_are_found_until_attended(store: &dyn Store) {
    let (a, b) = (operator(store).await, operator(store).await);
    let (c, d) = (conversation(store).await, conversation(store).await);
    let ours = |list: Vec<crate::Unattended>| -> Vec<(ConversationId, ostrog_domain::ids::EmployeeId)> {
        list.into_iter()
            .filter(|u| u.conversation == c.id || u.conversation == d.id)
            .map(|u| (u.conversation, u.operator))
            .collect()
    };
    store.note_assigned(c.id, a, T0 + 10).await.unwrap();
    store.note_assigned(d.id, a, T0 + 20).await.unwrap();
    assert_eq!(ours(store.unattended(T0 + 15, 1000).await.unwrap()), [(c.id, a)], "only what is old enough");
    assert_eq!(ours(store.unattended(T0 + 20, 1000).await.unwrap()), [(c.id, a), (d.id, a)], "oldest first");

    // Someone else opening it changes nothing; its operator opening it does.
    store.note_attended(c.id, b, T0 + 21).await.unwrap();
    assert_eq!(ours(store.unattended(T0 + 30, 1000).await.unwrap()).len(), 2);
    store.note_attended(c.id, a, T0 + 22).await.unwrap();
    assert_eq!(ours(store.unattended(T0 + 30, 1000).await.unwrap()), [(d.id, a)]);

    // Assigned again: unattended again, and forgetting the old one keeps it.
    let old = store.unattended(T0 + 30, 1000).await.unwrap().into_iter().find(|u| u.conversation == d.id).unwrap();
    store.note_assigned(d.id, b, T0 + 40).await.unwrap();
    store.forget_assignment(&old).await.unwrap();
    assert_eq!(ours(store.unattended(T0 + 40, 1000).await.unwrap()), [(d.id, b)]);
    let new = crate::Unattended { operator: b, assigned_at: T0 + 40, ..old };
    store.forget_assignment(&new).await.unwrap();
    assert!(ours(store.unattended(T0 + 50, 1000).await.unwrap()).is_empty());

    // Erasing the visitor takes the record with the conversation.
    store.note_assigned(c.id, b, T0 + 60).await.unwrap();
    store.erase_visitor(c.visitor_id, T0 + 61).await.unwrap();
    assert!(ours(store.unattended(T0 + 70, 1000).await.unwrap()).is_empty());
}

pub(super) async fn erasing_a_visitor_leaves_a_tombstone(store: &dyn Store) {
    let c = conversation(store).await;
    let word = format!("erase-{}", tag());
    store
        .append_messages(&[text(&c, Author::Visitor(c.visitor_id), None, &word, T0 + 1)], &terms(&c, &[&word]))
        .await
        .unwrap();
    let file = FileRecord {
        id: ostrog_domain::ids::FileId::random(),
        conversation_id: c.id,
        uploader: Author::Visitor(c.visitor_id),
        name: "passport.pdf".into(),
        content_type: "application/pdf".into(),
        size: 3,
        sha256: "00".into(),
        sealed_key: vec![1],
        created_at: T0,
    };
    store.create_file(&file).await.unwrap();
    let other = conversation(store).await;
    store.append_messages(&[text(&other, Author::Visitor(other.visitor_id), None, &word, T0 + 1)], &[]).await.unwrap();
    store.add_terms(&terms(&other, &[&word])).await.unwrap();

    let erased = store.erase_visitor(c.visitor_id, T0 + 9).await.unwrap();
    assert_eq!((erased.conversation, erased.messages, erased.files), (Some(c.id), 1, vec![file.id]));
    assert_eq!(store.visitor(c.visitor_id).await.unwrap(), None);
    assert_eq!(store.conversation(c.id).await.unwrap(), None);
    assert!(store.messages(c.id, 0, None, 10).await.unwrap().is_empty());
    assert_eq!(store.file(file.id).await.unwrap(), None);
    let found = store
        .list_conversations(&ConversationFilter { terms: vec![word.into_bytes()], limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), vec![other.id], "the other visitor's data stays");
    not_found(store.erase_visitor(c.visitor_id, T0 + 10).await, "erasing twice");
}
