//! Conformance of `TeamStore`: names unique without regard to case, members
//! replaced whole and only employees, deletion freeing the name; routes set
//! on conversations; the queue read by priority, then by when each
//! conversation last entered the queue, page by page.

use super::conversations::{conversation, seal};
use super::{T0, conflict_on, not_found, operator, tag};
use crate::{NewMessage, Queued, Route, Store, TeamRecord};
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ConversationId, EmployeeId, MessageId, TeamId};
use ostrog_domain::message::{Author, Body, Event};
use ostrog_domain::rule::Priority;

fn team(name: &str, members: Vec<EmployeeId>) -> TeamRecord {
    let mut members = members;
    members.sort();
    TeamRecord { id: TeamId::random(), name: name.into(), fallback_after_seconds: 90, members, created_at: T0 }
}

pub(super) async fn team_names_are_unique_and_members_are_replaced_whole(store: &dyn Store) {
    let (anna, boris) = (operator(store).await, operator(store).await);
    let name = format!("Оплата {}", tag());
    let payments = team(&name, vec![anna, boris]);
    store.create_team(&payments).await.unwrap();
    conflict_on(store.create_team(&team(&name.to_uppercase(), vec![])).await, "team", "same name, other case");
    not_found(store.create_team(&team(&format!("x {}", tag()), vec![EmployeeId::random()])).await, "a stranger");
    assert!(store.teams().await.unwrap().contains(&payments));

    let changed = TeamRecord { members: vec![boris], fallback_after_seconds: 0, ..payments.clone() };
    store.update_team(&changed).await.unwrap();
    assert!(store.teams().await.unwrap().contains(&changed), "members replaced, the wait kept");
    let stranger = TeamRecord { members: vec![boris, EmployeeId::random()], ..changed.clone() };
    not_found(store.update_team(&stranger).await, "a stranger as a member");
    assert!(store.teams().await.unwrap().contains(&changed), "nothing changed by the refused update");

    store.delete_team(payments.id, T0 + 1).await.unwrap();
    assert!(!store.teams().await.unwrap().iter().any(|t| t.id == payments.id));
    not_found(store.delete_team(payments.id, T0 + 2).await, "deleted twice");
    not_found(store.update_team(&changed).await, "a deleted team changed");
    store.create_team(&team(&name, vec![anna])).await.expect("a deleted team's name is free again");
}

pub(super) async fn the_queue_is_read_by_priority_then_by_time_queued(store: &dyn Store) {
    let urgent_team = team(&format!("Срочные {}", tag()), vec![]);
    store.create_team(&urgent_team).await.unwrap();
    let (a, b, urgent) = (conversation(store).await, conversation(store).await, conversation(store).await);
    let route = Route { conversation: urgent.id, team: Some(urgent_team.id), priority: Priority::High };
    store.set_route(&route).await.unwrap();
    not_found(store.set_route(&Route { conversation: ConversationId::random(), ..route }).await, "unknown");
    assert_eq!(store.routes_of(&[a.id, b.id, urgent.id]).await.unwrap(), [route], "only routed ones are listed");

    // `a` leaves the queue and comes back later: it now waits least.
    let op = operator(store).await;
    let event = |e: Event, at: i64| NewMessage {
        id: MessageId::random(),
        conversation_id: a.id,
        client_key: None,
        author: Author::System,
        body: seal(Body::Event(e)),
        at,
    };
    let assign = event(Event::Assigned { operator: op }, T0 + 10);
    store.change_conversation(a.id, State::Queued, State::Assigned(op), &assign).await.unwrap().unwrap();
    store
        .change_conversation(
            a.id,
            State::Assigned(op),
            State::Queued,
            &event(Event::Requeued { from: op, seconds: 60 }, T0 + 20),
        )
        .await
        .unwrap();

    let ours = |page: Vec<Queued>| -> Vec<(ConversationId, i64)> {
        page.into_iter()
            .filter(|q| [a.id, b.id, urgent.id].contains(&q.conversation.id))
            .map(|q| (q.conversation.id, q.queued_at))
            .collect()
    };
    let high = store.queued(Priority::High, None, 1000).await.unwrap();
    assert!(high.iter().any(|q| q.conversation.id == urgent.id && q.team == Some(urgent_team.id)));
    assert_eq!(ours(high), [(urgent.id, T0)]);
    let normal = store.queued(Priority::Normal, None, 1000).await.unwrap();
    assert_eq!(ours(normal), [(b.id, T0), (a.id, T0 + 20)], "longest waiting first");
    let after_b = store.queued(Priority::Normal, Some((T0, b.id)), 1000).await.unwrap();
    assert_eq!(ours(after_b), [(a.id, T0 + 20)], "the next page starts after b");

    store
        .change_conversation(
            a.id,
            State::Queued,
            State::Assigned(op),
            &event(Event::Assigned { operator: op }, T0 + 30),
        )
        .await
        .unwrap()
        .unwrap();
    let normal = store.queued(Priority::Normal, None, 1000).await.unwrap();
    assert_eq!(ours(normal), [(b.id, T0)], "an assigned conversation is not queued");
}
