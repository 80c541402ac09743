//! A request naming an access key id the store does not have costs one store read, not one
//! per request: the id is remembered as unknown for the cache TTL, and forgotten as soon as an
//! access key with that id is created through the KMS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{ADMIN, Node, START};
use keywarden_core::model::AccessKeyStatus;
use keywarden_server::error::ApiError;
use keywarden_store::AccessKeyRecord;

fn record(node: &Node, id: &str) -> AccessKeyRecord {
    AccessKeyRecord {
        access_key_id: id.into(),
        sealed_secret: node.kms.seal_secret(id, "secret-of-the-test").unwrap(),
        status: AccessKeyStatus::Active,
        user_name: ADMIN.into(),
        creation_date: START,
    }
}

#[tokio::test]
async fn an_unknown_access_key_id_is_read_once_per_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open_with_ttl(dir.path(), START, Duration::from_secs(600)).await;
    let kms = &node.kms;
    let unknown = "LTAI5tUnknownKeyId000001";
    assert!(matches!(
        kms.credential(unknown).await,
        Err(ApiError::AccessKeyNotFound)
    ));
    // The key appears in the store behind this node's back (as another node would write it):
    // this node answers from its negative cache, without reading the store again.
    kms.store
        .put_access_key(&record(&node, unknown))
        .await
        .unwrap();
    for _ in 0..3 {
        assert!(
            matches!(
                kms.credential(unknown).await,
                Err(ApiError::AccessKeyNotFound)
            ),
            "a repeat read the store"
        );
    }
    // A local change forgets the entry at once; the next call reads the store and finds it.
    kms.invalidate_credential(unknown);
    let found = kms
        .credential(unknown)
        .await
        .expect("read after invalidation");
    assert_eq!(found.record.user_name, ADMIN);

    // An id tried before it is created through the KMS is usable at once.
    let later = "LTAI5tUnknownKeyId000002";
    assert!(kms.credential(later).await.is_err());
    kms.create_access_key(&record(&node, later)).await.unwrap();
    assert!(kms.credential(later).await.is_ok());
}

#[tokio::test]
async fn the_negative_cache_expires_with_the_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open_with_ttl(dir.path(), START, Duration::from_millis(100)).await;
    let kms = &node.kms;
    let id = "LTAI5tUnknownKeyId000003";
    assert!(kms.credential(id).await.is_err());
    kms.store.put_access_key(&record(&node, id)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(kms.credential(id).await.is_ok(), "seen after one TTL");
}
