//! Conformance of `QuickReplyStore`: codes unique per scope among live
//! replies, each employee sees the shared replies and their own, and uses
//! are counted per period, scope and employee, deleted replies included.

use super::{T0, conflict_on, not_found, operator};
use crate::{QuickReplyRecord, Store};
use ostrog_domain::ids::QuickReplyId;
use ostrog_domain::language::Language;
use ostrog_domain::quick_reply::Scope;

fn reply(scope: Scope, code: &str) -> QuickReplyRecord {
    QuickReplyRecord {
        id: QuickReplyId::random(),
        scope,
        code: code.into(),
        title: format!("Title of {code}"),
        bodies: [(Language::Ru, format!("Текст {code}")), (Language::En, format!("Text of {code}"))].into(),
        created_at: T0,
        updated_at: T0,
    }
}

fn codes(list: &[QuickReplyRecord]) -> Vec<(&str, Scope)> {
    list.iter().map(|r| (r.code.as_str(), r.scope)).collect()
}

pub(super) async fn quick_replies_are_unique_per_scope_and_seen_by_their_owner(store: &dyn Store) {
    let (anna, oleg) = (operator(store).await, operator(store).await);
    let tag = super::tag();
    let (hello, bye) = (format!("hello-{tag}"), format!("bye-{tag}"));
    let shared = reply(Scope::Shared, &hello);
    store.create_quick_reply(&shared).await.unwrap();
    conflict_on(store.create_quick_reply(&reply(Scope::Shared, &hello)).await, "code", "a second shared code");
    let mine = reply(Scope::Personal(anna), &hello);
    store.create_quick_reply(&mine).await.expect("a personal reply may share a shared code");
    store.create_quick_reply(&reply(Scope::Personal(oleg), &hello)).await.expect("and another's personal code");
    conflict_on(store.create_quick_reply(&reply(Scope::Personal(anna), &hello)).await, "code", "twice in anna's");

    let annas: Vec<_> = store.quick_replies_for(anna).await.unwrap().into_iter().filter(|r| r.code == hello).collect();
    assert_eq!(codes(&annas), [(hello.as_str(), Scope::Shared), (hello.as_str(), Scope::Personal(anna))]);
    assert_eq!(store.quick_reply(mine.id).await.unwrap(), Some(mine.clone()), "read back whole");

    let renamed = QuickReplyRecord { code: bye.clone(), title: "Bye".into(), updated_at: T0 + 5, ..mine.clone() };
    store.update_quick_reply(&renamed).await.unwrap();
    assert_eq!(store.quick_reply(mine.id).await.unwrap(), Some(renamed.clone()));
    let clash = QuickReplyRecord { code: hello.clone(), ..renamed.clone() };
    store.create_quick_reply(&reply(Scope::Personal(anna), &hello)).await.unwrap();
    conflict_on(store.update_quick_reply(&clash).await, "code", "renamed onto a taken code");

    store.delete_quick_reply(shared.id, T0 + 9).await.unwrap();
    assert_eq!(store.quick_reply(shared.id).await.unwrap(), None);
    not_found(store.delete_quick_reply(shared.id, T0 + 10).await, "deleted twice");
    not_found(store.update_quick_reply(&shared).await, "a deleted reply changed");
    store.create_quick_reply(&reply(Scope::Shared, &hello)).await.expect("a deleted reply's code is free again");
}

pub(super) async fn quick_reply_uses_are_counted_by_period_and_employee(store: &dyn Store) {
    let (anna, oleg) = (operator(store).await, operator(store).await);
    let tag = super::tag();
    let shared = reply(Scope::Shared, &format!("s-{tag}"));
    let annas = reply(Scope::Personal(anna), &format!("a-{tag}"));
    let olegs = reply(Scope::Personal(oleg), &format!("o-{tag}"));
    for r in [&shared, &annas, &olegs] {
        store.create_quick_reply(r).await.unwrap();
    }
    // A period of its own, so that other cases' uses do not count.
    let day = T0 + 1_000_000_000 + rand_offset(&tag);
    for (id, by, at) in [
        (shared.id, anna, day),
        (shared.id, oleg, day + 1),
        (shared.id, oleg, day + 2),
        (annas.id, anna, day + 3),
        (olegs.id, oleg, day + 4),
        (shared.id, anna, day + 100),
    ] {
        store.record_quick_reply_use(id, by, at).await.unwrap();
    }
    store.delete_quick_reply(annas.id, day + 50).await.unwrap();

    let uses = |list: Vec<crate::QuickReplyUsage>| -> Vec<(String, i64, bool)> {
        list.into_iter().map(|u| (u.code, u.uses, u.deleted)).collect()
    };
    let everyone = store.quick_reply_usage(day, day + 100, anna, None).await.unwrap();
    assert_eq!(
        uses(everyone),
        [(shared.code.clone(), 3, false), (annas.code.clone(), 1, true)],
        "most used first; another's personal reply is not shown; the end is exclusive"
    );
    let olegs_own = store.quick_reply_usage(day, day + 101, oleg, Some(oleg)).await.unwrap();
    assert_eq!(uses(olegs_own), [(shared.code.clone(), 2, false), (olegs.code.clone(), 1, false)]);
    assert!(store.quick_reply_usage(day + 200, day + 300, anna, None).await.unwrap().is_empty());
}

/// Spreads the cases' periods apart when the suite runs on one store.
fn rand_offset(tag: &str) -> i64 {
    i64::from_str_radix(&tag[..8], 16).unwrap_or(0) * 1000
}
