//! Conformance of `KeyStore`: create-once, destroy, rotation's
//! compare-and-set re-wrap.

use super::{T0, tag};
use crate::{KeyStore, WrappedKey};

pub(super) async fn keys_are_kept_once_rewrapped_by_compare_and_set_and_destroyed(store: &dyn KeyStore) {
    let name = format!("subject:{}", tag());
    let first = WrappedKey { name: name.clone(), master_key_id: 1, wrapped: vec![1, 2, 3] };
    assert_eq!(store.put_key(&first, T0).await.unwrap(), first);
    let second = WrappedKey { wrapped: vec![9], ..first.clone() };
    assert_eq!(store.put_key(&second, T0).await.unwrap(), first, "the first key of a name stays");
    assert_eq!(store.keys(&[name.clone(), "subject:absent".into()]).await.unwrap(), vec![first.clone()]);

    let rotated = WrappedKey { master_key_id: 2, wrapped: vec![4, 5], ..first.clone() };
    assert!(store.keys_to_rewrap(2, 10).await.unwrap().contains(&first));
    assert!(!store.rewrap(&second, &rotated).await.unwrap(), "only if unchanged");
    assert!(store.rewrap(&first, &rotated).await.unwrap());
    assert!(!store.keys_to_rewrap(2, 10).await.unwrap().iter().any(|k| k.name == name));
    assert!(store.count_by_master_key().await.unwrap().iter().any(|(id, n)| *id == 2 && *n >= 1));

    assert!(store.destroy_key(&name).await.unwrap());
    assert!(!store.destroy_key(&name).await.unwrap(), "destroyed once");
    assert!(store.keys(std::slice::from_ref(&name)).await.unwrap().is_empty());
    assert!(!store.rewrap(&rotated, &first).await.unwrap(), "a destroyed key is not brought back");
}
