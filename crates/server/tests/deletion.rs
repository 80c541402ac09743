//! Scheduled deletion end to end: ScheduleKeyDeletion records a date, the scheduler destroys
//! the key once the (manual) clock passes it, exactly once even with several nodes on one
//! store, and nothing of the key remains: not the key, its versions, its aliases or its tags.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{DAY, Node, START, date, text};
use keywarden_server::scheduler::{self, TickReport};

/// Creates a key with an alias, a tag and two versions, and a blob of each version.
async fn rich_key(node: &Node, alias: &str) -> (String, Vec<String>) {
    let key = node.create_key().await;
    node.ok("CreateAlias", &[("KeyId", &key), ("AliasName", alias)])
        .await;
    let tags = r#"[{"TagKey":"env","TagValue":"prod"}]"#;
    node.ok("TagResource", &[("KeyId", &key), ("Tags", tags)])
        .await;
    let first = node.encrypt(&key, "one").await;
    node.ok("CreateKeyVersion", &[("KeyId", &key)]).await;
    let second = node.encrypt(&key, "two").await;
    (key, vec![first, second])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn key_is_destroyed_when_its_window_ends() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(dir.path(), START).await;
    let (key, blobs) = rich_key(&node, "alias/doomed").await;
    let (keep, keep_blobs) = rich_key(&node, "alias/kept").await;
    let versions = node.ok("ListKeyVersions", &[("KeyId", &key)]).await;
    assert_eq!(versions["TotalCount"], 2);

    node.ok(
        "ScheduleKeyDeletion",
        &[("KeyId", &key), ("PendingWindowInDays", "7")],
    )
    .await;
    let meta = node.describe(&key).await;
    assert_eq!(meta["KeyState"], "PendingDeletion");
    assert_eq!(text(&meta["DeleteDate"]), date(START + 7 * DAY));
    assert_eq!(
        node.decrypt(&blobs[0]).await.unwrap_err(),
        "Rejected.PendingDeletion"
    );

    node.clock.set(START + 7 * DAY - 1);
    assert_eq!(
        scheduler::tick(&node.kms).await.unwrap(),
        TickReport::default()
    );
    assert_eq!(
        node.describe(&key).await["KeyState"],
        "PendingDeletion",
        "not yet due"
    );

    node.clock.set(START + 7 * DAY);
    let report = scheduler::tick(&node.kms).await.unwrap();
    assert_eq!(report.destroyed, 1, "{report:?}");
    assert_eq!(report.failed, 0);

    assert_eq!(
        node.err("DescribeKey", &[("KeyId", &key)]).await,
        "Forbidden.KeyNotFound"
    );
    assert_eq!(
        node.err("DescribeKey", &[("KeyId", "alias/doomed")]).await,
        "Forbidden.AliasNotFound"
    );
    assert_eq!(
        node.err("ListKeyVersions", &[("KeyId", &key)]).await,
        "Forbidden.KeyNotFound"
    );
    for blob in &blobs {
        assert_eq!(
            node.decrypt(blob).await.unwrap_err(),
            "InvalidParameter",
            "old blob opened"
        );
    }
    for version in versions["KeyVersions"]["KeyVersion"].as_array().unwrap() {
        let id = text(&version["KeyVersionId"]);
        assert_eq!(
            node.kms.store.get_version(&id).await.unwrap(),
            None,
            "version row survived"
        );
    }
    let aliases = node.ok("ListAliases", &[]).await;
    assert_eq!(aliases["TotalCount"], 1, "{aliases}");
    assert!(
        node.kms.store.list_tags(&key).await.unwrap().is_empty(),
        "tags survived"
    );
    let listed = node.ok("ListKeys", &[]).await;
    assert_eq!(listed["TotalCount"], 1);

    // The other key is untouched.
    assert_eq!(node.describe("alias/kept").await["KeyId"], keep.as_str());
    assert_eq!(node.decrypt(&keep_blobs[0]).await.unwrap().1, "one");

    // Later ticks find nothing more to do; the alias name is free again.
    node.clock.advance(DAY);
    assert_eq!(
        scheduler::tick(&node.kms).await.unwrap(),
        TickReport::default()
    );
    node.ok(
        "CreateAlias",
        &[("KeyId", &keep), ("AliasName", "alias/doomed")],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_ticking_together_destroy_each_key_once() {
    const KEYS: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let a = Node::open(dir.path(), START).await;
    let b = Node::open(dir.path(), START).await;
    let mut keys = Vec::new();
    for _ in 0..KEYS {
        let key = a.create_key().await;
        a.ok(
            "ScheduleKeyDeletion",
            &[("KeyId", &key), ("PendingWindowInDays", "7")],
        )
        .await;
        keys.push(key);
    }
    for node in [&a, &b] {
        node.clock.set(START + 8 * DAY);
    }
    for _ in 0..3 {
        let (ra, rb) = tokio::join!(scheduler::tick(&a.kms), scheduler::tick(&b.kms));
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        println!("node a {ra:?}, node b {rb:?}");
        assert_eq!(ra.failed + rb.failed, 0, "{ra:?} {rb:?}");
        if ra.destroyed + rb.destroyed > 0 {
            assert_eq!(
                ra.destroyed + rb.destroyed,
                KEYS,
                "each key once: {ra:?} {rb:?}"
            );
        }
    }
    for key in &keys {
        assert_eq!(
            a.err("DescribeKey", &[("KeyId", key)]).await,
            "Forbidden.KeyNotFound"
        );
        assert_eq!(
            b.err("DescribeKey", &[("KeyId", key)]).await,
            "Forbidden.KeyNotFound"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_and_protected_keys_survive() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(dir.path(), START).await;
    let cancelled = node.create_key().await;
    node.ok(
        "ScheduleKeyDeletion",
        &[("KeyId", &cancelled), ("PendingWindowInDays", "7")],
    )
    .await;
    node.ok("CancelKeyDeletion", &[("KeyId", &cancelled)]).await;
    let meta = node.describe(&cancelled).await;
    assert_eq!(
        (meta["KeyState"].as_str(), meta["DeleteDate"].as_str()),
        (Some("Enabled"), Some(""))
    );

    let protected = node.create_key().await;
    let arn = text(&node.describe(&protected).await["Arn"]);
    node.ok(
        "SetDeletionProtection",
        &[
            ("ProtectedResourceArn", &arn),
            ("EnableDeletionProtection", "true"),
            ("DeletionProtectionDescription", "prod"),
        ],
    )
    .await;
    let meta = node.describe(&protected).await;
    assert_eq!(
        (
            meta["DeletionProtection"].as_str(),
            meta["DeletionProtectionDescription"].as_str()
        ),
        (Some("Enabled"), Some("prod"))
    );
    let refused = node
        .err(
            "ScheduleKeyDeletion",
            &[("KeyId", &protected), ("PendingWindowInDays", "7")],
        )
        .await;
    assert_eq!(refused, "Rejected.DeletionProtection");
    node.ok(
        "SetDeletionProtection",
        &[("KeyId", &protected), ("EnableDeletionProtection", "false")],
    )
    .await;
    assert_eq!(
        node.describe(&protected).await["DeletionProtection"],
        "Disabled"
    );

    for bad in ["6", "367", "x", ""] {
        let code = node
            .err(
                "ScheduleKeyDeletion",
                &[("KeyId", &cancelled), ("PendingWindowInDays", bad)],
            )
            .await;
        let expected = if bad.is_empty() {
            "MissingParameter"
        } else {
            "InvalidParameter"
        };
        assert_eq!(code, expected, "window {bad:?}");
    }
    node.ok(
        "ScheduleKeyDeletion",
        &[("KeyId", &cancelled), ("PendingWindowInDays", "366")],
    )
    .await;
    assert_eq!(
        text(&node.describe(&cancelled).await["DeleteDate"]),
        date(START + 366 * DAY)
    );

    node.clock.set(START + 365 * DAY);
    assert_eq!(scheduler::tick(&node.kms).await.unwrap().destroyed, 0);
    node.ok("CancelKeyDeletion", &[("KeyId", &cancelled)]).await;
    node.clock.set(START + 400 * DAY);
    assert_eq!(scheduler::tick(&node.kms).await.unwrap().destroyed, 0);
    node.describe(&cancelled).await;
    node.describe(&protected).await;
}

/// Another node trusts its cache for at most its TTL: after that it sees the key gone, and
/// drops the unwrapped material it had cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn other_nodes_stop_within_their_cache_ttl() {
    const TTL: Duration = Duration::from_millis(300);
    let dir = tempfile::tempdir().unwrap();
    let a = Node::open(dir.path(), START).await;
    let b = Node::open_with_ttl(dir.path(), START, TTL).await;
    let key = a.create_key().await;
    let blob = a.encrypt(&key, "cached").await;
    assert_eq!(
        b.decrypt(&blob).await.unwrap().1,
        "cached",
        "b caches key and version"
    );

    a.ok(
        "ScheduleKeyDeletion",
        &[("KeyId", &key), ("PendingWindowInDays", "7")],
    )
    .await;
    a.clock.set(START + 7 * DAY);
    assert_eq!(scheduler::tick(&a.kms).await.unwrap().destroyed, 1);

    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    assert_eq!(b.decrypt(&blob).await.unwrap_err(), "InvalidParameter");
    assert_eq!(
        b.err("DescribeKey", &[("KeyId", &key)]).await,
        "Forbidden.KeyNotFound"
    );
}
