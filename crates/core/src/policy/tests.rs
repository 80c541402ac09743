//! Policy tests across parsing, matching and evaluation.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

const KEY: &str = "acs:kms:cn-hangzhou:1234:key/key-1";
const KEY2: &str = "acs:kms:cn-hangzhou:1234:key/key-2";
const ALIAS: &str = "acs:kms:cn-hangzhou:1234:alias/app-web";

fn policy(doc: &str) -> Policy {
    Policy::parse(doc).unwrap_or_else(|e| panic!("{e}\n{doc}"))
}

fn stmt(effect: &str, action: &str, resource: &str) -> String {
    format!(r#"{{"Effect":"{effect}","Action":{action},"Resource":{resource}}}"#)
}

fn doc(statements: &[String]) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{}]}}"#,
        statements.join(",")
    )
}

fn req(action: &str, resources: &[&str]) -> RequestContext {
    RequestContext::new(action, resources.iter().map(|s| (*s).to_owned()).collect())
}

fn allowed(policies: &[&Policy], r: &RequestContext) -> bool {
    evaluate(policies, r).is_allowed()
}

fn parse_err(doc: &str) -> PolicyError {
    match Policy::parse(doc) {
        Ok(_) => panic!("accepted: {doc}"),
        Err(e) => e,
    }
}

// ---- parsing -------------------------------------------------------------------------------

#[test]
fn accepts_the_documented_shapes() {
    let p =
        policy(r#"{"Version":"1","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#);
    assert_eq!(p.statements().len(), 1);
    let p = policy(
        r#"{"Statement":[{"Sid":"s1","Effect":"Deny","NotAction":["kms:Describe*"],"NotResource":"acs:kms:*:*:key/*"}],"Version":"1"}"#,
    );
    let s = &p.statements()[0];
    assert_eq!(s.sid(), Some("s1"));
    assert_eq!(s.effect(), Effect::Deny);
    assert!(!s.has_conditions());
    assert!(s.covers_action("kms:Encrypt"));
    assert!(!s.covers_action("kms:DescribeKey"));
    assert!(s.covers_resource(ALIAS));
    assert!(!s.covers_resource(KEY));
    let p: Policy = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":true}}}]}"#
        .parse()
        .unwrap();
    assert!(p.statements()[0].has_conditions());
}

#[test]
fn malformed_documents_get_specific_errors() {
    let cases: &[(&str, &str)] = &[
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ("[]", "the policy document must be a JSON object"),
        (r#"{"Statement":[]}"#, "Version is required"),
        (
            r#"{"Version":"2","Statement":[]}"#,
            r#"Version must be "1", but it is "2""#,
        ),
        (
            r#"{"Version":1,"Statement":[]}"#,
            r#"Version must be "1", but it is 1"#,
        ),
        (r#"{"Version":"1"}"#, "Statement is required"),
        (
            r#"{"Version":"1","Statement":[]}"#,
            "Statement must not be empty",
        ),
        (
            r#"{"Version":"1","Statement":"x"}"#,
            "Statement must be an array",
        ),
        (
            r#"{"Version":"1","Statement":[],"Id":"x"}"#,
            "Id is not a valid element",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"allow","Action":"*","Resource":"*"}]}"#,
            r#"Statement[1].Effect must be "Allow" or "Deny", but it is "allow""#,
        ),
        (
            r#"{"Version":"1","Statement":[{"Action":"*","Resource":"*"}]}"#,
            "Statement[0].Effect is required",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":true,"Action":"*","Resource":"*"}]}"#,
            "Statement[0].Effect must be",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
            "Statement[0].Action is required",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*"}]}"#,
            "Statement[0].Resource is required",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","NotAction":"kms:*","Resource":"*"}]}"#,
            "Statement[0] has both Action and NotAction",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}]}"#,
            "Statement[0] has both Resource and NotResource",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#,
            "Statement[0].Action must not be empty",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["kms:Encrypt",3],"Resource":"*"}]}"#,
            "Statement[0].Action[1] must be a string, but it is a number",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"Encrypt","Resource":"*"}]}"#,
            r#"Statement[0].Action is "Encrypt"; an action must be"#,
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:","Resource":"*"}]}"#,
            "an action must be",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:En crypt","Resource":"*"}]}"#,
            "an action must be",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":["*","key/1"]}]}"#,
            r#"Statement[0].Resource[1] is "key/1"; a resource must be"#,
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":{}}]}"#,
            "Statement[0].Resource must be a string or an array of strings, but it is an object",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}]}"#,
            "Statement[0].Principal is not a valid element; a policy attached to a user",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","action":"*"}]}"#,
            "Statement[0].action is not a valid element",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Sid":1}]}"#,
            "Statement[0].Sid must be a string",
        ),
        (
            r#"{"Version":"1","Statement":["x"]}"#,
            "Statement[0] must be an object, but it is a string",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"300.0.0.1"}}}]}"#,
            "Statement[0].Condition.IpAddress.acs:SourceIp has the value \"300.0.0.1\"",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"a:b":"c"}}}]}"#,
            "unknown condition operator \"StringEqualz\"",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            "duplicate key \\\"Effect\\\"",
        ),
    ];
    for (doc, want) in cases {
        let msg = parse_err(doc).to_string();
        let want = want.replace("\\\"", "\"");
        assert!(msg.contains(&want), "{doc}\n  got: {msg}\n  want: {want}");
    }
}

