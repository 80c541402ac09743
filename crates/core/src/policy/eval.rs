//! Evaluating a caller's policies against one request.
//!
//! Explicit `Deny` anywhere wins; otherwise every resource of the request needs an `Allow`;
//! otherwise the request is denied (default deny).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use super::condition::{Facts, Outcome, evaluate_all};
use super::principal::PrincipalMatch;
use super::{Effect, KeyPolicy, Policy, Statement};

/// What a request asks to do, as the authorizer sees it.
///
/// The server fills this after authentication and after resolving aliases:
///
/// - `action` is `<product>:<Action>`, e.g. `kms:Encrypt` or `ram:CreateUser` (any case).
/// - `resources` are the ARNs the call touches; **each** must be allowed. A call that names a
///   key by alias lists the ARN of the key the alias resolves to
///   (`acs:kms:<region>:<account>:key/<id>`); `CreateAlias`/`UpdateAlias`/`DeleteAlias` list both
///   the key ARN and the alias ARN (`acs:kms:<region>:<account>:alias/<name>`). Calls that touch
///   no particular key use the collection ARN (`acs:kms:<region>:<account>:key` for `CreateKey`
///   and `ListKeys`, `...:alias` for `ListAliases`), and RAM calls use
///   `acs:ram:*:<account>:user/<name>` or `acs:ram:*:<account>:policy/<name>`. An empty list is
///   always denied, so a forgotten resource fails closed.
/// - The other fields feed the condition keys; `None` means the request does not have the key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// `<product>:<Action>`.
    pub action: String,
    /// Every ARN the call needs permission on.
    pub resources: Vec<String>,
    /// `acs:SourceIp`: the caller's address.
    pub source_ip: Option<IpAddr>,
    /// `acs:SecureTransport`: whether the request arrived over TLS.
    pub secure_transport: Option<bool>,
    /// `acs:CurrentTime`: the server's clock, unix seconds.
    pub current_time: Option<i64>,
    /// `kms:EncryptionContext.<name>` and `kms:EncryptionContextKeys`: the request's context.
    pub encryption_context: Option<BTreeMap<String, String>>,
}

impl RequestContext {
    /// A request for `action` on `resources`, with no condition values yet.
    pub fn new(action: impl Into<String>, resources: Vec<String>) -> Self {
        Self {
            action: action.into(),
            resources,
            ..Self::default()
        }
    }

    /// Sets `acs:SourceIp`.
    #[must_use]
    pub fn with_source_ip(mut self, ip: IpAddr) -> Self {
        self.source_ip = Some(ip);
        self
    }

    /// Sets `acs:SecureTransport`.
    #[must_use]
    pub fn with_secure_transport(mut self, tls: bool) -> Self {
        self.secure_transport = Some(tls);
        self
    }

    /// Sets `acs:CurrentTime` (unix seconds).
    #[must_use]
    pub fn with_current_time(mut self, unix_secs: i64) -> Self {
        self.current_time = Some(unix_secs);
        self
    }

    /// Sets the encryption context.
    #[must_use]
    pub fn with_encryption_context(mut self, context: BTreeMap<String, String>) -> Self {
        self.encryption_context = Some(context);
        self
    }

    fn facts(&self) -> Facts<'_> {
        Facts {
            source_ip: self.source_ip,
            secure_transport: self.secure_transport,
            current_time: self.current_time,
            encryption_context: self.encryption_context.as_ref(),
        }
    }
}

/// Which statement decided, by position: the index of the policy in the slice given to
/// [`evaluate`] (the caller maps it to a policy name), the statement's index in that policy, and
/// its `Sid` if it has one. It never carries the policy text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRef {
    /// Index into the `policies` slice.
    pub policy: usize,
    /// Index of the statement within the policy (from 0).
    pub statement: usize,
    /// The statement's `Sid`.
    pub sid: Option<String>,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "policy {} Statement[{}]", self.policy, self.statement)?;
        if let Some(sid) = &self.sid {
            write!(f, " (Sid {sid:?})")?;
        }
        Ok(())
    }
}

/// The authorization decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Every resource is allowed and nothing denies. One statement per resource, in the order of
    /// [`RequestContext::resources`] (the first statement that allowed it).
    Allow {
        /// The allowing statement for each resource.
        statements: Vec<StatementRef>,
    },
    /// A `Deny` statement matched.
    ExplicitDeny {
        /// The first matching `Deny` statement.
        statement: StatementRef,
        /// Index of the first denied resource in [`RequestContext::resources`].
        resource: usize,
    },
    /// No statement allows one of the resources (or the request named none).
    ImplicitDeny {
        /// Index of the first resource nothing allows; `None` when the request has no resource.
        resource: Option<usize>,
    },
}

impl Decision {
    /// True only for [`Decision::Allow`].
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allow { statements } => {
                f.write_str("allowed by ")?;
                for (i, s) in statements.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{s}")?;
                }
                Ok(())
            }
            Decision::ExplicitDeny {
                statement,
                resource,
            } => write!(f, "resource {resource} explicitly denied by {statement}"),
            Decision::ImplicitDeny { resource: Some(r) } => {
                write!(f, "resource {r} is not allowed by any policy")
            }
            Decision::ImplicitDeny { resource: None } => {
                f.write_str("the request names no resource")
            }
        }
    }
}

impl Statement {
    fn applies_to_action(&self, action: &[char]) -> bool {
        self.actions.matches(action)
    }

