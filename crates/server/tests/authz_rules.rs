//! Authorization rules end to end (through `route::run`, as the HTTP layer runs them): explicit
//! Deny wins, alias resolution, Decrypt and ReEncrypt resources, conditions (encryption context,
//! source IP, secure transport), DryRun, and changes that apply on the very next call.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod authz_support;
mod common;

use authz_support::{ADMIN, LOCAL, World, allow, deny};
use common::text;
use keywarden_server::ops::KMS_VERSION;
use serde_json::json;

const DENIED: Option<&str> = Some("Forbidden.NoPermission");

async fn world() -> (tempfile::TempDir, World) {
    let dir = tempfile::tempdir().unwrap();
    let w = World::new(dir.path()).await;
    (dir, w)
}

/// Encrypt as `user`: the blob, or the error code.
async fn encrypt(w: &World, user: &str, key: &str) -> Result<String, String> {
    w.kms(user, "Encrypt", &[("KeyId", key), ("Plaintext", "p")])
        .await
        .map(|b| text(&b["CiphertextBlob"]))
}

fn key_arn(id: &str) -> String {
    format!("acs:kms:*:*:key/{id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_deny_wins_over_any_allow() {
    let (_d, w) = world().await;
    let (x, y) = (w.key().await, w.key().await);
    w.user("alice", None).await;
    w.attach("alice", "System", "AliyunKMSFullAccess").await;
    w.grant("alice", "no-x", &deny(&["kms:Encrypt"], &[&key_arn(&x)]))
        .await;
    assert_eq!(encrypt(&w, "alice", &x).await.err().as_deref(), DENIED);
    assert!(encrypt(&w, "alice", &y).await.is_ok());
    assert_eq!(
        w.kms_code("alice", "DescribeKey", &[("KeyId", &x)]).await,
        None
    );
    // A Deny of everything beats AdministratorAccess too.
    w.attach("alice", "System", "AdministratorAccess").await;
    w.grant("alice", "no-kms", &deny(&["kms:*"], &["*"])).await;
    let code = w.kms_code("alice", "DescribeKey", &[("KeyId", &y)]).await;
    assert_eq!(code.as_deref(), DENIED);
    assert_eq!(
        w.ram_code("alice", "ListUsers", &[]).await,
        None,
        "RAM is not denied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_are_authorized_as_their_keys() {
    let (_d, w) = world().await;
    let (x, y) = (w.key().await, w.key().await);
    w.kms_ok("CreateAlias", &[("AliasName", "alias/app"), ("KeyId", &x)])
        .await;
    w.kms_ok(
        "CreateAlias",
        &[("AliasName", "alias/other"), ("KeyId", &y)],
    )
    .await;
    let by_key = allow(&["kms:Encrypt", "kms:DescribeKey"], &[&key_arn(&x)]);
    w.user("by-key", Some(&by_key)).await;
    let by_alias = allow(&["kms:Encrypt"], &["acs:kms:*:*:alias/app"]);
    w.user("by-alias", Some(&by_alias)).await;

    assert!(
        encrypt(&w, "by-key", "alias/app").await.is_ok(),
        "alias of the allowed key"
    );
    let alias_arn = "acs:kms:test-region:1234567890:alias/app";
    assert!(encrypt(&w, "by-key", alias_arn).await.is_ok(), "alias ARN");
    let other = encrypt(&w, "by-key", "alias/other").await;
    assert_eq!(other.err().as_deref(), DENIED);
    assert_eq!(
        encrypt(&w, "by-alias", "alias/app").await.err().as_deref(),
        DENIED,
        "a permission on the alias alone does not authorize use of its key"
    );
    // Repointing the alias moves the permission with it, at once.
    w.kms_ok("UpdateAlias", &[("AliasName", "alias/app"), ("KeyId", &y)])
        .await;
    let moved = encrypt(&w, "by-key", "alias/app").await;
    assert_eq!(moved.err().as_deref(), DENIED);

    // Unknown names: a caller without permission learns nothing; one with it gets the truth.
    let absent = "00000000-0000-4000-8000-000000000000";
    for r in [absent, "alias/absent"] {
        let code = w.kms_code("by-key", "DescribeKey", &[("KeyId", r)]).await;
        assert_eq!(code.as_deref(), DENIED, "{r}");
    }
    let code = w.kms_code(ADMIN, "DescribeKey", &[("KeyId", absent)]).await;
    assert_eq!(code.as_deref(), Some("Forbidden.KeyNotFound"));
    let code = w
        .kms_code(ADMIN, "DescribeKey", &[("KeyId", "alias/absent")])
        .await;
    assert_eq!(code.as_deref(), Some("Forbidden.AliasNotFound"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alias_management_needs_the_alias_and_the_keys() {
    let (_d, w) = world().await;
    let (x, y) = (w.key().await, w.key().await);
    let actions = ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"];
    let doc = allow(&actions, &["acs:kms:*:*:alias/team-*", &key_arn(&x)]);
    w.user("ops", Some(&doc)).await;
    for (alias, k, expected) in [
        ("alias/team-a", &x, None),
        ("alias/other", &x, DENIED),
        ("alias/team-b", &y, DENIED),
    ] {
        let p = [("AliasName", alias), ("KeyId", k.as_str())];
        let code = w.kms_code("ops", "CreateAlias", &p).await;
        assert_eq!(code.as_deref(), expected, "{alias} -> {k}");
    }
    // Repointing to a key the caller has no permission on is refused.
    let update = [("AliasName", "alias/team-a"), ("KeyId", y.as_str())];
    let refused = w.kms_code("ops", "UpdateAlias", &update).await;
    assert_eq!(refused.as_deref(), DENIED);
    // Deleting an alias needs its current key too.
    w.kms_ok(
        "CreateAlias",
        &[("AliasName", "alias/team-y"), ("KeyId", &y)],
    )
    .await;
    let refused = w
        .kms_code("ops", "DeleteAlias", &[("AliasName", "alias/team-y")])
        .await;
    assert_eq!(refused.as_deref(), DENIED);
    let deleted = w
        .kms_code("ops", "DeleteAlias", &[("AliasName", "alias/team-a")])
        .await;
    assert_eq!(deleted, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decrypt_and_reencrypt_are_authorized_on_the_blob_key() {
    let (_d, w) = world().await;
    let (x, y) = (w.key().await, w.key().await);
    let blob_x = encrypt(&w, ADMIN, &x).await.unwrap();
    let blob_y = encrypt(&w, ADMIN, &y).await.unwrap();
    let doc = allow(&["kms:Decrypt", "kms:ReEncrypt"], &[&key_arn(&x)]);
    w.user("dx", Some(&doc)).await;
    let ok = w.kms("dx", "Decrypt", &[("CiphertextBlob", &blob_x)]).await;
    assert_eq!(text(&ok.unwrap()["Plaintext"]), "p");
    let code = w
        .kms_code("dx", "Decrypt", &[("CiphertextBlob", &blob_y)])
        .await;
    assert_eq!(code.as_deref(), DENIED);
    // A blob that names no key here needs a permission on every key.
    let junk = [("CiphertextBlob", "bm90IGEgYmxvYg==")];
    assert_eq!(w.kms_code("dx", "Decrypt", &junk).await.as_deref(), DENIED);
    let code = w.kms_code(ADMIN, "Decrypt", &junk).await;
    assert_eq!(code.as_deref(), Some("InvalidParameter"));

    for (blob, dest, expected) in [
        (&blob_x, &x, None),
        (&blob_x, &y, DENIED),
        (&blob_y, &x, DENIED),
    ] {
        let p = [
            ("CiphertextBlob", blob.as_str()),
            ("DestinationKeyId", dest.as_str()),
        ];
        let code = w.kms_code("dx", "ReEncrypt", &p).await;
        assert_eq!(
            code.as_deref(),
            expected,
            "source and destination both need it"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encryption_context_conditions() {
    let (_d, w) = world().await;
    let k = w.key().await;
    let doc = json!({"Version": "1", "Statement": [{
        "Effect": "Allow",
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionContext.tenant": "acme"}}
    }]})
    .to_string();
    w.user("tenant", Some(&doc)).await;
    let acme = [
        ("KeyId", k.as_str()),
        ("Plaintext", "p"),
        ("EncryptionContext", r#"{"tenant":"acme","x":"1"}"#),
    ];
    let blob = text(&w.kms("tenant", "Encrypt", &acme).await.unwrap()["CiphertextBlob"]);
    let evil = [
        ("KeyId", k.as_str()),
        ("Plaintext", "p"),
        ("EncryptionContext", r#"{"tenant":"evil"}"#),
    ];
    assert_eq!(
        w.kms_code("tenant", "Encrypt", &evil).await.as_deref(),
        DENIED
    );
    let none = [("KeyId", k.as_str()), ("Plaintext", "p")];
    assert_eq!(
        w.kms_code("tenant", "Encrypt", &none).await.as_deref(),
        DENIED
    );
    let dec = [
        ("CiphertextBlob", blob.as_str()),
        ("EncryptionContext", r#"{"x":"1","tenant":"acme"}"#),
    ];
    assert_eq!(w.kms_code("tenant", "Decrypt", &dec).await, None);
    let case = [
        ("KeyId", k.as_str()),
        ("EncryptionContext", r#"{"tenant":"Acme"}"#),
    ];
    let code = w.kms_code("tenant", "GenerateDataKey", &case).await;
    assert_eq!(code.as_deref(), DENIED, "values are case-sensitive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_ip_and_secure_transport_conditions() {
    let (_d, w) = world().await;
    let k = w.key().await;
    let doc = json!({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*",
         "Condition": {"IpAddress": {"acs:SourceIp": ["127.0.0.0/8", "10.0.0.0/8"]}}},
        {"Effect": "Deny", "Action": "kms:*", "Resource": "*",
         "Condition": {"IpAddress": {"acs:SourceIp": "10.9.0.0/16"}}},
        {"Effect": "Allow", "Action": "kms:ListKeys", "Resource": "*",
         "Condition": {"Bool": {"acs:SecureTransport": "true"}}}
    ]})
    .to_string();
    w.user("net", Some(&doc)).await;
    for (peer, expected) in [
        ("127.0.0.1:1", None),
        ("10.1.2.3:1", None),
        ("[::ffff:10.1.2.3]:1", None),
        ("192.168.1.1:1", DENIED),
        ("10.9.8.7:1", DENIED),
        ("[2001:db8::1]:1", DENIED),
    ] {
        let got = w
            .call_from("net", peer, KMS_VERSION, "DescribeKey", &[("KeyId", &k)])
            .await
            .err();
        assert_eq!(got.as_deref(), expected, "from {peer}");
    }
    let code = w.kms_code("net", "ListKeys", &[]).await;
    assert_eq!(code.as_deref(), DENIED, "plain HTTP");
    w.node.kms.authz.set_secure_transport(true);
    assert_eq!(w.kms_code("net", "ListKeys", &[]).await, None, "over TLS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_is_authorized_first() {
    let (_d, w) = world().await;
    let k = w.key().await;
    w.user("nobody", None).await;
    w.user("enc", Some(&allow(&["kms:Encrypt"], &["*"]))).await;
    let p = [
        ("KeyId", k.as_str()),
        ("Plaintext", "p"),
        ("DryRun", "true"),
    ];
    assert_eq!(w.kms_code("nobody", "Encrypt", &p).await.as_deref(), DENIED);
    let code = w.kms_code("enc", "Encrypt", &p).await;
    assert_eq!(code.as_deref(), Some("DryRunOperationError"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_apply_on_the_next_call() {
    let (_d, w) = world().await;
    let k = w.key().await;
    let describe = [("KeyId", k.as_str())];
    w.user("bob", None).await;
    assert_eq!(
        w.kms_code("bob", "DescribeKey", &describe).await.as_deref(),
        DENIED
    );
    w.attach("bob", "System", "AliyunKMSReadOnlyAccess").await;
    let code = w.kms_code("bob", "DescribeKey", &describe).await;
    assert_eq!(code, None, "attach applies at once");
    let detach = [
        ("UserName", "bob"),
        ("PolicyType", "System"),
        ("PolicyName", "AliyunKMSReadOnlyAccess"),
    ];
    w.ram_ok("DetachPolicyFromUser", &detach).await;
    let code = w.kms_code("bob", "DescribeKey", &describe).await;
    assert_eq!(code.as_deref(), DENIED, "detach applies at once");

    w.grant("bob", "flip", &allow(&["kms:DescribeKey"], &["*"]))
        .await;
    assert_eq!(w.kms_code("bob", "DescribeKey", &describe).await, None);
    let list_only = allow(&["kms:ListKeys"], &["*"]);
    let v2 = [
        ("PolicyName", "flip"),
        ("PolicyDocument", list_only.as_str()),
    ];
    w.ram_ok("CreatePolicyVersion", &v2).await;
    let code = w.kms_code("bob", "DescribeKey", &describe).await;
    assert_eq!(code, None, "a non-default version changes nothing");
    w.ram_ok(
        "SetDefaultPolicyVersion",
        &[("PolicyName", "flip"), ("VersionId", "v2")],
    )
    .await;
    let code = w.kms_code("bob", "DescribeKey", &describe).await;
    assert_eq!(code.as_deref(), DENIED, "a new default applies at once");
    w.ram_ok(
        "SetDefaultPolicyVersion",
        &[("PolicyName", "flip"), ("VersionId", "v1")],
    )
    .await;
    assert_eq!(w.kms_code("bob", "DescribeKey", &describe).await, None);
    w.ram_ok(
        "DeletePolicy",
        &[("PolicyName", "flip"), ("CascadingDelete", "true")],
    )
    .await;
    let code = w.kms_code("bob", "DescribeKey", &describe).await;
    assert_eq!(code.as_deref(), DENIED, "a deleted policy applies at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_key_changes_reach_the_credential_cache() {
    let (_d, w) = world().await;
    w.user("carol", None).await;
    let created = w.ram_ok("CreateAccessKey", &[("UserName", "carol")]).await;
    let id = text(&created["AccessKey"]["AccessKeyId"]);
    let secret = text(&created["AccessKey"]["AccessKeySecret"]);
    let kms = &w.node.kms;
    let cred = kms.credential(&id).await.unwrap();
    assert_eq!(cred.secret.expose_secret(), secret);
    assert_eq!(
        cred.record.status,
        keywarden_core::model::AccessKeyStatus::Active
    );
    assert_eq!(cred.record.user_name, "carol");
    let update = [
        ("UserName", "carol"),
        ("UserAccessKeyId", id.as_str()),
        ("Status", "Inactive"),
    ];
    w.ram_ok("UpdateAccessKey", &update).await;
    let status = kms.credential(&id).await.unwrap().record.status;
    assert_eq!(
        status,
        keywarden_core::model::AccessKeyStatus::Inactive,
        "at once"
    );
    w.ram_ok(
        "UpdateUser",
        &[("UserName", "carol"), ("NewUserName", "caroline")],
    )
    .await;
    let owner = kms.credential(&id).await.unwrap().record.user_name.clone();
    assert_eq!(owner, "caroline", "a rename reaches the credential at once");
    w.ram_ok(
        "DeleteAccessKey",
        &[("UserName", "caroline"), ("UserAccessKeyId", &id)],
    )
    .await;
    let gone = kms.credential(&id).await.err().map(|e| e.code());
    assert_eq!(gone, Some("InvalidAccessKeyId.NotFound"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crypto_user_system_policy() {
    let (_d, w) = world().await;
    let k = w.key().await;
    w.user("app", None).await;
    w.attach("app", "System", "AliyunKMSCryptoUserAccess").await;
    let gdk = w
        .kms("app", "GenerateDataKey", &[("KeyId", &k)])
        .await
        .unwrap();
    let blob = text(&gdk["CiphertextBlob"]);
    let dec = w.kms("app", "Decrypt", &[("CiphertextBlob", &blob)]).await;
    assert_eq!(text(&dec.unwrap()["Plaintext"]), text(&gdk["Plaintext"]));
    assert_eq!(w.kms_code("app", "CreateKey", &[]).await.as_deref(), DENIED);
    let sched = [("KeyId", k.as_str()), ("PendingWindowInDays", "7")];
    let code = w.kms_code("app", "ScheduleKeyDeletion", &sched).await;
    assert_eq!(code.as_deref(), DENIED);
    assert_eq!(w.ram_code("app", "ListUsers", &[]).await.as_deref(), DENIED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_and_actions_route_by_product() {
    let (_d, w) = world().await;
    for (version, action, expected) in [
        ("2016-01-20", "ListKeys", None),
        ("2015-05-01", "ListUsers", None),
        ("2015-05-01", "ListKeys", Some("InvalidAction.NotFound")),
        ("2016-01-20", "ListUsers", Some("InvalidAction.NotFound")),
        ("2099-01-01", "ListKeys", Some("InvalidVersion")),
    ] {
        let got = w.call_from(ADMIN, LOCAL, version, action, &[]).await.err();
        assert_eq!(got.as_deref(), expected, "{version} {action}");
    }
}
