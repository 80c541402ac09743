//! RAM-style access policies: parsing, validation and evaluation.
//!
//! Policies use the RAM policy language (version `"1"`), so documents written for Alibaba Cloud
//! RAM work unchanged:
//!
//! ```json
//! {
//!   "Version": "1",
//!   "Statement": [
//!     {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
//!      "Resource": "acs:kms:*:*:key/*",
//!      "Condition": {"StringEquals": {"kms:EncryptionContext.tenant": "acme"},
//!                    "IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}},
//!     {"Effect": "Deny", "Action": "kms:*", "Resource": "acs:kms:*:*:alias/prod-*",
//!      "Condition": {"Bool": {"acs:SecureTransport": "false"}}}
//!   ]
//! }
//! ```
//!
//! # Document rules ([`Policy::parse`])
//!
//! - At most [`MAX_POLICY_CHARS`] (6,144) characters, whitespace included: the limit RAM's
//!   `CreatePolicy`/`CreatePolicyVersion` document for `PolicyDocument`.
//! - `Version` must be the string `"1"`; `Statement` is an array of statements (at least one) or a
//!   single statement object. No other top-level element is accepted.
//! - A statement has `Effect` (`"Allow"` or `"Deny"`, exact case), exactly one of `Action` /
//!   `NotAction`, exactly one of `Resource` / `NotResource` (each a string or a non-empty array of
//!   strings), and optionally `Sid` and `Condition`. `Principal` is refused: these are identity
//!   policies. Element names are case-sensitive; an object with a repeated key is refused.
//! - An action is `*` or `<product>:<action>` (`kms:Encrypt`, `kms:Generate*`, `ram:*`).
//!   A resource is `*` or an ARN starting with `acs:` (`acs:kms:*:*:key/*`,
//!   `acs:kms:*:*:alias/app-*`).
//!
//! Every refusal is a [`PolicyError`] whose message names the element (`Statement[1].Effect`,
//! statements numbered from 0) and what it must be.
//!
//! # Matching
//!
//! `*` matches any run of characters (across `:` and `/`) and `?` one character. Actions match
//! case-insensitively (`kms:encrypt` = `kms:Encrypt`); resources match case-sensitively, as key ids
//! and alias names are. `NotAction`/`NotResource` match everything their list does not.
//! Policy variables (`${...}`) are not expanded.
//!
//! # Conditions
//!
//! Operators ([`SUPPORTED_OPERATORS`]): `StringEquals`, `StringNotEquals`,
//! `StringEqualsIgnoreCase`, `StringNotEqualsIgnoreCase`, `StringLike`, `StringNotLike`,
//! `Numeric{Equals,NotEquals,LessThan,LessThanEquals,GreaterThan,GreaterThanEquals}`,
//! `Date{Equals,NotEquals,LessThan,LessThanEquals,GreaterThan,GreaterThanEquals}` (RFC 3339 or
//! unix seconds, compared at whole seconds), `Bool`, `IpAddress`, `NotIpAddress` (IPv4 and IPv6
//! addresses or CIDR blocks; an IPv4-mapped IPv6 caller matches IPv4 blocks). Each may be
//! prefixed by `ForAnyValue:` or `ForAllValues:`. Values are checked against the operator when
//! the policy is parsed.
//!
//! Keys ([`SUPPORTED_CONDITION_KEYS`], names case-insensitive):
//!
//! | key | value |
//! |---|---|
//! | `acs:SourceIp` | the caller's IP address |
//! | `acs:SecureTransport` | `true` when the request came over TLS |
//! | `acs:CurrentTime` | the server's clock |
//! | `kms:EncryptionContext.<name>` (or `:<name>`) | the request's context value for `<name>` (case-sensitive) |
//! | `kms:EncryptionContextKeys` | the set of keys of the request's context |
//!
//! Several values for one key are OR-ed; several keys, and several operators, are AND-ed.
//! A negated operator (`StringNotEquals`, `NotIpAddress`, ...) holds when none of its values
//! match, including when the request lacks the key; a positive operator fails when the key is
//! absent. For a multi-valued key, `ForAnyValue:` needs one request value to satisfy the
//! operator and `ForAllValues:` needs all of them to (true for an empty set).
//!
//! **Unsupported keys.** A key keywarden never supplies (`acs:MFAPresent`, `oss:Prefix`, a typo)
//! cannot be evaluated. RAM treats a missing key as not matching; keywarden goes one step further
//! and fails closed both ways: such a condition never lets an `Allow` apply, and always lets a
//! `Deny` apply. [`Policy::unsupported_condition_keys`] lists them so `CreatePolicy` can warn.
//!
//! # Evaluation ([`evaluate`])
//!
//! An explicit `Deny` anywhere wins; otherwise each resource of the request needs an `Allow`;
//! otherwise the request is denied. The [`Decision`] says which statement decided, by position,
//! without the policy text. See [`RequestContext`] for which ARNs the server passes (a call naming
//! a key by alias is authorized against the key it resolves to).
//!
//! # Key policies ([`KeyPolicy`])
//!
//! A key policy is the same language attached to one key (`CreateKey Policy`, `SetKeyPolicy`):
//! at most [`MAX_KEY_POLICY_BYTES`] (32,768) bytes, and every statement has a `Principal`,
//! `{"RAM": ["acs:ram::<account>:*", "acs:ram::<account>:user/<name>", ...]}` (`*` and the
//! wildcards of `Resource` allowed), matched against the caller's ARN
//! ([`user_principal`]). `Resource` is matched against the key's ARN (`*` is the key).
//! [`evaluate_with_key_policies`] combines it with the caller's RAM policies:
//!
//! 1. an explicit `Deny` in a RAM policy, or in the key policy through a principal matching the
//!    caller (account-wide ones included), denies;
//! 2. otherwise each resource needs an `Allow`: from a RAM policy, or from a key-policy
//!    statement whose principal **names** the caller (`...:user/alice`, `...:user/*`). An
//!    `Allow` through an account-wide principal (`acs:ram::<account>:*`, `*`) grants nothing
//!    by itself: it leaves the decision to the RAM policies. That is the default key policy
//!    ([`KeyPolicy::default_document`]), so a key without a policy of its own behaves as before;
//! 3. otherwise the request is denied.
//!
//! # System policies
//!
//! [`SYSTEM_POLICIES`]: `AdministratorAccess`, `AliyunKMSFullAccess`, `AliyunKMSReadOnlyAccess`,
//! `AliyunKMSCryptoUserAccess`, `AliyunRAMFullAccess`, `AliyunRAMReadOnlyAccess`.

