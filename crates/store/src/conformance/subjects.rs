//! Conformance of `SubjectStore` and of the personal-data access trail.

use super::{T0, audit_event, tag};
use crate::{
    AuditFilter, ConsentRecord, ConversationRecord, Due, Store, SubjectRequest, Trail, VisitorRecord, WidgetRecord,
};
use ostrog_domain::audit::{GENESIS, verify};
use ostrog_domain::conversation::State;
use ostrog_domain::ids::{ConversationId, EmployeeId, VisitorId, WidgetId};
use ostrog_domain::privacy::{RequestKind, RequestStatus};

async fn visitor(store: &dyn Store, created_at: i64) -> VisitorId {
    let widget = WidgetRecord {
        id: WidgetId::random(),
        settings: serde_json::from_value(serde_json::json!({"name": "W", "greeting": "", "allowed_origins": []}))
            .unwrap(),
        secret: vec![1],
        created_at: T0,
    };
    store.create_widget(&widget).await.unwrap();
    let v =
        VisitorRecord { id: VisitorId::random(), source: crate::Source::Widget(widget.id), external: None, created_at };
    store.create_visitor(&v, Some(&format!("t-{}", tag()))).await.unwrap();
    v.id
}

async fn conversation(store: &dyn Store, v: VisitorId, state: State, at: i64) {
    let c = ConversationRecord {
        id: ConversationId::random(),
        visitor_id: v,
        channel: "widget".into(),
        state,
        operator: None,
        last_seq: 0,
        created_at: at,
        updated_at: at,
    };
    store.create_conversation(&c).await.unwrap();
}

pub(super) async fn the_access_trail_is_a_chain_of_its_own(store: &dyn Store) {
    let t = tag();
    let security = AuditFilter { action: Some(format!("read.{t}")), ..Default::default() };
    let access = AuditFilter { trail: Trail::PersonalDataAccess, ..security.clone() };
    store.append_to(Trail::PersonalDataAccess, &audit_event(&format!("read.{t}"), Some(&t), None, T0)).await.unwrap();
    assert!(store.audit_entries(&security, 0, 10).await.unwrap().is_empty(), "not in the security trail");
    assert_eq!(store.audit_entries(&access, 0, 10).await.unwrap().len(), 1);
    let everything = AuditFilter { trail: Trail::PersonalDataAccess, ..Default::default() };
    let whole = store.audit_entries(&everything, 0, 10_000).await.unwrap();
    verify((0, GENESIS.into()), &whole).expect("the access trail verifies on its own");
}

pub(super) async fn consents_and_requests(store: &dyn Store) {
    let v = visitor(store, T0).await;
    let consent = |version, accepted, at| ConsentRecord {
        id: uuid::Uuid::new_v4(),
        visitor_id: v,
        version,
        accepted,
        at,
        source: "widget".into(),
        ip_sealed: Some(vec![7, 7]),
    };
    let (given, withdrawn) = (consent(2, true, T0 + 1), consent(2, false, T0 + 2));
    store.add_consent(&withdrawn).await.unwrap();
    store.add_consent(&given).await.unwrap();
    assert_eq!(store.consents(v).await.unwrap(), vec![given, withdrawn], "oldest first");

    let request = |kind: RequestKind, due| SubjectRequest {
        id: uuid::Uuid::new_v4(),
        visitor_id: v,
        kind,
        basis: "subject_request".into(),
        status: RequestStatus::Open,
        received_at: T0,
        due_at: due,
        closed_at: None,
        closed_by: None,
        note: "letter 17".into(),
    };
    let (late, soon) = (request(RequestKind::Erasure, T0 + 30), request(RequestKind::Access, T0 + 10));
    store.create_request(&late).await.unwrap();
    store.create_request(&soon).await.unwrap();
    let open = store.requests(Some(v), true, 1000).await.unwrap();
    assert_eq!(open, vec![soon.clone(), late.clone()], "the nearest deadline first");
    let by = EmployeeId::random();
    assert!(store.close_request(soon.id, RequestStatus::Done, T0 + 5, Some(by)).await.unwrap());
    assert!(!store.close_request(soon.id, RequestStatus::Rejected, T0 + 6, None).await.unwrap(), "closed once");
    let closed = store.request(soon.id).await.unwrap().unwrap();
    assert_eq!((closed.status, closed.closed_at, closed.closed_by), (RequestStatus::Done, Some(T0 + 5), Some(by)));
    assert!(!store.requests(Some(v), true, 1000).await.unwrap().iter().any(|r| r.id == soon.id));
    assert!(store.requests(None, false, 1000).await.unwrap().iter().any(|r| r.id == soon.id));
    let other = VisitorId::random();
    assert!(store.requests(Some(other), false, 1000).await.unwrap().is_empty(), "only the visitor's");

    store.erase_visitor(v, T0 + 9).await.unwrap();
    assert!(store.consents(v).await.unwrap().is_empty(), "consents go with the subject (they hold an IP)");
    assert!(store.request(late.id).await.unwrap().is_some(), "requests stay: they hold no personal data");
}

pub(super) async fn retention_finds_what_is_due(store: &dyn Store) {
    // Far in the future, so that other checks' visitors are not due.
    let t = T0 + 1_000_000_000_000;
    let silent_old = visitor(store, t).await;
    let silent_new = visitor(store, t + 100).await;
    let closed_old = visitor(store, t).await;
    conversation(store, closed_old, State::Closed, t + 10).await;
    let open_old = visitor(store, t).await;
    conversation(store, open_old, State::Queued, t + 10).await;
    let due = store.retention_due(t + 50, t + 50, 1000).await.unwrap();
    let ours: Vec<_> =
        due.into_iter().filter(|(v, _)| [silent_old, silent_new, closed_old, open_old].contains(v)).collect();
    assert_eq!(ours, vec![(silent_old, Due::Silent), (closed_old, Due::ConversationClosed)]);
    store.erase_visitor(silent_old, t + 60).await.unwrap();
    let due = store.retention_due(t + 50, t + 50, 1000).await.unwrap();
    assert!(!due.iter().any(|(v, _)| *v == silent_old), "an erased visitor is never due again");
}