    fn applies_to_resource(&self, resource: &[char]) -> bool {
        self.resources.matches(resource)
    }
}

/// Decides whether `policies` (all the policies attached to the caller) allow `request`.
///
/// 1. A `Deny` statement whose action matches, which matches any of the resources, and whose
///    conditions hold **or cannot be evaluated** (an unsupported condition key) denies the request.
/// 2. Otherwise each resource needs an `Allow` statement whose action and resource match and
///    whose conditions all hold; an unsupported condition key makes an `Allow` not apply.
/// 3. Otherwise the request is denied.
pub fn evaluate(policies: &[&Policy], request: &RequestContext) -> Decision {
    evaluate_with_key_policies(policies, &[], "", request)
}

/// The key policy of one resource of a request: `resource` indexes
/// [`RequestContext::resources`] (the key's ARN).
#[derive(Debug, Clone, Copy)]
pub struct KeyPolicyRef<'a> {
    /// Index of the key's ARN in the request's resources.
    pub resource: usize,
    /// The key's policy.
    pub policy: &'a KeyPolicy,
}

/// [`evaluate`] with the key policies of the request's keys, for the caller whose principal
/// ARN is `caller` (`acs:ram::<account>:user/<name>`, see [`super::user_principal`]).
///
/// A key-policy statement applies only to its own key's resource and only when its
/// `Principal` matches the caller. Its `Deny` denies like a RAM policy's (explicit Deny in
/// either wins); its `Allow` allows the resource only when the principal *names* the caller
/// (not through an account-wide principal, which leaves the decision to the RAM policies).
/// In a [`Decision`], policy indexes past `policies.len()` are the key policies, in order.
pub fn evaluate_with_key_policies(
    policies: &[&Policy],
    key_policies: &[KeyPolicyRef<'_>],
    caller: &str,
    request: &RequestContext,
) -> Decision {
    if request.resources.is_empty() {
        return Decision::ImplicitDeny { resource: None };
    }
    let scan = Scan {
        action: request.action.to_lowercase().chars().collect(),
        resources: request
            .resources
            .iter()
            .map(|r| r.chars().collect())
            .collect(),
        facts: request.facts(),
    };
    let mut allowed: Vec<Option<StatementRef>> = vec![None; scan.resources.len()];

    for (pi, policy) in policies.iter().enumerate() {
        for (si, st) in policy.statements.iter().enumerate() {
            if st.principals.is_some() {
                continue; // a key policy given as a RAM policy: never applies
            }
            let all = 0..scan.resources.len();
            if let Some(deny) = scan.statement(st, (pi, si), all, &mut allowed) {
                return deny;
            }
        }
    }
    let caller: Vec<char> = caller.chars().collect();
    for (ki, kp) in key_policies.iter().enumerate() {
        if kp.resource >= scan.resources.len() {
            continue;
        }
        for (si, st) in kp.policy.policy().statements.iter().enumerate() {
            let Some(principals) = &st.principals else {
                continue;
            };
            let reference = (policies.len() + ki, si);
            let only = kp.resource..kp.resource + 1;
            match principals.matches(&caller) {
                PrincipalMatch::None => {}
                PrincipalMatch::Named => {
                    if let Some(deny) = scan.statement(st, reference, only, &mut allowed) {
                        return deny;
                    }
                }
                PrincipalMatch::Account => {
                    // Only its Deny counts: an account-wide Allow defers to the RAM policies.
                    let mut ignored = vec![None; scan.resources.len()];
                    if let Some(deny) = scan.statement(st, reference, only, &mut ignored) {
                        return deny;
                    }
                }
            }
        }
    }

    match allowed.iter().position(Option::is_none) {
        Some(r) => Decision::ImplicitDeny { resource: Some(r) },
        None => Decision::Allow {
            statements: allowed.into_iter().flatten().collect(),
        },
    }
}

/// A request prepared for matching.
struct Scan<'a> {
    action: Vec<char>,
    resources: Vec<Vec<char>>,
    facts: Facts<'a>,
}

impl Scan<'_> {
    /// Applies one statement to the resources in `range`: a matching `Deny` is returned, a
    /// matching `Allow` fills the empty slots of `allowed`.
    fn statement(
        &self,
        st: &Statement,
        (pi, si): (usize, usize),
        range: std::ops::Range<usize>,
        allowed: &mut [Option<StatementRef>],
    ) -> Option<Decision> {
        if !st.applies_to_action(&self.action) {
            return None;
        }
        let reference = || StatementRef {
            policy: pi,
            statement: si,
            sid: st.sid.clone(),
        };
        let resources = self.resources.get(range.clone())?;
        match st.effect {
            Effect::Deny => {
                let hit = resources.iter().position(|r| st.applies_to_resource(r))?;
                (evaluate_all(&st.conditions, &self.facts) != Outcome::NoMatch).then(|| {
                    Decision::ExplicitDeny {
                        statement: reference(),
                        resource: range.start + hit,
                    }
                })
            }
            Effect::Allow => {
                // Evaluate conditions at most once, and only if a resource still needs it.
                let mut holds = None;
                let slots = allowed.get_mut(range)?;
                for (slot, r) in slots.iter_mut().zip(resources) {
                    if slot.is_some() || !st.applies_to_resource(r) {
                        continue;
                    }
                    let ok = *holds.get_or_insert_with(|| {
                        evaluate_all(&st.conditions, &self.facts) == Outcome::Match
                    });
                    if ok {
                        *slot = Some(reference());
                    }
                }
                None
            }
        }
    }
}