#[test]
fn duplicate_keys_are_refused_at_any_depth() {
    let e = parse_err(r#"{"Version":"1","Version":"1","Statement":[]}"#);
    assert!(matches!(e, PolicyError::Syntax(_)), "{e:?}");
    let e = parse_err(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"a:b":"1","a:b":"2"}}}]}"#,
    );
    assert!(e.to_string().contains("duplicate key"), "{e}");
}

#[test]
fn the_size_limit_counts_characters() {
    let base = doc(&[stmt("Allow", r#""kms:*""#, r#""*""#)]);
    let pad = MAX_POLICY_CHARS - base.chars().count();
    let at_limit = format!("{base}{}", " ".repeat(pad));
    assert!(Policy::parse(&at_limit).is_ok());
    let over = format!("{at_limit} ");
    assert_eq!(
        parse_err(&over),
        PolicyError::TooLong {
            chars: MAX_POLICY_CHARS + 1
        }
    );
    // Multi-byte characters count once.
    let sid = "é".repeat(MAX_POLICY_CHARS - 100);
    let d = format!(
        r#"{{"Version":"1","Statement":[{{"Sid":"{sid}","Effect":"Allow","Action":"*","Resource":"*"}}]}}"#
    );
    assert!(d.len() > MAX_POLICY_CHARS && d.chars().count() <= MAX_POLICY_CHARS);
    assert!(Policy::parse(&d).is_ok());
}

#[test]
fn unsupported_condition_keys_are_listed() {
    let p = policy(
        r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"acs:MFAPresent":"true"},"StringEquals":{"acs:SourceVpc":"v","kms:EncryptionContext.a":"b"}}},
            {"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"acs:MFAPresent":"false"}}}]}"#,
    );
    assert_eq!(
        p.unsupported_condition_keys(),
        vec!["acs:MFAPresent", "acs:SourceVpc"]
    );
}

// ---- evaluation ----------------------------------------------------------------------------

#[test]
fn default_deny() {
    let p = policy(&doc(&[stmt("Allow", r#""kms:Decrypt""#, r#""*""#)]));
    assert_eq!(
        evaluate(&[&p], &req("kms:Encrypt", &[KEY])),
        Decision::ImplicitDeny { resource: Some(0) }
    );
    assert_eq!(
        evaluate(&[], &req("kms:Encrypt", &[KEY])),
        Decision::ImplicitDeny { resource: Some(0) }
    );
    assert_eq!(
        evaluate(&[&Policy::deny_all()], &req("kms:Encrypt", &[KEY])),
        Decision::ImplicitDeny { resource: Some(0) }
    );
}

#[test]
fn no_resource_is_denied() {
    let admin = ADMINISTRATOR_ACCESS.policy();
    assert_eq!(
        evaluate(&[&admin], &req("kms:Encrypt", &[])),
        Decision::ImplicitDeny { resource: None }
    );
}

#[test]
fn explicit_deny_wins_wherever_it_is() {
    let allow = policy(&doc(&[stmt("Allow", r#""kms:*""#, r#""*""#)]));
    let deny = policy(&doc(&[
        stmt("Allow", r#""kms:Encrypt""#, r#""*""#),
        format!(
            r#"{{"Sid":"no-key-1","Effect":"Deny","Action":"kms:Encrypt","Resource":"{KEY}"}}"#
        ),
    ]));
    let r = req("kms:Encrypt", &[KEY]);
    for order in [[&allow, &deny], [&deny, &allow]] {
        let d = evaluate(&order, &r);
        let Decision::ExplicitDeny {
            statement,
            resource,
        } = d
        else {
            panic!("{d:?}")
        };
        assert_eq!(resource, 0);
        assert_eq!(statement.statement, 1);
        assert_eq!(statement.sid.as_deref(), Some("no-key-1"));
        assert_eq!(order[statement.policy].statements().len(), 2);
    }
    assert!(allowed(&[&allow, &deny], &req("kms:Encrypt", &[KEY2])));
    assert!(allowed(&[&allow, &deny], &req("kms:Decrypt", &[KEY])));
}

#[test]
fn allow_reports_the_statement_per_resource() {
    let p = policy(&doc(&[
        stmt("Allow", r#""kms:CreateAlias""#, r#""acs:kms:*:*:key/*""#),
        stmt(
            "Allow",
            r#""kms:CreateAlias""#,
            r#""acs:kms:*:*:alias/app-*""#,
        ),
    ]));
    let d = evaluate(&[&p], &req("kms:CreateAlias", &[KEY, ALIAS]));
    assert_eq!(
        d,
        Decision::Allow {
            statements: vec![
                StatementRef {
                    policy: 0,
                    statement: 0,
                    sid: None
                },
                StatementRef {
                    policy: 0,
                    statement: 1,
                    sid: None
                },
            ]
        }
    );
    assert_eq!(
        d.to_string(),
        "allowed by policy 0 Statement[0], policy 0 Statement[1]"
    );
}

#[test]
fn every_resource_must_be_allowed() {
    // CreateAlias needs both the key and the alias.
    let keys_only = policy(&doc(&[stmt(
        "Allow",
        r#""kms:*""#,
        r#""acs:kms:*:*:key/*""#,
    )]));
    assert_eq!(
        evaluate(&[&keys_only], &req("kms:CreateAlias", &[KEY, ALIAS])),
        Decision::ImplicitDeny { resource: Some(1) }
    );
    let other_alias = policy(&doc(&[stmt(
        "Allow",
        r#""kms:*""#,
        r#"["acs:kms:*:*:key/*","acs:kms:*:*:alias/db-*"]"#,
    )]));
    assert!(!allowed(
        &[&other_alias],
        &req("kms:CreateAlias", &[KEY, ALIAS])
    ));
    let both = policy(&doc(&[stmt(
        "Allow",
        r#""kms:*""#,
        r#"["acs:kms:*:*:key/*","acs:kms:*:*:alias/app-*"]"#,
    )]));
    assert!(allowed(&[&both], &req("kms:CreateAlias", &[KEY, ALIAS])));
}

#[test]
fn alias_calls_are_authorized_against_the_resolved_key() {
    // A key-scoped grant works when the server passes the resolved key ARN, whatever alias the
    // caller used; an alias-scoped grant does not authorize a different key.
    let key1_only = policy(&doc(&[stmt(
        "Allow",
        r#""kms:Encrypt""#,
        &format!(r#""{KEY}""#),
    )]));
    assert!(allowed(&[&key1_only], &req("kms:Encrypt", &[KEY])));
    assert!(!allowed(&[&key1_only], &req("kms:Encrypt", &[KEY2])));
    let alias_only = policy(&doc(&[stmt(
        "Allow",
        r#""kms:Encrypt""#,
        r#""acs:kms:*:*:alias/app-*""#,
    )]));
    assert!(!allowed(&[&alias_only], &req("kms:Encrypt", &[KEY])));
}

#[test]
fn action_wildcards_and_case() {
    let p = policy(&doc(&[stmt(
        "Allow",
        r#"["KMS:generate*","kms:?ncrypt"]"#,
        r#""*""#,
    )]));
    for ok in [
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "KMS:GENERATEDATAKEY",
        "kms:Encrypt",
        "kms:encrypt",
    ] {
        assert!(allowed(&[&p], &req(ok, &[KEY])), "{ok}");
    }
    for no in [
        "kms:Decrypt",
        "kms:ReEncrypt",
        "ram:GenerateX",
        "kms:Generat",
    ] {
        assert!(!allowed(&[&p], &req(no, &[KEY])), "{no}");
    }
    let star = policy(&doc(&[stmt("Allow", r#""*""#, r#""*""#)]));
    assert!(allowed(&[&star], &req("ram:DeleteUser", &[KEY])));
}

#[test]
fn resource_wildcards_and_case() {
    let p = policy(&doc(&[stmt(
        "Allow",
        r#""kms:*""#,
        r#"["acs:kms:*:*:alias/app-*","acs:kms:cn-hangzhou:1234:key/key-?"]"#,
    )]));
    assert!(allowed(&[&p], &req("kms:Encrypt", &[ALIAS])));
    assert!(allowed(&[&p], &req("kms:Encrypt", &[KEY])));
    assert!(!allowed(
        &[&p],
        &req("kms:Encrypt", &["acs:kms:cn-hangzhou:1234:key/key-10"])
    ));
    assert!(!allowed(
        &[&p],
        &req("kms:Encrypt", &["acs:kms:cn-hangzhou:1234:alias/APP-web"])
    ));
    assert!(!allowed(
        &[&p],
        &req("kms:Encrypt", &["acs:kms:cn-shanghai:1234:key/key-1"])
    ));
    assert!(!allowed(
        &[&p],
        &req("kms:Encrypt", &["ACS:kms:cn-hangzhou:1234:key/key-1"])
    ));
}

#[test]
fn not_action_and_not_resource() {
    let p = policy(&doc(&[
        stmt("Allow", r#""kms:*""#, r#""*""#),
        r#"{"Effect":"Deny","NotAction":["kms:Describe*","kms:List*"],"Resource":"acs:kms:*:*:key/frozen-*"}"#.to_owned(),
        r#"{"Effect":"Deny","Action":"kms:ScheduleKeyDeletion","NotResource":"acs:kms:*:*:key/tmp-*"}"#.to_owned(),
    ]));
    let frozen = "acs:kms:r:1:key/frozen-1";
    assert!(allowed(&[&p], &req("kms:DescribeKey", &[frozen])));
    assert!(!allowed(&[&p], &req("kms:Encrypt", &[frozen])));
    assert!(allowed(
        &[&p],
        &req("kms:ScheduleKeyDeletion", &["acs:kms:r:1:key/tmp-1"])
    ));
    assert!(!allowed(&[&p], &req("kms:ScheduleKeyDeletion", &[KEY])));
}

#[test]
fn conditions_gate_allow_and_deny() {
    let p = policy(
        r#"{"Version":"1","Statement":[
          {"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
           "Condition":{"StringEquals":{"kms:EncryptionContext.tenant":"acme"},
                        "IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}},
          {"Effect":"Deny","Action":"kms:*","Resource":"*",
           "Condition":{"Bool":{"acs:SecureTransport":"false"}}}]}"#,
    );
    let ctx = |t: &str| BTreeMap::from([("tenant".to_owned(), t.to_owned())]);
    let good = req("kms:Encrypt", &[KEY])
        .with_encryption_context(ctx("acme"))
        .with_source_ip("10.1.2.3".parse().unwrap())
        .with_secure_transport(true)
        .with_current_time(1_700_000_000);
    assert!(allowed(&[&p], &good));
    let mut r = good.clone();
    r.encryption_context = Some(ctx("other"));
    assert!(!allowed(&[&p], &r));
    r = good.clone();
    r.encryption_context = None;
    assert!(!allowed(&[&p], &r));
    r = good.clone();
    r.source_ip = Some("192.168.0.1".parse().unwrap());
    assert!(!allowed(&[&p], &r));
    r = good.clone();
    r.source_ip = None;
    assert!(!allowed(&[&p], &r));
    r = good.clone().with_secure_transport(false);
    assert!(matches!(evaluate(&[&p], &r), Decision::ExplicitDeny { .. }));
    // Without the key, the Deny's positive Bool does not hold: the Allow decides.
    r = good;
    r.secure_transport = None;
    assert!(allowed(&[&p], &r));
}

#[test]
fn unsupported_keys_fail_closed_both_ways() {
    let p = policy(
        r#"{"Version":"1","Statement":[
          {"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"Bool":{"acs:MFAPresent":"true"}}},
          {"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"},
          {"Effect":"Deny","Action":"kms:Decrypt","Resource":"acs:kms:*:*:key/mfa-*","Condition":{"Bool":{"acs:MFAPresent":"false"}}}]}"#,
    );
    assert!(!allowed(&[&p], &req("kms:Encrypt", &[KEY])));
    assert!(allowed(&[&p], &req("kms:Decrypt", &[KEY])));
    assert!(matches!(
        evaluate(&[&p], &req("kms:Decrypt", &["acs:kms:r:1:key/mfa-1"])),
        Decision::ExplicitDeny { .. }
    ));
}

#[test]
fn decision_display_has_no_policy_text() {
    let p = policy(&doc(&[format!(
        r#"{{"Sid":"deny-secret-thing","Effect":"Deny","Action":"kms:Encrypt","Resource":"{KEY}"}}"#
    )]));
    let d = evaluate(&[&p], &req("kms:Encrypt", &[KEY]));
    let text = d.to_string();
    assert_eq!(
        text,
        r#"resource 0 explicitly denied by policy 0 Statement[0] (Sid "deny-secret-thing")"#
    );
    assert!(!text.contains("acs:kms"));
    assert_eq!(
        Decision::ImplicitDeny { resource: Some(2) }.to_string(),
        "resource 2 is not allowed by any policy"
    );
}

// ---- system policies -----------------------------------------------------------------------

#[test]
fn system_policies_parse_and_are_found_by_name() {
    for sp in SYSTEM_POLICIES {
        let p = Policy::parse(sp.document).unwrap_or_else(|e| panic!("{}: {e}", sp.name));
        assert!(!p.statements().is_empty());
        assert_eq!(system_policy(sp.name), Some(sp));
        assert!(p.unsupported_condition_keys().is_empty());
    }
    assert_eq!(system_policy("aliyunkmsfullaccess"), None);
    assert_eq!(system_policy("Nope"), None);
    assert_eq!(SYSTEM_POLICIES.len(), 6);
}

#[test]
fn system_policy_matrix() {
    // (action, admin, kms-full, kms-read, kms-crypto, ram-full, ram-read)
    let matrix: &[(&str, [bool; 6])] = &[
        ("kms:CreateKey", [true, true, false, false, false, false]),
        ("kms:DescribeKey", [true, true, true, true, false, false]),
        ("kms:ListKeys", [true, true, true, true, false, false]),
        ("kms:ListAliases", [true, true, true, true, false, false]),
        (
            "kms:ListKeyVersions",
            [true, true, true, true, false, false],
        ),
        (
            "kms:DescribeKeyVersion",
            [true, true, true, true, false, false],
        ),
        ("kms:Encrypt", [true, true, false, true, false, false]),
        ("kms:Decrypt", [true, true, false, true, false, false]),
        ("kms:ReEncrypt", [true, true, false, true, false, false]),
        (
            "kms:GenerateDataKey",
            [true, true, false, true, false, false],
        ),
        (
            "kms:GenerateDataKeyWithoutPlaintext",
            [true, true, false, true, false, false],
        ),
        ("kms:GetPublicKey", [true, true, true, true, false, false]),
        (
            "kms:GetSecretValue",
            [true, true, false, false, false, false],
        ),
        (
            "kms:GetParametersForImport",
            [true, true, false, false, false, false],
        ),
        ("kms:EnableKey", [true, true, false, false, false, false]),
        ("kms:DisableKey", [true, true, false, false, false, false]),
        (
            "kms:ScheduleKeyDeletion",
            [true, true, false, false, false, false],
        ),
        ("kms:CreateAlias", [true, true, false, false, false, false]),
        ("kms:DeleteAlias", [true, true, false, false, false, false]),
        ("kms:TagResource", [true, true, false, false, false, false]),
        (
            "kms:UpdateRotationPolicy",
            [true, true, false, false, false, false],
        ),
        ("ram:CreateUser", [true, false, false, false, true, false]),
        ("ram:GetUser", [true, false, false, false, true, true]),
        ("ram:ListUsers", [true, false, false, false, true, true]),
        (
            "ram:CreateAccessKey",
            [true, false, false, false, true, false],
        ),
        (
            "ram:ListAccessKeys",
            [true, false, false, false, true, true],
        ),
        (
            "ram:AttachPolicyToUser",
            [true, false, false, false, true, false],
        ),
        ("ram:GetPolicy", [true, false, false, false, true, true]),
        ("ram:DeletePolicy", [true, false, false, false, true, false]),
    ];
    let policies = [
        ADMINISTRATOR_ACCESS,
        ALIYUN_KMS_FULL_ACCESS,
        ALIYUN_KMS_READ_ONLY_ACCESS,
        ALIYUN_KMS_CRYPTO_USER_ACCESS,
        ALIYUN_RAM_FULL_ACCESS,
        ALIYUN_RAM_READ_ONLY_ACCESS,
    ];
    let parsed: Vec<Policy> = policies.iter().map(SystemPolicy::policy).collect();
    for (action, want) in matrix {
        let resource = if action.starts_with("ram:") {
            "acs:ram:*:1234:user/alice"
        } else {
            KEY
        };
        for ((sp, p), want) in policies.iter().zip(&parsed).zip(want) {
            let got = allowed(&[p], &req(action, &[resource]));
            assert_eq!(got, *want, "{} {action}", sp.name);
        }
    }
}

// ---- properties ----------------------------------------------------------------------------

fn arb_action() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "kms:DescribeKey",
        "kms:CreateAlias",
        "ram:CreateUser",
    ])
    .prop_map(str::to_owned)
}

fn arb_action_pattern() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "*",
        "kms:*",
        "kms:Encrypt",
        "kms:Generate*",
        "kms:*crypt",
        "ram:*",
        "KMS:describe?ey",
    ])
    .prop_map(str::to_owned)
}

fn arb_resource() -> impl Strategy<Value = String> {
    prop::sample::select(vec![KEY, KEY2, ALIAS, "acs:ram:*:1234:user/alice"])
        .prop_map(str::to_owned)
}

fn arb_resource_pattern() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "*",
        "acs:kms:*:*:key/*",
        "acs:kms:*:*:alias/app-*",
        KEY,
        "acs:ram:*:*:*",
    ])
    .prop_map(str::to_owned)
}

prop_compose! {
    fn arb_statement()(
        deny in any::<bool>(),
        actions in prop::collection::vec(arb_action_pattern(), 1..3),
        resources in prop::collection::vec(arb_resource_pattern(), 1..3),
        cond in prop::option::of(prop::sample::select(vec![
            r#"{"Bool":{"acs:SecureTransport":"true"}}"#,
            r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#,
            r#"{"StringEquals":{"kms:EncryptionContext.t":"a"}}"#,
            r#"{"Bool":{"acs:MFAPresent":"true"}}"#,
        ])),
    ) -> String {
        let c = cond.map(|c| format!(r#","Condition":{c}"#)).unwrap_or_default();
        format!(
            r#"{{"Effect":"{}","Action":{},"Resource":{}{c}}}"#,
            if deny { "Deny" } else { "Allow" },
            serde_json::to_string(&actions).unwrap(),
            serde_json::to_string(&resources).unwrap(),
        )
    }
}

prop_compose! {
    fn arb_request()(
        action in arb_action(),
        resources in prop::collection::vec(arb_resource(), 1..3),
        tls in any::<Option<bool>>(),
        internal in any::<bool>(),
        tenant in prop::option::of(prop::sample::select(vec!["a", "b"])),
    ) -> RequestContext {
        let mut r = RequestContext::new(action, resources);
        r.secure_transport = tls;
        r.source_ip = Some(if internal { "10.0.0.1" } else { "192.0.2.1" }.parse().unwrap());
        r.encryption_context = tenant.map(|t| BTreeMap::from([("t".to_owned(), t.to_owned())]));
        r
    }
}

proptest! {
    #[test]
    fn parsing_never_panics(s in ".{0,200}") {
        let _ = Policy::parse(&s);
    }

    #[test]
    fn order_of_policies_and_statements_does_not_change_the_outcome(
        stmts in prop::collection::vec(arb_statement(), 1..6),
        r in arb_request(),
    ) {
        let forward = policy(&doc(&stmts));
        let mut rev = stmts.clone();
        rev.reverse();
        let backward = policy(&doc(&rev));
        let split: Vec<Policy> = stmts.iter().map(|s| policy(&doc(std::slice::from_ref(s)))).collect();
        let split_refs: Vec<&Policy> = split.iter().rev().collect();
        let a = evaluate(&[&forward], &r).is_allowed();
        prop_assert_eq!(a, evaluate(&[&backward], &r).is_allowed());
        prop_assert_eq!(a, evaluate(&split_refs, &r).is_allowed());
    }

    #[test]
    fn an_unconditional_matching_deny_always_wins(
        stmts in prop::collection::vec(arb_statement(), 0..6),
        r in arb_request(),
    ) {
        let mut all = stmts;
        all.push(stmt("Deny", &format!("{:?}", r.action), r#""*""#));
        let p = policy(&doc(&all));
        let denied = matches!(evaluate(&[&p], &r), Decision::ExplicitDeny { .. });
        prop_assert!(denied);
    }

    #[test]
    fn adding_an_allow_never_removes_access(
        stmts in prop::collection::vec(arb_statement(), 1..6),
        extra in arb_statement(),
        r in arb_request(),
    ) {
        let before = evaluate(&[&policy(&doc(&stmts))], &r).is_allowed();
        let extra_policy = policy(&doc(&[extra]));
        let after_is_allowed = evaluate(&[&policy(&doc(&stmts)), &extra_policy], &r).is_allowed();
        let extra_is_allow = extra_policy.statements()[0].effect() == Effect::Allow;
        if before && extra_is_allow {
            prop_assert!(after_is_allowed);
        }
    }

    #[test]
    fn allow_requires_an_allow_per_resource(
        stmts in prop::collection::vec(arb_statement(), 1..6),
        r in arb_request(),
    ) {
        let p = policy(&doc(&stmts));
        if let Decision::Allow { statements } = evaluate(&[&p], &r) {
            prop_assert_eq!(statements.len(), r.resources.len());
            for (s, res) in statements.iter().zip(&r.resources) {
                let st = &p.statements()[s.statement];
                prop_assert_eq!(st.effect(), Effect::Allow);
                prop_assert!(st.covers_action(&r.action));
                prop_assert!(st.covers_resource(res));
            }
        }
    }
}
