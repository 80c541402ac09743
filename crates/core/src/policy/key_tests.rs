//! Key policies: parsing (Principal required, 32 KiB) and the combination with RAM policies.

use super::*;

const KEY: &str = "acs:kms:cn-hangzhou:123:key/k1";
const OTHER: &str = "acs:kms:cn-hangzhou:123:key/k2";

fn alice() -> String {
    user_principal("123", "alice")
}

fn ram(doc: &str) -> Policy {
    Policy::parse(doc).unwrap()
}

fn key(doc: &str) -> KeyPolicy {
    KeyPolicy::parse(doc).unwrap()
}

fn decide(ram: &[&Policy], kp: &KeyPolicy, action: &str, resources: &[&str]) -> Decision {
    let req = RequestContext::new(action, resources.iter().map(|r| (*r).to_owned()).collect());
    let kps = [KeyPolicyRef {
        resource: 0,
        policy: kp,
    }];
    evaluate_with_key_policies(ram, &kps, &alice(), &req)
}

const ALLOW_ALL: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

#[test]
fn parses_key_policies() {
    let default = KeyPolicy::default_document("123");
    assert_eq!(key(&default).statements().len(), 1);
    let no_principal =
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
    assert!(matches!(
        KeyPolicy::parse(no_principal),
        Err(PolicyError::Missing { path }) if path == "Statement[0].Principal"
    ));
    for bad in [
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}"#,
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"kms:*","Resource":"*"}]}"#,
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"RAM":["alice"]},"Action":"kms:*","Resource":"*"}]}"#,
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"RAM":[]},"Action":"kms:*","Resource":"*"}]}"#,
        r#"{"Version":"2","Statement":[{"Effect":"Allow","Principal":{"RAM":"*"},"Action":"kms:*","Resource":"*"}]}"#,
    ] {
        assert!(KeyPolicy::parse(bad).is_err(), "{bad}");
    }
    // A RAM policy still refuses Principal; a key policy may exceed the RAM size limit.
    assert!(Policy::parse(&default).is_err());
    let big = format!(
        r#"{{"Version":"1","Statement":[{{"Sid":"{}","Effect":"Allow","Principal":{{"RAM":"*"}},"Action":"kms:*","Resource":"*"}}]}}"#,
        "s".repeat(20_000)
    );
    assert!(KeyPolicy::parse(&big).is_ok());
    let huge = big.replace(&"s".repeat(20_000), &"s".repeat(MAX_KEY_POLICY_BYTES));
    assert!(matches!(
        KeyPolicy::parse(&huge),
        Err(PolicyError::KeyPolicyTooLong { .. })
    ));
}

#[test]
fn the_default_key_policy_leaves_the_decision_to_ram() {
    let kp = key(&KeyPolicy::default_document("123"));
    assert!(
        decide(&[], &kp, "kms:Encrypt", &[KEY]) == Decision::ImplicitDeny { resource: Some(0) }
    );
    let all = ram(ALLOW_ALL);
    assert!(decide(&[&all], &kp, "kms:Encrypt", &[KEY]).is_allowed());
}

#[test]
fn a_deny_in_the_key_policy_wins_over_ram() {
    let all = ram(ALLOW_ALL);
    let deny_all = key(
        r#"{"Version":"1","Statement":[{"Effect":"Deny","Principal":{"RAM":["acs:ram::123:*"]},"Action":"kms:*","Resource":"*"}]}"#,
    );
    let d = decide(&[&all], &deny_all, "kms:Encrypt", &[KEY]);
    assert!(
        matches!(d, Decision::ExplicitDeny { statement, resource: 0 } if statement.policy == 1)
    );
    // A key policy bears on its own key's resource only: attached to the second resource of
    // the request, its Deny names that resource; a request without its key is not touched.
    let req = RequestContext::new("kms:ReEncrypt", vec![OTHER.into(), KEY.into()]);
    let kps = [KeyPolicyRef {
        resource: 1,
        policy: &deny_all,
    }];
    assert!(matches!(
        evaluate_with_key_policies(&[&all], &kps, &alice(), &req),
        Decision::ExplicitDeny { resource: 1, .. }
    ));
    let other_only = RequestContext::new("kms:Encrypt", vec![OTHER.into()]);
    assert!(evaluate_with_key_policies(&[&all], &[], &alice(), &other_only).is_allowed());
    // A Deny for another user does not touch alice.
    let deny_bob = key(
        r#"{"Version":"1","Statement":[{"Effect":"Deny","Principal":{"RAM":"acs:ram::123:user/bob"},"Action":"kms:*","Resource":"*"}]}"#,
    );
    assert!(decide(&[&all], &deny_bob, "kms:Encrypt", &[KEY]).is_allowed());
}

#[test]
fn a_deny_in_ram_wins_over_the_key_policy() {
    let kp = key(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"RAM":"acs:ram::123:user/alice"},"Action":"kms:*","Resource":"*"}]}"#,
    );
    let deny = ram(
        r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"kms:Encrypt","Resource":"*"}]}"#,
    );
    assert!(matches!(
        decide(&[&deny], &kp, "kms:Encrypt", &[KEY]),
        Decision::ExplicitDeny { statement, .. } if statement.policy == 0
    ));
    // Named in the key policy, alice needs no RAM policy for the key...
    assert!(decide(&[], &kp, "kms:Decrypt", &[KEY]).is_allowed());
    // ...but the key policy grants nothing on other resources of the request.
    assert_eq!(
        decide(
            &[],
            &kp,
            "kms:CreateAlias",
            &[KEY, "acs:kms:cn-hangzhou:123:alias/a"]
        ),
        Decision::ImplicitDeny { resource: Some(1) }
    );
}

#[test]
fn key_policy_conditions_and_resources_apply() {
    let all = ram(ALLOW_ALL);
    let kp = key(
        r#"{"Version":"1","Statement":[{"Effect":"Deny","Principal":{"RAM":"*"},"Action":"kms:Decrypt","Resource":"*",
            "Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}]}"#,
    );
    let req = |ip: &str| {
        RequestContext::new("kms:Decrypt", vec![KEY.into()]).with_source_ip(ip.parse().unwrap())
    };
    let kps = [KeyPolicyRef {
        resource: 0,
        policy: &kp,
    }];
    assert!(!evaluate_with_key_policies(&[&all], &kps, &alice(), &req("10.1.2.3")).is_allowed());
    assert!(evaluate_with_key_policies(&[&all], &kps, &alice(), &req("192.0.2.1")).is_allowed());
    let other_key = key(
        r#"{"Version":"1","Statement":[{"Effect":"Deny","Principal":{"RAM":"*"},"Action":"kms:*","Resource":"acs:kms:*:*:key/k2"}]}"#,
    );
    assert!(decide(&[&all], &other_key, "kms:Encrypt", &[KEY]).is_allowed());
}
