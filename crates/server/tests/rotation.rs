//! Key versions and rotation: on demand (CreateKeyVersion) and on schedule
//! (UpdateRotationPolicy + the scheduler). Encrypt and GenerateDataKey always use the current
//! primary version; Decrypt opens blobs of every version; a scheduled rotation happens once
//! even with two nodes ticking together.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{DAY, Node, START, date, text};
use keywarden_server::scheduler;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scheduled_rotation_moves_the_primary_version() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(dir.path(), START).await;
    let key = node.create_key().await;
    let first = text(&node.describe(&key).await["PrimaryKeyVersion"]);
    let old_blob = node.encrypt(&key, "before").await;

    node.clock.set(START + 100);
    let policy = [
        ("KeyId", key.as_str()),
        ("EnableAutomaticRotation", "True"),
        ("RotationInterval", "7d"),
    ];
    node.ok("UpdateRotationPolicy", &policy).await;
    let meta = node.describe(&key).await;
    assert_eq!(meta["AutomaticRotation"], "Enabled");
    assert_eq!(meta["RotationInterval"], "604800s");
    assert_eq!(text(&meta["LastRotationDate"]), date(START));
    assert_eq!(
        text(&meta["NextRotationDate"]),
        date(START + 7 * DAY),
        "one interval after the last rotation"
    );

    node.clock.set(START + 7 * DAY - 1);
    assert_eq!(
        scheduler::tick(&node.kms).await.unwrap().rotated,
        0,
        "not yet due"
    );
    let now = START + 7 * DAY + 30;
    node.clock.set(now);
    let report = scheduler::tick(&node.kms).await.unwrap();
    assert_eq!((report.rotated, report.failed), (1, 0), "{report:?}");

    let meta = node.describe(&key).await;
    let second = text(&meta["PrimaryKeyVersion"]);
    assert_ne!(second, first);
    assert_eq!(text(&meta["LastRotationDate"]), date(now));
    assert_eq!(text(&meta["NextRotationDate"]), date(now + 7 * DAY));

    let encrypted = node
        .ok("Encrypt", &[("KeyId", &key), ("Plaintext", "after")])
        .await;
    assert_eq!(
        text(&encrypted["KeyVersionId"]),
        second,
        "Encrypt uses the new primary"
    );
    let data_key = node.ok("GenerateDataKey", &[("KeyId", &key)]).await;
    assert_eq!(
        text(&data_key["KeyVersionId"]),
        second,
        "GenerateDataKey uses the new primary"
    );
    assert_eq!(
        node.decrypt(&old_blob).await.unwrap(),
        (first.clone(), "before".into())
    );
    let new_blob = text(&encrypted["CiphertextBlob"]);
    assert_eq!(
        node.decrypt(&new_blob).await.unwrap(),
        (second.clone(), "after".into())
    );

    let listed = node.ok("ListKeyVersions", &[("KeyId", &key)]).await;
    assert_eq!(listed["TotalCount"], 2);
    let described = node
        .ok(
            "DescribeKeyVersion",
            &[("KeyId", &key), ("KeyVersionId", &first)],
        )
        .await;
    assert_eq!(text(&described["KeyVersion"]["CreationDate"]), date(START));

    assert_eq!(
        scheduler::tick(&node.kms).await.unwrap().rotated,
        0,
        "rotated once per interval"
    );
    node.clock.set(now + 7 * DAY);
    assert_eq!(
        scheduler::tick(&node.kms).await.unwrap().rotated,
        1,
        "and again one interval later"
    );

    node.ok(
        "UpdateRotationPolicy",
        &[("KeyId", &key), ("EnableAutomaticRotation", "false")],
    )
    .await;
    let meta = node.describe(&key).await;
    assert_eq!(meta["AutomaticRotation"], "Disabled");
    assert!(
        meta.get("RotationInterval").is_none() && meta.get("NextRotationDate").is_none(),
        "{meta}"
    );
    node.clock.set(now + 100 * DAY);
    assert_eq!(
        scheduler::tick(&node.kms).await.unwrap().rotated,
        0,
        "rotation off"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_demand_versions() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(dir.path(), START).await;
    let key = node.create_key().await;
    node.ok(
        "CreateAlias",
        &[("KeyId", &key), ("AliasName", "alias/rot")],
    )
    .await;
    let mut blobs = vec![(node.encrypt(&key, "v0").await, "v0".to_owned())];
    for n in 1..=5 {
        node.clock.advance(60);
        let created = node.ok("CreateKeyVersion", &[("KeyId", "alias/rot")]).await;
        let version = &created["KeyVersion"];
        assert_eq!(
            version["KeyId"],
            key.as_str(),
            "the alias resolves to the key id"
        );
        assert_eq!(text(&version["CreationDate"]), date(node.kms.now()));
        let meta = node.describe(&key).await;
        assert_eq!(meta["PrimaryKeyVersion"], version["KeyVersionId"]);
        assert_eq!(text(&meta["LastRotationDate"]), date(node.kms.now()));
        let plaintext = format!("v{n}");
        blobs.push((node.encrypt("alias/rot", &plaintext).await, plaintext));
    }
    for (blob, plaintext) in &blobs {
        assert_eq!(&node.decrypt(blob).await.unwrap().1, plaintext);
    }
    let page = node
        .ok(
            "ListKeyVersions",
            &[("KeyId", &key), ("PageNumber", "2"), ("PageSize", "4")],
        )
        .await;
    assert_eq!(
        (
            page["TotalCount"].as_u64(),
            page["PageNumber"].as_u64(),
            page["PageSize"].as_u64()
        ),
        (Some(6), Some(2), Some(4))
    );
    assert_eq!(
        page["KeyVersions"]["KeyVersion"].as_array().unwrap().len(),
        2
    );

    // With automatic rotation on, an on-demand rotation restarts the interval.
    node.ok(
        "UpdateRotationPolicy",
        &[
            ("KeyId", &key),
            ("EnableAutomaticRotation", "true"),
            ("RotationInterval", "168h"),
        ],
    )
    .await;
    node.clock.advance(DAY);
    node.ok("CreateKeyVersion", &[("KeyId", &key)]).await;
    let meta = node.describe(&key).await;
    assert_eq!(
        text(&meta["NextRotationDate"]),
        date(node.kms.now() + 7 * DAY)
    );

    let other = node.create_key().await;
    let foreign = text(&node.describe(&other).await["PrimaryKeyVersion"]);
    let code = node
        .err(
            "DescribeKeyVersion",
            &[("KeyId", &key), ("KeyVersionId", &foreign)],
        )
        .await;
    assert_eq!(
        code, "Forbidden.KeyVersionNotFound",
        "a version of another key"
    );
    for (params, code) in [
        (
            vec![("KeyId", key.as_str()), ("EnableAutomaticRotation", "true")],
            "MissingParameter",
        ),
        (vec![("KeyId", key.as_str())], "MissingParameter"),
        (
            vec![
                ("KeyId", key.as_str()),
                ("EnableAutomaticRotation", "true"),
                ("RotationInterval", "6d"),
            ],
            "InvalidParameter",
        ),
        (
            vec![
                ("KeyId", key.as_str()),
                ("EnableAutomaticRotation", "true"),
                ("RotationInterval", "731d"),
            ],
            "InvalidParameter",
        ),
        (
            vec![
                ("KeyId", key.as_str()),
                ("EnableAutomaticRotation", "true"),
                ("RotationInterval", "7w"),
            ],
            "InvalidParameter",
        ),
        (
            vec![
                ("KeyId", key.as_str()),
                ("EnableAutomaticRotation", "maybe"),
            ],
            "InvalidParameter",
        ),
    ] {
        assert_eq!(
            node.err("UpdateRotationPolicy", &params).await,
            code,
            "{params:?}"
        );
    }
    node.ok(
        "UpdateRotationPolicy",
        &[
            ("KeyId", &key),
            ("EnableAutomaticRotation", "true"),
            ("RotationInterval", "63072000s"),
        ],
    )
    .await;
    assert_eq!(node.describe(&key).await["RotationInterval"], "63072000s");
}

