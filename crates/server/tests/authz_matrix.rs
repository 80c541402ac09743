//! The permission matrix: every KMS and RAM action, with a policy that allows exactly it
//! (allowed), with no policy, with a policy allowing everything else (`NotAction`), and with an
//! explicit Deny next to an Allow of everything (each denied: `Forbidden.NoPermission`, and
//! nothing observable through the API changed).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod authz_support;
mod common;

use authz_support::{World, allow, deny};
use common::text;
use keywarden_server::ops;
use keywarden_server::ram;
use serde_json::json;

/// The four principals of one action: `allowed`, `nothing`, `others`, `denied`.
async fn principals(w: &World, product: &str, action: &str, n: usize) -> [String; 4] {
    let full = format!("{product}:{action}");
    let names = ["allowed", "nothing", "others", "denied"].map(|p| format!("{p}-{n}"));
    w.user(&names[0], Some(&allow(&[&full], &["*"]))).await;
    w.user(&names[1], None).await;
    let not_action = json!({"Version": "1", "Statement": [
        {"Effect": "Allow", "NotAction": full, "Resource": "*"}
    ]})
    .to_string();
    w.user(&names[2], Some(&not_action)).await;
    w.user(&names[3], Some(&allow(&["*"], &["*"]))).await;
    w.grant(
        &names[3],
        &format!("{}-deny", names[3]),
        &deny(&[&full], &["*"]),
    )
    .await;
    names
}

