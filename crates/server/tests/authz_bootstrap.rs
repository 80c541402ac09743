//! The bootstrap administrator: `serve`'s first start makes the RAM user `admin` with
//! `AdministratorAccess` and gives it the bootstrap access key; later starts leave RAM alone,
//! repair a key whose owner has no user row (data dirs from before RAM users), and never
//! recreate a bootstrap key that was deleted through RAM.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use keywarden_server::bootstrap::{self, ADMIN_USER, CredentialsFile};
use keywarden_server::kms::KmsOptions;
use keywarden_store::{AccessKeyRecord, KeyStore, PRINCIPAL_USER};

fn credentials(dir: &Path) -> CredentialsFile {
    serde_json::from_slice(&std::fs::read(dir.join("credentials.json")).unwrap()).unwrap()
}

async fn attached(store: &dyn KeyStore, user: &str) -> Vec<(String, String)> {
    store
        .list_attachments(PRINCIPAL_USER, user)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.policy_type, a.policy_name))
        .collect()
}

fn admin_access() -> Vec<(String, String)> {
    vec![("System".into(), "AdministratorAccess".into())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_makes_an_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let kms = bootstrap::open(dir.path(), None, KmsOptions::default())
        .await
        .unwrap();
    let creds = credentials(dir.path());
    let key = kms
        .store
        .get_access_key(&creds.access_key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (key.user_name.as_str(), key.status.as_str()),
        (ADMIN_USER, "Active")
    );
    assert!(kms.store.get_user(ADMIN_USER).await.unwrap().is_some());
    assert_eq!(attached(&*kms.store, ADMIN_USER).await, admin_access());

    // Restarts change nothing, even after the administrator changed its own policies.
    kms.store
        .detach_policy(PRINCIPAL_USER, ADMIN_USER, "System", "AdministratorAccess")
        .await
        .unwrap();
    drop(kms);
    let kms = bootstrap::open(dir.path(), None, KmsOptions::default())
        .await
        .unwrap();
    assert!(attached(&*kms.store, ADMIN_USER).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_without_its_user_gets_an_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let kms = bootstrap::open(dir.path(), None, KmsOptions::default())
        .await
        .unwrap();
    let creds = credentials(dir.path());
    // As in a data dir from before RAM users: the key names a user that has no row.
    let key = kms
        .store
        .get_access_key(&creds.access_key_id)
        .await
        .unwrap()
        .unwrap();
    kms.store
        .put_access_key(&AccessKeyRecord {
            user_name: "ops".into(),
            ..key
        })
        .await
        .unwrap();
    drop(kms);
    let kms = bootstrap::open(dir.path(), None, KmsOptions::default())
        .await
        .unwrap();
    assert!(kms.store.get_user("ops").await.unwrap().is_some());
    assert_eq!(attached(&*kms.store, "ops").await, admin_access());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_bootstrap_key_is_not_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let kms = bootstrap::open(dir.path(), None, KmsOptions::default())
        .await
        .unwrap();
    let creds = credentials(dir.path());
    kms.store
        .delete_access_key(&creds.access_key_id)
        .await
        .unwrap();
    drop(kms);
    let kms = bootstrap::open(dir.path(), None, KmsOptions::default())
        .await
        .unwrap();
    assert_eq!(
        kms.store
            .get_access_key(&creds.access_key_id)
            .await
            .unwrap(),
        None
    );
}