/// A disabled key does not rotate; once enabled again, an overdue rotation happens at the next
/// tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disabled_keys_wait_for_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(dir.path(), START).await;
    let key = node.create_key().await;
    node.ok(
        "UpdateRotationPolicy",
        &[
            ("KeyId", &key),
            ("EnableAutomaticRotation", "true"),
            ("RotationInterval", "7d"),
        ],
    )
    .await;
    node.ok("DisableKey", &[("KeyId", &key)]).await;
    node.clock.set(START + 30 * DAY);
    assert_eq!(scheduler::tick(&node.kms).await.unwrap().rotated, 0);
    node.ok("EnableKey", &[("KeyId", &key)]).await;
    assert_eq!(scheduler::tick(&node.kms).await.unwrap().rotated, 1);
    let meta = node.describe(&key).await;
    assert_eq!(text(&meta["NextRotationDate"]), date(START + 37 * DAY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_rotate_each_key_once() {
    const KEYS: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let a = Node::open(dir.path(), START).await;
    let b = Node::open(dir.path(), START).await;
    let mut keys = Vec::new();
    for _ in 0..KEYS {
        let key = a.create_key().await;
        a.ok(
            "UpdateRotationPolicy",
            &[
                ("KeyId", &key),
                ("EnableAutomaticRotation", "true"),
                ("RotationInterval", "7d"),
            ],
        )
        .await;
        keys.push(key);
    }
    for node in [&a, &b] {
        node.clock.set(START + 7 * DAY);
    }
    let (ra, rb) = tokio::join!(scheduler::tick(&a.kms), scheduler::tick(&b.kms));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    println!("node a {ra:?}, node b {rb:?}");
    assert_eq!(ra.rotated + rb.rotated, KEYS, "{ra:?} {rb:?}");
    assert_eq!(ra.failed + rb.failed, 0);
    for key in &keys {
        let versions = a.ok("ListKeyVersions", &[("KeyId", key)]).await;
        assert_eq!(versions["TotalCount"], 2, "exactly one rotation of {key}");
    }
}
