//! Conformance checks for key policies: created with the key or set later, replaced, read one
//! at a time and for a page of keys, refused for an absent key, destroyed with the key.

use super::{sample_key, sample_version};
use crate::{KeyPolicyRecord, KeyStore, StoreError, StoreResult};

/// `create_key_with_policy`, `set_key_policy`, `get_key_policy`, `get_key_policies`, and
/// `destroy_key` taking the policy with it.
pub async fn key_policies_lifecycle<S: KeyStore>(store: &S) -> StoreResult<()> {
    let doc = |n: u32| format!(r#"{{"Version":"1","Statement":[],"n":{n},"text":"ünï"}}"#);
    let a = sample_key("key-a", 1_000);
    store
        .create_key_with_policy(&a, &sample_version("key-a", "key-a-v1", 1_000), &doc(1))
        .await?;
    let b = sample_key("key-b", 1_000);
    store
        .create_key(&b, &sample_version("key-b", "key-b-v1", 1_000))
        .await?;
    let expect = |key_id: &str, n: u32, at: i64| KeyPolicyRecord {
        key_id: key_id.to_owned(),
        document: doc(n),
        update_date: at,
    };
    assert_eq!(
        store.get_key_policy("key-a").await?,
        Some(expect("key-a", 1, 1_000))
    );
    assert_eq!(
        store.get_key_policy("key-b").await?,
        None,
        "no policy of its own"
    );
    assert_eq!(store.get_key_policy("absent").await?, None);

    // A duplicate key id refuses the key and its policy together.
    let dup = store
        .create_key_with_policy(&a, &sample_version("key-a", "key-a-v9", 1_000), &doc(9))
        .await;
    assert!(
        matches!(dup, Err(StoreError::AlreadyExists)),
        "dup: {dup:?}"
    );
    assert_eq!(
        store.get_key_policy("key-a").await?,
        Some(expect("key-a", 1, 1_000))
    );

    store.set_key_policy(&expect("key-b", 2, 2_000)).await?;
    store.set_key_policy(&expect("key-a", 3, 3_000)).await?;
    assert_eq!(
        store.get_key_policy("key-a").await?,
        Some(expect("key-a", 3, 3_000))
    );
    let absent = store.set_key_policy(&expect("absent", 4, 4_000)).await;
    assert!(
        matches!(absent, Err(StoreError::NotFound)),
        "absent: {absent:?}"
    );

    let ids: Vec<String> = ["key-b", "absent", "key-a"].map(str::to_owned).to_vec();
    let mut many = store.get_key_policies(&ids).await?;
    many.sort_by(|x, y| x.key_id.cmp(&y.key_id));
    assert_eq!(many, [expect("key-a", 3, 3_000), expect("key-b", 2, 2_000)]);
    assert!(store.get_key_policies(&[]).await?.is_empty());
    let lots: Vec<String> = (0..1_200).map(|i| format!("k{i}")).chain(ids).collect();
    assert_eq!(
        store.get_key_policies(&lots).await?.len(),
        2,
        "long id lists"
    );

    store.destroy_key("key-a", 0).await?;
    assert_eq!(
        store.get_key_policy("key-a").await?,
        None,
        "destroyed with its key"
    );
    assert_eq!(
        store.get_key_policy("key-b").await?,
        Some(expect("key-b", 2, 2_000))
    );
    Ok(())
}
