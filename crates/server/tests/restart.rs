//! Schedules survive restarts: they live in the store, so a node opened after the previous one
//! is gone (same database, same root key) finds the pending deletions and due rotations and
//! carries them out, both through `scheduler::tick` and through the background loop that
//! `serve` starts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{DAY, Node, START, text};
use keywarden_server::scheduler::{self, SchedulerOptions};

/// Schedules a deletion and a rotation on a node that is then dropped; returns
/// `(doomed key, rotating key, blob of the rotating key, its first version)`.
async fn schedule_and_stop(dir: &std::path::Path) -> (String, String, String, String) {
    let node = Node::open(dir, START).await;
    let doomed = node.create_key().await;
    node.ok(
        "ScheduleKeyDeletion",
        &[("KeyId", &doomed), ("PendingWindowInDays", "7")],
    )
    .await;
    let rotating = node.create_key().await;
    node.ok(
        "UpdateRotationPolicy",
        &[
            ("KeyId", &rotating),
            ("EnableAutomaticRotation", "true"),
            ("RotationInterval", "7d"),
        ],
    )
    .await;
    let blob = node.encrypt(&rotating, "kept").await;
    let first = text(&node.describe(&rotating).await["PrimaryKeyVersion"]);
    drop(node);
    (doomed, rotating, blob, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pending_work_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (doomed, rotating, blob, first) = schedule_and_stop(dir.path()).await;

    let node = Node::open(dir.path(), START + 8 * DAY).await;
    assert_eq!(node.describe(&doomed).await["KeyState"], "PendingDeletion");
    let report = scheduler::tick(&node.kms).await.unwrap();
    assert_eq!(
        (report.destroyed, report.rotated, report.failed),
        (1, 1, 0),
        "{report:?}"
    );

    assert_eq!(
        node.err("DescribeKey", &[("KeyId", &doomed)]).await,
        "Forbidden.KeyNotFound"
    );
    let primary = text(&node.describe(&rotating).await["PrimaryKeyVersion"]);
    assert_ne!(primary, first, "rotated after the restart");
    assert_eq!(
        node.decrypt(&blob).await.unwrap(),
        (first, "kept".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn background_loop_catches_up_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (doomed, rotating, _, first) = schedule_and_stop(dir.path()).await;

    let node = Node::open(dir.path(), START + 8 * DAY).await;
    let options = SchedulerOptions {
        interval: Duration::from_millis(50),
    };
    let task = scheduler::spawn(Arc::clone(&node.kms), options);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let destroyed = node
            .call("DescribeKey", &[("KeyId", &doomed)])
            .await
            .is_err();
        let primary = text(&node.describe(&rotating).await["PrimaryKeyVersion"]);
        if destroyed && primary != first {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the loop did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    assert_ne!(
        text(&node.describe(&rotating).await["PrimaryKeyVersion"]),
        first
    );
}