/// Parameters that make `action` succeed, creating what it needs as the admin.
async fn kms_fixture(w: &World, action: &str, n: usize) -> Vec<(String, String)> {
    let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let alias = format!("alias/matrix-{n}");
    match action {
        "CreateKey" | "ListKeys" | "ListAliases" | "DescribeRegions" => vec![],
        "DescribeKey"
        | "DisableKey"
        | "ListAliasesByKeyId"
        | "CreateKeyVersion"
        | "ListKeyVersions"
        | "ListResourceTags"
        | "GetKeyPolicy"
        | "GenerateDataKey"
        | "GenerateDataKeyWithoutPlaintext" => p(&[("KeyId", &w.key().await)]),
        "EnableKey" => {
            let k = w.key().await;
            w.kms_ok("DisableKey", &[("KeyId", &k)]).await;
            p(&[("KeyId", &k)])
        }
        "ScheduleKeyDeletion" => p(&[("KeyId", &w.key().await), ("PendingWindowInDays", "7")]),
        "CancelKeyDeletion" => {
            let k = w.key().await;
            w.kms_ok(
                "ScheduleKeyDeletion",
                &[("KeyId", &k), ("PendingWindowInDays", "7")],
            )
            .await;
            p(&[("KeyId", &k)])
        }
        "UpdateKeyDescription" => p(&[("KeyId", &w.key().await), ("Description", "new")]),
        "SetDeletionProtection" => {
            let k = w.key().await;
            let arn = text(&w.kms_ok("DescribeKey", &[("KeyId", &k)]).await["KeyMetadata"]["Arn"]);
            p(&[
                ("ProtectedResourceArn", &arn),
                ("EnableDeletionProtection", "true"),
            ])
        }
        "CreateAlias" => p(&[("AliasName", &alias), ("KeyId", &w.key().await)]),
        "UpdateAlias" | "DeleteAlias" => {
            w.kms_ok(
                "CreateAlias",
                &[("AliasName", &alias), ("KeyId", &w.key().await)],
            )
            .await;
            if action == "UpdateAlias" {
                p(&[("AliasName", &alias), ("KeyId", &w.key().await)])
            } else {
                p(&[("AliasName", &alias)])
            }
        }
        "Encrypt" => p(&[("KeyId", &w.key().await), ("Plaintext", "hello")]),
        "Decrypt" | "ReEncrypt" => {
            let k = w.key().await;
            let blob = text(
                &w.kms_ok("Encrypt", &[("KeyId", &k), ("Plaintext", "hello")])
                    .await["CiphertextBlob"],
            );
            if action == "Decrypt" {
                p(&[("CiphertextBlob", &blob)])
            } else {
                p(&[
                    ("CiphertextBlob", &blob),
                    ("DestinationKeyId", &w.key().await),
                ])
            }
        }
        "DescribeKeyVersion" => {
            let k = w.key().await;
            let v = text(
                &w.kms_ok("DescribeKey", &[("KeyId", &k)]).await["KeyMetadata"]["PrimaryKeyVersion"],
            );
            p(&[("KeyId", &k), ("KeyVersionId", &v)])
        }
        "UpdateRotationPolicy" => p(&[
            ("KeyId", &w.key().await),
            ("EnableAutomaticRotation", "true"),
            ("RotationInterval", "30d"),
        ]),
        "TagResource" => p(&[
            ("KeyId", &w.key().await),
            ("Tags", r#"[{"TagKey":"env","TagValue":"prod"}]"#),
        ]),
        "UntagResource" => {
            let k = w.key().await;
            w.kms_ok(
                "TagResource",
                &[
                    ("KeyId", &k),
                    ("Tags", r#"[{"TagKey":"env","TagValue":"prod"}]"#),
                ],
            )
            .await;
            p(&[("KeyId", &k), ("TagKeys", r#"["env"]"#)])
        }
        "TagResources" => p(&[
            ("ResourceType", "key"),
            ("ResourceId.1", &w.key().await),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "prod"),
        ]),
        "UntagResources" => {
            let k = w.key().await;
            w.kms_ok(
                "TagResource",
                &[
                    ("KeyId", &k),
                    ("Tags", r#"[{"TagKey":"env","TagValue":"prod"}]"#),
                ],
            )
            .await;
            p(&[
                ("ResourceType", "key"),
                ("ResourceId.1", &k),
                ("TagKey.1", "env"),
            ])
        }
        "ListTagResources" => p(&[("ResourceType", "key"), ("ResourceId.1", &w.key().await)]),
        "SetKeyPolicy" => p(&[
            ("KeyId", &w.key().await),
            (
                "Policy",
                r#"{"Version":"1","Statement":[{"Sid":"matrix","Effect":"Allow","Principal":{"RAM":["acs:ram::1234567890:*"]},"Action":["kms:*"],"Resource":["*"]}]}"#,
            ),
        ]),
        other => panic!("no matrix fixture for KMS action {other}: add one"),
    }
}

/// Parameters that make RAM `action` succeed, creating what it needs as the admin.
async fn ram_fixture(w: &World, action: &str, n: usize) -> Vec<(String, String)> {
    let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let user = format!("target-{n}");
    let policy = format!("target-policy-{n}");
    let doc = allow(&["kms:Describe*"], &["*"]);
    let new_user = || async { w.ram_ok("CreateUser", &[("UserName", &user)]).await };
    let new_policy = || async {
        w.ram_ok(
            "CreatePolicy",
            &[("PolicyName", &policy), ("PolicyDocument", &doc)],
        )
        .await
    };
    match action {
        "CreateUser" => p(&[("UserName", &user)]),
        "ListUsers" | "ListPolicies" => vec![],
        "GetUser" | "DeleteUser" | "ListPoliciesForUser" | "CreateAccessKey" | "ListAccessKeys" => {
            new_user().await;
            p(&[("UserName", &user)])
        }
        "UpdateUser" => {
            new_user().await;
            p(&[("UserName", &user), ("NewDisplayName", "Renamed")])
        }
        "UpdateAccessKey" | "DeleteAccessKey" => {
            new_user().await;
            let created = w.ram_ok("CreateAccessKey", &[("UserName", &user)]).await;
            let id = text(&created["AccessKey"]["AccessKeyId"]);
            let mut params = p(&[("UserName", &user), ("UserAccessKeyId", &id)]);
            if action == "UpdateAccessKey" {
                params.push(("Status".into(), "Inactive".into()));
            }
            params
        }
        "CreatePolicy" => p(&[("PolicyName", &policy), ("PolicyDocument", &doc)]),
        "GetPolicy" | "ListPolicyVersions" => {
            new_policy().await;
            p(&[("PolicyName", &policy), ("PolicyType", "Custom")])
        }
        "GetPolicyVersion" => {
            new_policy().await;
            p(&[
                ("PolicyName", &policy),
                ("PolicyType", "Custom"),
                ("VersionId", "v1"),
            ])
        }
        "DeletePolicy" => {
            new_policy().await;
            p(&[("PolicyName", &policy)])
        }
        "CreatePolicyVersion" => {
            new_policy().await;
            p(&[
                ("PolicyName", &policy),
                ("PolicyDocument", &doc),
                ("SetAsDefault", "true"),
            ])
        }
        "DeletePolicyVersion" | "SetDefaultPolicyVersion" => {
            new_policy().await;
            w.ram_ok(
                "CreatePolicyVersion",
                &[("PolicyName", &policy), ("PolicyDocument", &doc)],
            )
            .await;
            p(&[("PolicyName", &policy), ("VersionId", "v2")])
        }
        "AttachPolicyToUser" | "DetachPolicyFromUser" => {
            new_user().await;
            new_policy().await;
            let params = p(&[
                ("UserName", &user),
                ("PolicyType", "Custom"),
                ("PolicyName", &policy),
            ]);
            if action == "DetachPolicyFromUser" {
                w.attach(&user, "Custom", &policy).await;
            }
            params
        }
        other => panic!("no matrix fixture for RAM action {other}: add one"),
    }
}

fn as_refs(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kms_action_is_authorized() {
    let dir = tempfile::tempdir().unwrap();
    let w = World::new(dir.path()).await;
    for (n, action) in ops::ACTIONS.iter().map(|a| a.name).enumerate() {
        let [allowed, nothing, others, denied] = principals(&w, "kms", action, n).await;
        let params = kms_fixture(&w, action, n).await;
        let params = as_refs(&params);
        let before = w.kms_state().await;
        for user in [&nothing, &others, &denied] {
            assert_eq!(
                w.kms(user, action, &params).await.err().as_deref(),
                Some("Forbidden.NoPermission"),
                "{action} as {user}"
            );
            assert_eq!(
                w.kms_state().await,
                before,
                "{action} as {user} changed something"
            );
        }
        w.kms(&allowed, action, &params)
            .await
            .unwrap_or_else(|code| panic!("{action} as {allowed}: {code}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ram_action_is_authorized() {
    let dir = tempfile::tempdir().unwrap();
    let w = World::new(dir.path()).await;
    for (n, action) in ram::ACTIONS.iter().map(|a| a.name).enumerate() {
        let [allowed, nothing, others, denied] = principals(&w, "ram", action, n).await;
        let params = ram_fixture(&w, action, n).await;
        let params = as_refs(&params);
        let before = w.ram_state().await;
        for user in [&nothing, &others, &denied] {
            assert_eq!(
                w.ram(user, action, &params).await.err().as_deref(),
                Some("Forbidden.NoPermission"),
                "{action} as {user}"
            );
            assert_eq!(
                w.ram_state().await,
                before,
                "{action} as {user} changed something"
            );
        }
        w.ram(&allowed, action, &params)
            .await
            .unwrap_or_else(|code| panic!("{action} as {allowed}: {code}"));
    }
}

/// A permission scoped to one key allows the actions on that key and on nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_permissions_scoped_to_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let w = World::new(dir.path()).await;
    let mine = w.key().await;
    let other = w.key().await;
    let arn = format!("acs:kms:*:*:key/{mine}");
    w.user("scoped", Some(&allow(&["kms:*"], &[&arn]))).await;
    for action in [
        "DescribeKey",
        "ListKeyVersions",
        "ListResourceTags",
        "ListAliasesByKeyId",
    ] {
        assert!(
            w.kms("scoped", action, &[("KeyId", &mine)]).await.is_ok(),
            "{action}"
        );
        assert_eq!(
            w.kms("scoped", action, &[("KeyId", &other)])
                .await
                .err()
                .as_deref(),
            Some("Forbidden.NoPermission"),
            "{action}"
        );
    }
    for action in ["CreateKey", "ListKeys", "ListAliases", "DescribeRegions"] {
        assert_eq!(
            w.kms("scoped", action, &[]).await.err().as_deref(),
            Some("Forbidden.NoPermission"),
            "{action} needs the collection"
        );
    }
}
