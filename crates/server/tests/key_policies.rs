//! Key policies end to end (through the action pipeline, as the HTTP layer runs it):
//! `CreateKey Policy`, `GetKeyPolicy`, `SetKeyPolicy`; a Deny in the key policy wins over any
//! RAM Allow, an Allow naming a user grants without RAM, the default policy leaves RAM to
//! decide, the lock-out check; lists leave out what the caller is explicitly denied; control
//! characters in stored free text are refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod authz_support;
mod common;

use authz_support::{ADMIN, World, allow, deny};
use common::text;
use serde_json::{Value, json};

const DENIED: Option<&str> = Some("Forbidden.NoPermission");
const INVALID: Option<&str> = Some("InvalidParameter");
const ACCOUNT: &str = "1234567890";

async fn world() -> (tempfile::TempDir, World) {
    let dir = tempfile::tempdir().unwrap();
    let w = World::new(dir.path()).await;
    (dir, w)
}

/// A key policy with one statement.
fn key_policy(effect: &str, principals: &[&str], actions: Value) -> String {
    json!({"Version": "1", "Statement": [{
        "Sid": "s", "Effect": effect, "Principal": {"RAM": principals},
        "Action": actions, "Resource": ["*"]
    }]})
    .to_string()
}

fn user(name: &str) -> String {
    format!("acs:ram::{ACCOUNT}:user/{name}")
}

fn everyone() -> String {
    format!("acs:ram::{ACCOUNT}:*")
}

/// A key created by the admin with `policy`.
async fn key_with(w: &World, policy: &str) -> String {
    let out = w.kms_ok("CreateKey", &[("Policy", policy)]).await;
    text(&out["KeyMetadata"]["KeyId"])
}

async fn encrypt(w: &World, who: &str, key: &str) -> Option<String> {
    w.kms_code(who, "Encrypt", &[("KeyId", key), ("Plaintext", "p")])
        .await
}