mod condition;
mod eval;
mod glob;
#[cfg(test)]
mod key_tests;
mod parse;
mod principal;
mod system;
#[cfg(test)]
mod tests;

use std::str::FromStr;

pub use condition::{SUPPORTED_CONDITION_KEYS, SUPPORTED_OPERATORS};
pub use eval::{
    Decision, KeyPolicyRef, RequestContext, StatementRef, evaluate, evaluate_with_key_policies,
};
pub use parse::PolicyError;
pub use principal::user_principal;
pub use system::{
    ADMINISTRATOR_ACCESS, ALIYUN_KMS_CRYPTO_USER_ACCESS, ALIYUN_KMS_FULL_ACCESS,
    ALIYUN_KMS_READ_ONLY_ACCESS, ALIYUN_RAM_FULL_ACCESS, ALIYUN_RAM_READ_ONLY_ACCESS,
    SYSTEM_POLICIES, SystemPolicy, system_policy,
};

use condition::Condition;
use glob::Glob;
use parse::Kind;
use principal::Principals;

/// Most characters a policy document may have (RAM's limit for `PolicyDocument`).
pub const MAX_POLICY_CHARS: usize = 6144;

/// Most bytes a key policy may have (the KMS limit for `Policy`).
pub const MAX_KEY_POLICY_BYTES: usize = 32_768;

/// Whether a statement grants or refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Grants, unless something denies.
    Allow,
    /// Refuses, whatever else allows.
    Deny,
}

/// A parsed, validated policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    statements: Vec<Statement>,
}

/// One statement of a policy.
#[derive(Debug, Clone)]
pub struct Statement {
    sid: Option<String>,
    effect: Effect,
    /// `Some` exactly in key policies.
    principals: Option<Principals>,
    actions: Targets,
    resources: Targets,
    conditions: Vec<Condition>,
}

/// `Action` (or `Resource`) patterns, or `NotAction` (`NotResource`) patterns.
#[derive(Debug, Clone)]
enum Targets {
    Only(Vec<Glob>),
    AllExcept(Vec<Glob>),
}

impl Targets {
    fn matches(&self, text: &[char]) -> bool {
        match self {
            Targets::Only(globs) => globs.iter().any(|g| g.matches(text)),
            Targets::AllExcept(globs) => !globs.iter().any(|g| g.matches(text)),
        }
    }
}

impl Policy {
    /// Parses and validates a policy document (see the module docs for the rules).
    pub fn parse(document: &str) -> Result<Policy, PolicyError> {
        parse::parse_policy(document, Kind::Identity)
    }

    /// A policy with no statements: it allows nothing and denies nothing.
    pub fn deny_all() -> Policy {
        Policy {
            statements: Vec::new(),
        }
    }

    /// The statements, in document order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// Condition keys this policy uses that keywarden never supplies (each listed once, as
    /// written). Conditions on them fail closed; see the module docs.
    pub fn unsupported_condition_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for c in self.statements.iter().flat_map(|s| &s.conditions) {
            if let Some(k) = c.unsupported_key() {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        keys
    }
}

/// A parsed, validated key policy: a [`Policy`] whose statements each name a `Principal`.
#[derive(Debug, Clone)]
pub struct KeyPolicy {
    policy: Policy,
}

impl KeyPolicy {
    /// Parses and validates a key policy (see the module docs).
    pub fn parse(document: &str) -> Result<KeyPolicy, PolicyError> {
        parse::parse_policy(document, Kind::Key).map(|policy| KeyPolicy { policy })
    }

    /// The key policy of a key created without one: the account's RAM identities may do
    /// `kms:*` on the key, which grants nothing by itself, so their RAM policies decide.
    pub fn default_document(account: &str) -> String {
        format!(
            r#"{{"Version":"1","Statement":[{{"Sid":"Enable RAM User Permissions","Effect":"Allow","Principal":{{"RAM":["acs:ram::{account}:*"]}},"Action":["kms:*"],"Resource":["*"]}}]}}"#
        )
    }

    /// The statements, in document order.
    pub fn statements(&self) -> &[Statement] {
        self.policy.statements()
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }
}

impl FromStr for Policy {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, PolicyError> {
        Policy::parse(s)
    }
}

impl Statement {
    /// The statement's `Sid`, if any.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// `Allow` or `Deny`.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// Whether the statement has a `Condition` element.
    pub fn has_conditions(&self) -> bool {
        !self.conditions.is_empty()
    }

    /// Whether the statement's `Action`/`NotAction` covers `action` (any case).
    pub fn covers_action(&self, action: &str) -> bool {
        let chars: Vec<char> = action.to_lowercase().chars().collect();
        self.actions.matches(&chars)
    }

    /// Whether the statement's `Resource`/`NotResource` covers the ARN `resource`.
    pub fn covers_resource(&self, resource: &str) -> bool {
        let chars: Vec<char> = resource.chars().collect();
        self.resources.matches(&chars)
    }
}
