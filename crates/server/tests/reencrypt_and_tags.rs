//! ReEncrypt, the batch tag API (flattened lists, NextToken paging) and ListKeys filters,
//! in process (the SDK suite in tests/compat covers the same through the official SDKs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::{Node, START, text};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn re_encrypt_moves_blobs_between_keys_and_contexts() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(dir.path(), START).await;
    let (a, b) = (node.create_key().await, node.create_key().await);
    let ctx_a = r#"{"x": "1", "y": "2"}"#;
    let blob = text(
        &node
            .ok(
                "Encrypt",
                &[
                    ("KeyId", &a),
                    ("Plaintext", "payload"),
                    ("EncryptionContext", ctx_a),
                ],
            )
            .await["CiphertextBlob"],
    );
    // Rotate the destination: the new blob must use its current primary version.
    node.ok("CreateKeyVersion", &[("KeyId", &b)]).await;
    let b_primary = text(&node.describe(&b).await["PrimaryKeyVersion"]);

    let moved = node
        .ok(
            "ReEncrypt",
            &[
                ("CiphertextBlob", &blob),
                ("SourceEncryptionContext", r#"{"y":"2","x":"1"}"#),
                ("DestinationKeyId", &b),
                ("DestinationEncryptionContext", r#"{"z":"3"}"#),
            ],
        )
        .await;
    assert_eq!(
        (text(&moved["KeyId"]), text(&moved["KeyVersionId"])),
        (b.clone(), b_primary)
    );
    let new_blob = text(&moved["CiphertextBlob"]);
    let opened = node
        .ok(
            "Decrypt",
            &[
                ("CiphertextBlob", &new_blob),
                ("EncryptionContext", r#"{"z":"3"}"#),
            ],
        )
        .await;
    assert_eq!(
        (text(&opened["KeyId"]), text(&opened["Plaintext"])),
        (b.clone(), "payload".into())
    );

    let wrong_ctx = [
        ("CiphertextBlob", blob.as_str()),
        ("DestinationKeyId", b.as_str()),
    ];
    assert_eq!(
        node.err("ReEncrypt", &wrong_ctx).await,
        "InvalidParameter",
        "source context"
    );
    let asymmetric = [
        ("CiphertextBlob", blob.as_str()),
        ("DestinationKeyId", b.as_str()),
        ("SourceEncryptionAlgorithm", "RSAES_OAEP_SHA_256"),
    ];
    assert_eq!(
        node.err("ReEncrypt", &asymmetric).await,
        "Rejected.UnsupportedOperation"
    );
    let wrong_version = [
        ("CiphertextBlob", blob.as_str()),
        ("SourceEncryptionContext", ctx_a),
        ("DestinationKeyId", b.as_str()),
        ("SourceKeyVersionId", "00000000-0000-0000-0000-000000000000"),
    ];
    assert_eq!(
        node.err("ReEncrypt", &wrong_version).await,
        "InvalidParameter"
    );
}

fn rows(body: &Value) -> Vec<(String, String, String)> {
    body["TagResources"]["TagResource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["ResourceType"], "key");
            (
                text(&r["ResourceId"]),
                text(&r["TagKey"]),
                text(&r["TagValue"]),
            )
        })
        .collect()
}

/// Runs `action` with owned parameters.
async fn call(node: &Node, action: &str, params: &[(String, String)]) -> Value {
    let refs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    node.ok(action, &refs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_tags_page_with_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(dir.path(), START).await;
    let mut ids: Vec<(String, String)> = vec![("ResourceType".into(), "key".into())];
    for i in 1..=11 {
        ids.push((format!("ResourceId.{i}"), node.create_key().await));
    }
    let mut tagging = ids.clone();
    for t in 1..=20 {
        tagging.push((format!("Tag.{t}.Key"), format!("t{t:02}")));
        tagging.push((format!("Tag.{t}.Value"), format!("v{t}")));
    }
    call(&node, "TagResources", &tagging).await;

    let first = call(&node, "ListTagResources", &ids).await;
    let token = text(&first["NextToken"]);
    assert!(!token.is_empty());
    let mut all = rows(&first);
    assert_eq!(all.len(), 200);
    let mut next = ids.clone();
    next.push(("NextToken".into(), token));
    let second = call(&node, "ListTagResources", &next).await;
    assert_eq!(second["NextToken"], "");
    all.extend(rows(&second));
    let unique: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!((all.len(), unique.len()), (220, 220));
}

/// ListKeys with one `Filters` value: the ids and the total.
async fn list(node: &Node, filters: &str) -> (Vec<String>, u64) {
    let body = node.ok("ListKeys", &[("Filters", filters)]).await;
    let keys = body["Keys"]["Key"].as_array().unwrap();
    let mut ids: Vec<String> = keys.iter().map(|k| text(&k["KeyId"])).collect();
    ids.sort(); // keys created in the same second are ordered by id
    (ids, body["TotalCount"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn list_keys_filters_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(dir.path(), START).await;
    let (a, b, c) = (
        node.create_key().await,
        node.create_key().await,
        node.create_key().await,
    );
    node.ok("DisableKey", &[("KeyId", &b)]).await;
    let tags = r#"[{"TagKey":"env","TagValue":"prod"}]"#;
    node.ok("TagResource", &[("KeyId", &c), ("Tags", tags)])
        .await;
    node.ok(
        "CreateAlias",
        &[("KeyId", &a), ("AliasName", "alias/first")],
    )
    .await;
    let state = |s: &str| format!(r#"[{{"Key":"KeyState","Values":["{s}"]}}]"#);
    assert_eq!(list(&node, &state("Disabled")).await, (vec![b.clone()], 1));
    // Keys created in the same second are ordered by id, so compare as sets.
    let (mut enabled, total) = list(&node, &state("Enabled")).await;
    enabled.sort();
    let mut expected = vec![a.clone(), c.clone()];
    expected.sort();
    assert_eq!((enabled, total), (expected, 2));
    let by_value = r#"[{"Key":"TagValue","Values":["prod"]}]"#;
    assert_eq!(list(&node, by_value).await, (vec![c], 1));
    let by_alias = r#"[{"Key":"AliasName","Values":["alias/first"]}]"#;
    assert_eq!(list(&node, by_alias).await, (vec![a], 1));
    let instance = r#"[{"Key":"DKMSInstanceId","Values":["kst-x"]}]"#;
    assert_eq!(list(&node, instance).await, (vec![], 0));
}
