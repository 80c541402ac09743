//! A key with 10,000 versions rotates, lists (paged) and decrypts like a key with one: versions
//! are one row each, found by primary key or through the `(key_id, creation_date, version_id)`
//! index, never by loading a list. The assertions are about correctness; the timings are
//! printed (`cargo test --test versions_10k -- --nocapture`) and never asserted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{Node, START, text};
use keywarden_core::model::KeySpec;
use keywarden_store::VersionRecord;

const VERSIONS: i64 = 10_000;
const ROUNDS: u32 = 200;

/// Adds versions `2..=VERSIONS` to `key` straight through the store, their material sealed
/// under the root key exactly as the server seals it. Returns their ids, oldest first.
async fn add_versions(node: &Node, key: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 1..VERSIONS {
        let version_id = uuid::Uuid::new_v4().to_string();
        let sealed_material = node
            .kms
            .new_material(KeySpec::Aes256, key, &version_id)
            .unwrap();
        let version = VersionRecord {
            key_id: key.to_owned(),
            version_id: version_id.clone(),
            creation_date: START + n,
            sealed_material,
        };
        node.kms.store.add_version(&version).await.unwrap();
        ids.push(version_id);
    }
    ids
}

/// A blob sealed by version `version_id` (as Encrypt would have made it while it was primary).
async fn blob_of(node: &Node, version_id: &str, plaintext: &str) -> String {
    use base64::Engine;
    let version = node.kms.version(version_id).await.unwrap();
    let raw = version
        .cipher
        .seal(version_id, b"", plaintext.as_bytes())
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// Mean time of `ROUNDS` runs of `op`.
async fn mean<F, Fut>(mut op: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    for _ in 0..ROUNDS {
        op().await;
    }
    started.elapsed() / ROUNDS
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_versions_cost_what_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(dir.path(), START).await;
    let big = node.create_key().await;
    let small = node.create_key().await;
    let v1 = text(&node.describe(&big).await["PrimaryKeyVersion"]);
    let blob_v1 = node.encrypt(&big, "from version 1").await;
    let filled = Instant::now();
    let ids = add_versions(&node, &big).await;
    println!("inserted {} versions in {:?}", ids.len(), filled.elapsed());
    node.clock.set(START + VERSIONS);

    // Correctness at 10,000 versions.
    let middle = ids.get(4_999).unwrap().clone();
    let blob_mid = blob_of(&node, &middle, "from the middle").await;
    let rotated = node.ok("CreateKeyVersion", &[("KeyId", &big)]).await;
    let latest = text(&rotated["KeyVersion"]["KeyVersionId"]);
    assert_eq!(
        node.describe(&big).await["PrimaryKeyVersion"],
        latest.as_str()
    );
    let encrypted = node
        .ok(
            "Encrypt",
            &[("KeyId", &big), ("Plaintext", "from the latest")],
        )
        .await;
    assert_eq!(
        text(&encrypted["KeyVersionId"]),
        latest,
        "Encrypt uses the newest version"
    );
    let blob_latest = text(&encrypted["CiphertextBlob"]);
    assert_eq!(
        node.decrypt(&blob_v1).await.unwrap(),
        (v1.clone(), "from version 1".into())
    );
    assert_eq!(
        node.decrypt(&blob_mid).await.unwrap(),
        (middle, "from the middle".into())
    );
    assert_eq!(
        node.decrypt(&blob_latest).await.unwrap(),
        (latest.clone(), "from the latest".into())
    );

    let total = VERSIONS as u64 + 1;
    let first_page = node
        .ok("ListKeyVersions", &[("KeyId", &big), ("PageSize", "100")])
        .await;
    assert_eq!(first_page["TotalCount"].as_u64(), Some(total));
    let first_items = first_page["KeyVersions"]["KeyVersion"].as_array().unwrap();
    assert_eq!(first_items.len(), 100);
    assert_eq!(first_items[0]["KeyVersionId"], v1.as_str(), "oldest first");
    let last_number = total.div_ceil(100).to_string();
    let last_page = node
        .ok(
            "ListKeyVersions",
            &[
                ("KeyId", &big),
                ("PageSize", "100"),
                ("PageNumber", &last_number),
            ],
        )
        .await;
    let last_items = last_page["KeyVersions"]["KeyVersion"].as_array().unwrap();
    assert_eq!(last_items.len() as u64, total % 100);
    assert_eq!(
        last_items.last().unwrap()["KeyVersionId"],
        latest.as_str(),
        "newest last"
    );

    // Timings: the same operations on the key with one version and the key with 10,000.
    let blob_small = node.encrypt(&small, "small").await;
    let v_small = text(&node.describe(&small).await["PrimaryKeyVersion"]);
    println!(
        "{:<44} {:>14} {:>14}",
        "mean of 200 calls", "1 version", "10,000 versions"
    );
    let rows: Vec<(&str, Duration, Duration)> = vec![
        (
            "CreateKeyVersion (rotate, durable commit)",
            mean(|| async {
                node.ok("CreateKeyVersion", &[("KeyId", &small)]).await;
            })
            .await,
            mean(|| async {
                node.ok("CreateKeyVersion", &[("KeyId", &big)]).await;
            })
            .await,
        ),
        (
            "ListKeyVersions first page (100)",
            mean(|| async {
                node.ok("ListKeyVersions", &[("KeyId", &small), ("PageSize", "100")])
                    .await;
            })
            .await,
            mean(|| async {
                node.ok("ListKeyVersions", &[("KeyId", &big), ("PageSize", "100")])
                    .await;
            })
            .await,
        ),
        (
            "ListKeyVersions last full page (100)",
            mean(|| async {
                node.ok(
                    "ListKeyVersions",
                    &[("KeyId", &small), ("PageSize", "100"), ("PageNumber", "2")],
                )
                .await;
            })
            .await,
            mean(|| async {
                node.ok(
                    "ListKeyVersions",
                    &[("KeyId", &big), ("PageSize", "100"), ("PageNumber", "102")],
                )
                .await;
            })
            .await,
        ),
        (
            "Decrypt, version cached",
            mean(|| async {
                node.decrypt(&blob_small).await.unwrap();
            })
            .await,
            mean(|| async {
                node.decrypt(&blob_v1).await.unwrap();
            })
            .await,
        ),
        (
            "Decrypt, version read from the store",
            mean(|| async {
                node.kms.invalidate_version(&v_small);
                node.decrypt(&blob_small).await.unwrap();
            })
            .await,
            mean(|| async {
                node.kms.invalidate_version(&v1);
                node.decrypt(&blob_v1).await.unwrap();
            })
            .await,
        ),
        (
            "Encrypt (current primary)",
            mean(|| async {
                node.encrypt(&small, "x").await;
            })
            .await,
            mean(|| async {
                node.encrypt(&big, "x").await;
            })
            .await,
        ),
    ];
    for (label, one, many) in rows {
        println!("{label:<44} {:>14.3?} {:>14.3?}", one, many);
    }
}
