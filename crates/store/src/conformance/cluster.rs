//! Leases and node rows (`ClusterStore`).

use super::{T0, tag};
use crate::{NodeRecord, Store};
use futures_util::future::join_all;

pub(super) async fn a_lease_goes_to_one_holder_until_it_runs_out(store: &dyn Store) {
    let name = format!("job-{}", tag());
    assert!(store.try_lease(&name, "a", T0, T0 + 10).await.unwrap(), "a free lease is granted");
    assert!(!store.try_lease(&name, "b", T0 + 5, T0 + 15).await.unwrap(), "held by another until it runs out");
    assert!(store.try_lease(&name, "a", T0 + 5, T0 + 15).await.unwrap(), "the holder renews");
    assert_eq!(store.lease_holder(&name, T0 + 15).await.unwrap().as_deref(), Some("a"));
    assert!(store.try_lease(&name, "b", T0 + 16, T0 + 26).await.unwrap(), "taken over once it ran out");
    assert_eq!(store.lease_holder(&name, T0 + 20).await.unwrap().as_deref(), Some("b"));
    assert_eq!(store.lease_holder(&name, T0 + 27).await.unwrap(), None, "nobody holds a lease that ran out");
    store.release_lease(&name, "a").await.unwrap();
    assert_eq!(store.lease_holder(&name, T0 + 20).await.unwrap().as_deref(), Some("b"), "only the holder releases");
    store.release_lease(&name, "b").await.unwrap();
    assert!(store.try_lease(&name, "c", T0 + 20, T0 + 30).await.unwrap(), "a released lease is free at once");
}

pub(super) async fn of_many_racing_for_a_free_lease_exactly_one_wins(store: &dyn Store) {
    let name = format!("race-{}", tag());
    let holders: Vec<String> = (0..16).map(|i| format!("node-{i}")).collect();
    let granted = join_all(holders.iter().map(|h| store.try_lease(&name, h, T0, T0 + 1000))).await;
    let winners: Vec<&String> =
        holders.iter().zip(&granted).filter(|(_, g)| *g.as_ref().unwrap()).map(|(h, _)| h).collect();
    assert_eq!(winners.len(), 1, "exactly one of the racers holds the lease: {winners:?}");
    assert_eq!(store.lease_holder(&name, T0).await.unwrap().as_ref(), Some(winners[0]));
}

pub(super) async fn nodes_are_listed_while_they_are_seen(store: &dyn Store) {
    let (a, b) = (format!("node-{}", tag()), format!("node-{}", tag()));
    let row = |id: &str, seen_at| NodeRecord { id: id.into(), presence: "[]".into(), started_at: T0, seen_at };
    store.put_node(&row(&a, T0 + 100)).await.unwrap();
    store.put_node(&row(&b, T0 + 50)).await.unwrap();
    let ours =
        |list: Vec<NodeRecord>| list.into_iter().map(|n| n.id).filter(|id| *id == a || *id == b).collect::<Vec<_>>();
    assert_eq!(ours(store.nodes(T0 + 60).await.unwrap()), vec![a.clone()], "a node not seen lately is left out");
    let mut updated = row(&b, T0 + 200);
    updated.presence = r#"[{"e":"x"}]"#.into();
    updated.started_at = T0 + 1;
    store.put_node(&updated).await.unwrap();
    let listed = store.nodes(T0 + 150).await.unwrap().into_iter().find(|n| n.id == b).unwrap();
    assert_eq!(
        (listed.presence.as_str(), listed.started_at),
        (r#"[{"e":"x"}]"#, T0),
        "the start stays; the rest changes"
    );
    store.delete_node(&b).await.unwrap();
    assert_eq!(ours(store.nodes(0).await.unwrap()), vec![a.clone()], "a deleted node is gone");
}
