//! The RAM policy parser (`core::policy`) on arbitrary text; what parses is evaluated against a
//! few requests (with and without condition values), and explicit Deny must win whatever else
//! is attached and in whatever order: `[p, AdministratorAccess]` and `[AdministratorAccess, p]`
//! are denied exactly when `p` denies explicitly, and allowed otherwise.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::LazyLock;

use keywarden_core::policy::{ADMINISTRATOR_ACCESS, Decision, Policy, RequestContext, evaluate};

static ADMIN: LazyLock<Policy> = LazyLock::new(|| ADMINISTRATOR_ACCESS.policy());

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policy) = Policy::parse(text) else {
        return;
    };
    let _ = policy.unsupported_condition_keys();
    for statement in policy.statements() {
        let _ = (
            statement.sid(),
            statement.effect(),
            statement.has_conditions(),
        );
        let _ = statement.covers_action("kms:Encrypt");
        let _ = statement.covers_resource("acs:kms:cn-hangzhou:1234:key/k1");
    }
    for request in requests() {
        deny_wins(&policy, &request);
    }
}

fn deny_wins(policy: &Policy, request: &RequestContext) {
    let alone = evaluate(&[policy], request);
    let after = evaluate(&[policy, &ADMIN], request);
    let before = evaluate(&[&ADMIN, policy], request);
    if let Decision::ExplicitDeny {
        statement,
        resource,
    } = &alone
    {
        for d in [&after, &before] {
            let Decision::ExplicitDeny {
                statement: s,
                resource: r,
            } = d
            else {
                panic!("{alone:?} alone but {d:?} with AdministratorAccess");
            };
            assert_eq!(
                (s.statement, s.sid.as_ref(), r),
                (statement.statement, statement.sid.as_ref(), resource)
            );
        }
    } else {
        assert!(
            after.is_allowed(),
            "{alone:?} alone but {after:?} after AdministratorAccess"
        );
        assert!(
            before.is_allowed(),
            "{alone:?} alone but {before:?} before AdministratorAccess"
        );
    }
}

/// Requests for KMS and RAM actions, bare and with every condition value set.
fn requests() -> Vec<RequestContext> {
    let context: BTreeMap<String, String> = [("tenant", "acme"), ("purpose", "backup")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let full = |r: RequestContext, ip: IpAddr| {
        r.with_source_ip(ip)
            .with_secure_transport(true)
            .with_current_time(1_795_000_000)
            .with_encryption_context(context.clone())
    };
    let key = "acs:kms:cn-hangzhou:1234567890:key/key-1234".to_owned();
    let alias = "acs:kms:cn-hangzhou:1234567890:alias/prod-app".to_owned();
    vec![
        RequestContext::new("kms:Encrypt", vec![key.clone()]),
        full(
            RequestContext::new("kms:Decrypt", vec![key.clone()]),
            IpAddr::from([10, 1, 2, 3]),
        ),
        full(
            RequestContext::new("kms:UpdateAlias", vec![alias, key]),
            "2001:db8::1".parse().unwrap_or(IpAddr::from([0; 16])),
        ),
        RequestContext::new(
            "ram:CreateUser",
            vec!["acs:ram:*:1234567890:user/alice".to_owned()],
        )
        .with_secure_transport(false),
    ]
}
