//! The key-state × action matrix, data-driven: every action that names a key, run against a
//! key in each state (Enabled, Disabled, PendingDeletion, PendingImport), must answer exactly
//! the expected outcome: success, `DryRunOperationError`, or the 409 code of the matrix.
//! Each case gets a fresh key, so no case sees another's side effects.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;

use common::{Node, START, text};
use keywarden_core::model::KeyState;
use keywarden_server::ops::ACTIONS;

/// Success.
const OK: &str = "OK";
/// DryRun of a call that would have succeeded.
const DRY: &str = "DryRunOperationError";
const SMF: &str = "Rejected.StateModifiedFailed";
const R_D: &str = "Rejected.Disabled";
const R_PD: &str = "Rejected.PendingDeletion";
const R_PI: &str = "Rejected.PendingImport";

/// The states of the matrix's columns.
const STATES: [KeyState; 4] = [
    KeyState::Enabled,
    KeyState::Disabled,
    KeyState::PendingDeletion,
    KeyState::PendingImport,
];

/// What a case can refer to: a key `key` in the state under test, an Enabled key `other`,
/// a blob of each, the key's primary version, an alias of each, and a name no alias has.
struct Fixture {
    key: String,
    arn: String,
    other: String,
    blob: String,
    other_blob: String,
    version: String,
    alias: String,
    other_alias: String,
    fresh_alias: String,
}