/// Everything but managing the policy, denied to the whole account.
fn deny_all_but_policy() -> String {
    json!({"Version": "1", "Statement": [{
        "Effect": "Deny", "Principal": {"RAM": [everyone()]},
        "NotAction": ["kms:SetKeyPolicy", "kms:GetKeyPolicy"], "Resource": "*"
    }]})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_with_a_deny_policy_denies_even_the_admin() {
    let (_d, w) = world().await;
    let k = key_with(&w, &deny_all_but_policy()).await;
    for (action, extra) in [
        ("Encrypt", ("Plaintext", "p")),
        ("DescribeKey", ("Unused", "")),
        ("ScheduleKeyDeletion", ("PendingWindowInDays", "7")),
    ] {
        let code = w.kms_code(ADMIN, action, &[("KeyId", &k), extra]).await;
        assert_eq!(code.as_deref(), DENIED, "{action}");
    }
    // An alias of it cannot be made either (the key ARN is one of CreateAlias's resources).
    let code = w
        .kms_code(
            ADMIN,
            "CreateAlias",
            &[("AliasName", "alias/x"), ("KeyId", &k)],
        )
        .await;
    assert_eq!(code.as_deref(), DENIED);
    // The policy stays manageable: reading it back gives what was set, and replacing it with
    // the default lifts the Deny.
    let got = w.kms_ok("GetKeyPolicy", &[("KeyId", &k)]).await;
    assert_eq!(text(&got["Policy"]), deny_all_but_policy());
    let default = key_policy("Allow", &[&everyone()], json!(["kms:*"]));
    w.kms_ok(
        "SetKeyPolicy",
        &[
            ("KeyId", &k),
            ("Policy", &default),
            ("PolicyName", "default"),
        ],
    )
    .await;
    assert_eq!(encrypt(&w, ADMIN, &k).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_key_policy_applies_at_once_and_get_returns_it() {
    let (_d, w) = world().await;
    let k = w.key().await;
    w.user("alice", None).await;
    w.attach("alice", "System", "AliyunKMSFullAccess").await;
    assert_eq!(encrypt(&w, "alice", &k).await, None);

    // The default policy of a key created without one.
    let got = w.kms_ok("GetKeyPolicy", &[("KeyId", &k)]).await;
    let default: Value = serde_json::from_str(&text(&got["Policy"])).unwrap();
    assert_eq!(
        default["Statement"][0]["Principal"]["RAM"],
        json!([everyone()])
    );
    assert_eq!(default["Statement"][0]["Action"], json!(["kms:*"]));

    let no_alice = key_policy("Deny", &[&user("alice")], json!("kms:*"));
    w.kms_ok("SetKeyPolicy", &[("KeyId", &k), ("Policy", &no_alice)])
        .await;
    let got = w.kms_ok("GetKeyPolicy", &[("KeyId", &k)]).await;
    assert_eq!(text(&got["Policy"]), no_alice, "verbatim");
    assert_eq!(encrypt(&w, "alice", &k).await.as_deref(), DENIED);
    assert_eq!(encrypt(&w, ADMIN, &k).await, None, "only alice is named");
    // Alice may not lift it herself (the key policy denies her SetKeyPolicy too).
    let code = w
        .kms_code(
            "alice",
            "SetKeyPolicy",
            &[("KeyId", &k), ("Policy", &no_alice)],
        )
        .await;
    assert_eq!(code.as_deref(), DENIED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allow_naming_a_user_grants_but_account_wide_defers_to_ram() {
    let (_d, w) = world().await;
    w.user("bob", None).await; // no RAM policy at all
    let named = key_with(
        &w,
        &key_policy("Allow", &[&user("bob")], json!(["kms:Encrypt"])),
    )
    .await;
    let wide = key_with(&w, &key_policy("Allow", &[&everyone()], json!(["kms:*"]))).await;
    assert_eq!(
        encrypt(&w, "bob", &named).await,
        None,
        "named by the key policy"
    );
    let code = w.kms_code("bob", "DescribeKey", &[("KeyId", &named)]).await;
    assert_eq!(code.as_deref(), DENIED, "only the actions it names");
    assert_eq!(
        encrypt(&w, "bob", &wide).await.as_deref(),
        DENIED,
        "RAM decides"
    );
    // A RAM Deny wins over the key policy's Allow.
    w.grant("bob", "no-encrypt", &deny(&["kms:Encrypt"], &["*"]))
        .await;
    assert_eq!(encrypt(&w, "bob", &named).await.as_deref(), DENIED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_that_lock_their_author_out_or_are_malformed_are_refused() {
    let (_d, w) = world().await;
    let deny_everything = key_policy("Deny", &["*"], json!("kms:*"));
    let code = w
        .kms_code(ADMIN, "CreateKey", &[("Policy", &deny_everything)])
        .await;
    assert_eq!(code.as_deref(), INVALID, "lock-out at creation");
    let k = w.key().await;
    let code = w
        .kms_code(
            ADMIN,
            "SetKeyPolicy",
            &[("KeyId", &k), ("Policy", &deny_everything)],
        )
        .await;
    assert_eq!(code.as_deref(), INVALID, "lock-out");
    let big = format!(
        r#"{{"Version":"1","Statement":[{{"Sid":"{}","Effect":"Allow","Principal":{{"RAM":"*"}},"Action":"kms:*","Resource":"*"}}]}}"#,
        "s".repeat(32_768)
    );
    for bad in [
        "not json",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
        r#"{"Version":"2","Statement":[{"Effect":"Allow","Principal":{"RAM":"*"},"Action":"kms:*","Resource":"*"}]}"#,
        r#"{"Version":"1","Statement":[{"Effect":"Maybe","Principal":{"RAM":"*"},"Action":"kms:*","Resource":"*"}]}"#,
        &big,
    ] {
        for (action, params) in [
            ("CreateKey", vec![("Policy", bad)]),
            ("SetKeyPolicy", vec![("KeyId", k.as_str()), ("Policy", bad)]),
        ] {
            let code = w.kms_code(ADMIN, action, &params).await;
            assert_eq!(code.as_deref(), INVALID, "{action} {bad:.60}");
        }
    }
    let ok = key_policy("Allow", &[&everyone()], json!("kms:*"));
    for name in ["other", "Default"] {
        let code = w
            .kms_code(
                ADMIN,
                "SetKeyPolicy",
                &[("KeyId", &k), ("Policy", &ok), ("PolicyName", name)],
            )
            .await;
        assert_eq!(code.as_deref(), INVALID, "PolicyName {name}");
        let code = w
            .kms_code(
                ADMIN,
                "GetKeyPolicy",
                &[("KeyId", &k), ("PolicyName", name)],
            )
            .await;
        assert_eq!(code.as_deref(), INVALID, "PolicyName {name}");
    }
    let code = w.kms_code(ADMIN, "SetKeyPolicy", &[("KeyId", &k)]).await;
    assert_eq!(code.as_deref(), Some("MissingParameter"));
    let code = w
        .kms_code(
            ADMIN,
            "GetKeyPolicy",
            &[("KeyId", "00000000-0000-0000-0000-000000000000")],
        )
        .await;
    assert_eq!(code.as_deref(), Some("Forbidden.KeyNotFound"));
    // None of the refused calls left a key behind.
    let keys = w.kms_ok("ListKeys", &[]).await;
    assert_eq!(keys["TotalCount"], json!(1));
}

/// The ids a list shows as `who`.
async fn listed(
    w: &World,
    who: &str,
    action: &str,
    params: &[(&str, &str)],
    path: &[&str],
    field: &str,
) -> Vec<String> {
    let mut out = w.kms(who, action, params).await.unwrap();
    for p in path {
        out = out[*p].clone();
    }
    out.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|v| text(&v[field]))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_leave_out_what_the_caller_is_denied() {
    let (_d, w) = world().await;
    let (secret, open, policy_hidden) = (w.key().await, w.key().await, w.key().await);
    for (k, alias) in [
        (&secret, "alias/secret"),
        (&open, "alias/open"),
        (&policy_hidden, "alias/ph"),
    ] {
        w.kms_ok("CreateAlias", &[("AliasName", alias), ("KeyId", k)])
            .await;
        w.kms_ok(
            "TagResource",
            &[
                ("KeyId", k),
                ("Tags", r#"[{"TagKey":"env","TagValue":"prod"}]"#),
            ],
        )
        .await;
    }
    w.user("carol", None).await;
    w.attach("carol", "System", "AliyunKMSFullAccess").await;
    w.grant(
        "carol",
        "no-secret",
        &deny(&["kms:*"], &[&format!("acs:kms:*:*:key/{secret}")]),
    )
    .await;
    let no_carol = key_policy("Deny", &[&user("carol")], json!("kms:*"));
    w.kms_ok(
        "SetKeyPolicy",
        &[("KeyId", &policy_hidden), ("Policy", &no_carol)],
    )
    .await;

    let keys = listed(&w, "carol", "ListKeys", &[], &["Keys", "Key"], "KeyId").await;
    assert_eq!(keys, std::slice::from_ref(&open));
    let total = w
        .kms("carol", "ListKeys", &[("PageSize", "1")])
        .await
        .unwrap();
    assert_eq!(
        total["TotalCount"],
        json!(1),
        "totals count visible keys only"
    );
    let aliases = listed(
        &w,
        "carol",
        "ListAliases",
        &[],
        &["Aliases", "Alias"],
        "AliasName",
    )
    .await;
    assert_eq!(aliases, ["alias/open"]);
    let tagged = listed(
        &w,
        "carol",
        "ListTagResources",
        &[("ResourceType", "key")],
        &["TagResources", "TagResource"],
        "ResourceId",
    )
    .await;
    assert_eq!(tagged, std::slice::from_ref(&open));
    // Naming a denied key is refused, as before.
    let code = w
        .kms_code(
            "carol",
            "ListTagResources",
            &[("ResourceType", "key"), ("ResourceId.1", &secret)],
        )
        .await;
    assert_eq!(code.as_deref(), DENIED);
    for (action, k) in [
        ("ListAliasesByKeyId", &secret),
        ("ListKeyVersions", &policy_hidden),
        ("ListResourceTags", &secret),
    ] {
        let code = w.kms_code("carol", action, &[("KeyId", k)]).await;
        assert_eq!(code.as_deref(), DENIED, "{action}");
    }
    // The admin still sees everything.
    let all = listed(&w, ADMIN, "ListKeys", &[], &["Keys", "Key"], "KeyId").await;
    assert_eq!(all.len(), 3);

    // An alias denied by its own ARN is left out of ListAliasesByKeyId too.
    w.kms_ok(
        "CreateAlias",
        &[("AliasName", "alias/open-2"), ("KeyId", &open)],
    )
    .await;
    w.grant(
        "carol",
        "no-alias",
        &deny(&["kms:*"], &["acs:kms:*:*:alias/open-2"]),
    )
    .await;
    let by_key = listed(
        &w,
        "carol",
        "ListAliasesByKeyId",
        &[("KeyId", &open)],
        &["Aliases", "Alias"],
        "AliasName",
    )
    .await;
    assert_eq!(by_key, ["alias/open"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_listing_pages_over_visible_rows_only() {
    let (_d, w) = world().await;
    let mut keys = Vec::new();
    for _ in 0..3 {
        keys.push(w.key().await);
    }
    keys.sort();
    // 150 tags on the first key (hidden), 150 on each of the others: two pages of visible rows.
    for k in &keys {
        for chunk in 0..8 {
            let tags: Vec<Value> = (0..20)
                .map(|i| json!({"TagKey": format!("t{chunk:02}{i:02}"), "TagValue": "v"}))
                .take(if chunk == 7 { 10 } else { 20 })
                .collect();
            w.kms_ok(
                "TagResource",
                &[("KeyId", k), ("Tags", &Value::from(tags).to_string())],
            )
            .await;
        }
    }
    w.user("dave", Some(&allow(&["kms:*"], &["*"]))).await;
    w.grant(
        "dave",
        "no-first",
        &deny(
            &["kms:ListTagResources"],
            &[&format!("acs:kms:*:*:key/{}", keys[0])],
        ),
    )
    .await;
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let mut params = vec![("ResourceType", "key")];
        if !token.is_empty() {
            params.push(("NextToken", token.as_str()));
        }
        let page = w.kms("dave", "ListTagResources", &params).await.unwrap();
        let rows = page["TagResources"]["TagResource"]
            .as_array()
            .unwrap()
            .clone();
        assert!(rows.len() <= 200);
        seen.extend(rows.iter().map(|r| text(&r["ResourceId"])));
        token = text(&page["NextToken"]);
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen.len(), 300);
    assert!(!seen.contains(&keys[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ram_lists_leave_out_denied_users_and_policies() {
    let (_d, w) = world().await;
    w.user("erin", None).await;
    w.user("frank", None).await;
    w.grant(
        "erin",
        "erin-read",
        &allow(&["ram:List*", "ram:Get*"], &["*"]),
    )
    .await;
    w.grant(
        "erin",
        "erin-deny",
        &deny(
            &["ram:ListUsers", "ram:ListPolicies"],
            &["acs:ram:*:*:user/frank", "acs:ram:*:*:policy/erin-read"],
        ),
    )
    .await;
    let users = w.ram("erin", "ListUsers", &[]).await.unwrap();
    let names: Vec<String> = users["Users"]["User"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| text(&u["UserName"]))
        .collect();
    assert!(
        names.contains(&"erin".to_owned()) && !names.contains(&"frank".to_owned()),
        "{names:?}"
    );
    let policies = w
        .ram("erin", "ListPolicies", &[("PolicyType", "Custom")])
        .await
        .unwrap();
    let names: Vec<String> = policies["Policies"]["Policy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| text(&p["PolicyName"]))
        .collect();
    assert_eq!(names, ["erin-deny"]);
    // Paging with MaxItems=1 skips the hidden user without a short page.
    let page = w
        .ram("erin", "ListUsers", &[("MaxItems", "1")])
        .await
        .unwrap();
    assert_eq!(page["Users"]["User"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_stored_text_are_refused() {
    let (_d, w) = world().await;
    let k = w.key().await;
    let tags = |key: &str, value: &str| json!([{"TagKey": key, "TagValue": value}]).to_string();
    for bad in [
        "a\0b",
        "line\r\nbreak",
        "tab\there",
        "\u{1b}[31m",
        "\u{85}",
        "evil\u{202E}txt",
        "\u{2066}x",
        "\u{200F}",
        "\u{061C}",
    ] {
        let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
            ("CreateKey", vec![("Description", bad.to_owned())]),
            ("CreateKey", vec![("Tags", tags(bad, "v"))]),
            (
                "UpdateKeyDescription",
                vec![("KeyId", k.clone()), ("Description", bad.to_owned())],
            ),
            (
                "TagResource",
                vec![("KeyId", k.clone()), ("Tags", tags("k", bad))],
            ),
            (
                "TagResource",
                vec![("KeyId", k.clone()), ("Tags", tags(bad, "v"))],
            ),
            (
                "TagResources",
                vec![
                    ("ResourceType", "key".into()),
                    ("ResourceId.1", k.clone()),
                    ("Tag.1.Key", "k".into()),
                    ("Tag.1.Value", bad.to_owned()),
                ],
            ),
            (
                "SetDeletionProtection",
                vec![
                    ("ProtectedResourceArn", k.clone()),
                    ("EnableDeletionProtection", "true".into()),
                    ("DeletionProtectionDescription", bad.to_owned()),
                ],
            ),
        ];
        for (action, params) in cases {
            let refs: Vec<(&str, &str)> = params.iter().map(|(a, b)| (*a, b.as_str())).collect();
            let code = w.kms_code(ADMIN, action, &refs).await;
            assert_eq!(code.as_deref(), INVALID, "{action} {bad:?}");
        }
        for field in ["DisplayName", "Comments"] {
            let code = w
                .ram_code(ADMIN, "CreateUser", &[("UserName", "ctl"), (field, bad)])
                .await;
            assert_eq!(
                code,
                Some(format!("InvalidParameter.{field}.InvalidChars")),
                "{field} {bad:?}"
            );
        }
        let code = w
            .ram_code(
                ADMIN,
                "CreatePolicy",
                &[
                    ("PolicyName", "ctl"),
                    ("PolicyDocument", &allow(&["kms:*"], &["*"])),
                    ("Description", bad),
                ],
            )
            .await;
        assert_eq!(
            code.as_deref(),
            Some("InvalidParameter.Description.InvalidChars"),
            "{bad:?}"
        );
    }
    // Nothing was stored, and plain Unicode is still fine.
    let meta = w.kms_ok("DescribeKey", &[("KeyId", &k)]).await;
    assert_eq!(text(&meta["KeyMetadata"]["Description"]), "");
    assert_eq!(w.kms_ok("ListKeys", &[]).await["TotalCount"], json!(1));
    w.kms_ok(
        "UpdateKeyDescription",
        &[("KeyId", &k), ("Description", "ünïcode ✓ 中文 a/b\\c")],
    )
    .await;
    w.kms_ok(
        "TagResource",
        &[("KeyId", &k), ("Tags", &tags("ключ", "值 + = : @"))],
    )
    .await;
}
