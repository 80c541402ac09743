//! The lifecycle scheduler on several nodes of one PostgreSQL store: each due deletion and
//! rotation happens once, whichever nodes tick at the same time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{DAY, Node, START};
use keywarden_server::scheduler;
use keywarden_store::KeyStore;
use keywarden_store::postgres::testing::TestDatabase;
use keywarden_store::postgres::{PgOptions, PgStore};

async fn node_on(db: &TestDatabase) -> Node {
    let store: Arc<dyn KeyStore> = Arc::new(
        PgStore::connect(db.url(), PgOptions::default())
            .await
            .unwrap(),
    );
    Node::on_store(store, START, Duration::from_millis(500)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_due_change_happens_once_across_nodes() {
    let db = TestDatabase::create().await.unwrap();
    let nodes = [node_on(&db).await, node_on(&db).await, node_on(&db).await];
    let mut doomed = Vec::new();
    let mut rotating = Vec::new();
    for i in 0..6 {
        let key = nodes[0].create_key().await;
        if i % 2 == 0 {
            nodes[0]
                .ok(
                    "ScheduleKeyDeletion",
                    &[("KeyId", &key), ("PendingWindowInDays", "7")],
                )
                .await;
            doomed.push(key);
        } else {
            nodes[0]
                .ok(
                    "UpdateRotationPolicy",
                    &[
                        ("KeyId", &key),
                        ("EnableAutomaticRotation", "true"),
                        ("RotationInterval", "604800s"),
                    ],
                )
                .await;
            rotating.push(key);
        }
    }
    for node in &nodes {
        node.clock.set(START + 8 * DAY);
    }
    let (x, y, z) = tokio::join!(
        scheduler::tick(&nodes[0].kms),
        scheduler::tick(&nodes[1].kms),
        scheduler::tick(&nodes[2].kms)
    );
    let reports = [x.unwrap(), y.unwrap(), z.unwrap()];
    let destroyed: usize = reports.iter().map(|r| r.destroyed).sum();
    let rotated: usize = reports.iter().map(|r| r.rotated).sum();
    assert_eq!(destroyed, doomed.len(), "{reports:?}");
    assert_eq!(rotated, rotating.len(), "{reports:?}");
    let store = &nodes[1].kms.store;
    for key in &doomed {
        assert_eq!(store.get_key(key).await.unwrap(), None);
    }
    for key in &rotating {
        let versions = store
            .list_versions(
                key,
                keywarden_store::Page {
                    offset: 0,
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(versions.total, 2, "{key} rotated exactly once");
    }
}