type Params = Vec<(&'static str, String)>;

/// One row: an action, its parameters, and the expected outcome per state (in [`STATES`]
/// order).
struct Row {
    action: &'static str,
    params: fn(&Fixture) -> Params,
    expect: [&'static str; 4],
}

const fn row(
    action: &'static str,
    params: fn(&Fixture) -> Params,
    expect: [&'static str; 4],
) -> Row {
    Row {
        action,
        params,
        expect,
    }
}

fn key(f: &Fixture) -> Params {
    vec![("KeyId", f.key.clone())]
}

/// The matrix (reference §5.3), extended to every action keywarden implements.
fn matrix() -> Vec<Row> {
    let crypto = [OK, R_D, R_PD, R_PI];
    let crypto_dry = [DRY, R_D, R_PD, R_PI];
    let any = [OK, OK, OK, OK];
    let mutable = [OK, OK, R_PD, OK];
    vec![
        row("DescribeKey", key, any),
        row(
            "ListKeys",
            |f| {
                vec![(
                    "Filters",
                    format!(r#"[{{"Key":"keyId","Values":["{}"]}}]"#, f.key),
                )]
            },
            any,
        ),
        row("EnableKey", key, [OK, OK, SMF, SMF]),
        row("DisableKey", key, [OK, OK, SMF, SMF]),
        row(
            "ScheduleKeyDeletion",
            |f| {
                vec![
                    ("KeyId", f.key.clone()),
                    ("PendingWindowInDays", "7".into()),
                ]
            },
            [OK, OK, SMF, OK],
        ),
        row("CancelKeyDeletion", key, [SMF, SMF, OK, SMF]),
        row(
            "UpdateKeyDescription",
            |f| vec![("KeyId", f.key.clone()), ("Description", "new".into())],
            mutable,
        ),
        row(
            "SetDeletionProtection",
            |f| {
                vec![
                    ("ProtectedResourceArn", f.arn.clone()),
                    ("EnableDeletionProtection", "true".into()),
                ]
            },
            mutable,
        ),
        row(
            "UpdateRotationPolicy",
            |f| {
                vec![
                    ("KeyId", f.key.clone()),
                    ("EnableAutomaticRotation", "true".into()),
                    ("RotationInterval", "30d".into()),
                ]
            },
            mutable,
        ),
        row(
            "CreateAlias",
            |f| {
                vec![
                    ("KeyId", f.key.clone()),
                    ("AliasName", f.fresh_alias.clone()),
                ]
            },
            [OK, OK, SMF, OK],
        ),
        row(
            "UpdateAlias",
            |f| {
                vec![
                    ("KeyId", f.key.clone()),
                    ("AliasName", f.other_alias.clone()),
                ]
            },
            mutable,
        ),
        row("DeleteAlias", |f| vec![("AliasName", f.alias.clone())], any),
        row("ListAliases", |_| vec![], any),
        row("ListAliasesByKeyId", key, any),
        row(
            "Encrypt",
            |f| vec![("KeyId", f.key.clone()), ("Plaintext", "hi".into())],
            crypto,
        ),
        row(
            "Encrypt",
            |f| {
                vec![
                    ("KeyId", f.key.clone()),
                    ("Plaintext", "hi".into()),
                    ("DryRun", "true".into()),
                ]
            },
            crypto_dry,
        ),
        row(
            "Decrypt",
            |f| vec![("CiphertextBlob", f.blob.clone())],
            crypto,
        ),
        row(
            "Decrypt",
            |f| {
                vec![
                    ("CiphertextBlob", f.blob.clone()),
                    ("DryRun", "true".into()),
                ]
            },
            crypto_dry,
        ),
        row("GenerateDataKey", key, crypto),
        row(
            "GenerateDataKey",
            |f| vec![("KeyId", f.key.clone()), ("DryRun", "True".into())],
            crypto_dry,
        ),
        row("GenerateDataKeyWithoutPlaintext", key, crypto),
        row(
            "GenerateDataKeyWithoutPlaintext",
            |f| vec![("KeyId", f.key.clone()), ("DryRun", "true".into())],
            crypto_dry,
        ),
        row(
            "ReEncrypt",
            |f| {
                vec![
                    ("CiphertextBlob", f.blob.clone()),
                    ("DestinationKeyId", f.other.clone()),
                ]
            },
            crypto,
        ),
        row(
            "ReEncrypt",
            |f| {
                vec![
                    ("CiphertextBlob", f.other_blob.clone()),
                    ("DestinationKeyId", f.key.clone()),
                ]
            },
            crypto,
        ),
        row(
            "ReEncrypt",
            |f| {
                vec![
                    ("CiphertextBlob", f.blob.clone()),
                    ("DestinationKeyId", f.other.clone()),
                    ("DryRun", "true".into()),
                ]
            },
            crypto_dry,
        ),
        row("CreateKeyVersion", key, crypto),
        row("ListKeyVersions", key, any),
        row(
            "DescribeKeyVersion",
            |f| {
                vec![
                    ("KeyId", f.key.clone()),
                    ("KeyVersionId", f.version.clone()),
                ]
            },
            any,
        ),
        row(
            "TagResource",
            |f| {
                vec![
                    ("KeyId", f.key.clone()),
                    ("Tags", r#"[{"TagKey":"k","TagValue":"v"}]"#.into()),
                ]
            },
            mutable,
        ),
        row(
            "UntagResource",
            |f| vec![("KeyId", f.key.clone()), ("TagKeys", r#"["env"]"#.into())],
            mutable,
        ),
        row("ListResourceTags", key, any),
        row("GetKeyPolicy", key, any),
        row(
            "SetKeyPolicy",
            |f| {
                vec![
                    ("KeyId", f.key.clone()),
                    (
                        "Policy",
                        r#"{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"RAM":"*"},"Action":"kms:*","Resource":"*"}]}"#.into(),
                    ),
                ]
            },
            any,
        ),
        row(
            "TagResources",
            |f| {
                vec![
                    ("ResourceType", "key".into()),
                    ("ResourceId.1", f.key.clone()),
                    ("Tag.1.Key", "k".into()),
                    ("Tag.1.Value", "v".into()),
                ]
            },
            mutable,
        ),
        row(
            "UntagResources",
            |f| {
                vec![
                    ("ResourceType", "key".into()),
                    ("ResourceId.1", f.key.clone()),
                    ("TagKey.1", "env".into()),
                ]
            },
            mutable,
        ),
        row(
            "ListTagResources",
            |f| {
                vec![
                    ("ResourceType", "key".into()),
                    ("ResourceId.1", f.key.clone()),
                ]
            },
            any,
        ),
    ]
}

/// A fresh key in `state`, and its surroundings.
async fn fixture(node: &Node, n: usize, state: KeyState) -> Fixture {
    let key = node.create_key().await;
    let other = node.create_key().await;
    let blob = node.encrypt(&key, "secret").await;
    let other_blob = node.encrypt(&other, "secret").await;
    let meta = node.describe(&key).await;
    let (alias, other_alias) = (format!("alias/k{n}"), format!("alias/o{n}"));
    node.ok("CreateAlias", &[("KeyId", &key), ("AliasName", &alias)])
        .await;
    node.ok(
        "CreateAlias",
        &[("KeyId", &other), ("AliasName", &other_alias)],
    )
    .await;
    let tags = r#"[{"TagKey":"env","TagValue":"prod"}]"#;
    node.ok("TagResource", &[("KeyId", &key), ("Tags", tags)])
        .await;
    put_in_state(node, &key, state).await;
    Fixture {
        arn: text(&meta["Arn"]),
        version: text(&meta["PrimaryKeyVersion"]),
        key,
        other,
        blob,
        other_blob,
        alias,
        other_alias,
        fresh_alias: format!("alias/f{n}"),
    }
}

async fn put_in_state(node: &Node, key: &str, state: KeyState) {
    match state {
        KeyState::Enabled => {}
        KeyState::Disabled => {
            node.ok("DisableKey", &[("KeyId", key)]).await;
        }
        KeyState::PendingDeletion => {
            node.ok(
                "ScheduleKeyDeletion",
                &[("KeyId", key), ("PendingWindowInDays", "7")],
            )
            .await;
        }
        KeyState::PendingImport => {
            // No action creates such keys yet (imported material); write the state directly.
            let mut record = node.kms.store.get_key(key).await.unwrap().unwrap();
            record.state = state;
            node.kms.store.update_key(&record).await.unwrap();
            node.kms.invalidate_key(key);
        }
    }
    assert_eq!(text(&node.describe(key).await["KeyState"]), state.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_action_in_every_state() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(dir.path(), START).await;
    let mut failures = Vec::new();
    let mut cases = 0;
    for (r, row) in matrix().iter().enumerate() {
        for (s, (state, expected)) in STATES.iter().zip(row.expect).enumerate() {
            let f = fixture(&node, r * STATES.len() + s, *state).await;
            let params = (row.params)(&f);
            let borrowed: Vec<(&str, &str)> =
                params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let got = match node.call(row.action, &borrowed).await {
                Ok(_) => OK.to_owned(),
                Err(code) => code,
            };
            cases += 1;
            if got != expected {
                failures.push(format!(
                    "{} in {state}: expected {expected}, got {got}",
                    row.action
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("state matrix: {cases} cases");
}

/// Every action that touches a key is in the matrix (CreateKey and DescribeRegions name none).
#[test]
fn matrix_covers_every_key_action() {
    let covered: HashSet<&str> = matrix().iter().map(|r| r.action).collect();
    let missing: Vec<&str> = ACTIONS
        .iter()
        .map(|a| a.name)
        .filter(|a| !covered.contains(*a) && !["CreateKey", "DescribeRegions"].contains(a))
        .collect();
    assert!(
        missing.is_empty(),
        "actions missing from the matrix: {missing:?}"
    );
}
