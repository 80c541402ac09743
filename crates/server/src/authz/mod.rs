//! Authorization: every KMS and RAM call is checked against the caller's policies **before** its
//! operation runs, so a denied call answers 403 `Forbidden.NoPermission` and does nothing (a
//! `DryRun` of a denied call too).
//!
//! 1. The resources: each action's [`Operation::targets`](crate::action::Operation::targets)
//!    names the ARNs its *resolved* values touch, with the request's encryption context where
//!    the action has one (`crate::resolve`: a key named by alias is authorized as the key the
//!    alias resolves to, and the operation then acts on that same key).
//! 2. The caller's policies ([`Authz::policies_of`]): the system policies and the default
//!    versions of the custom policies attached to the caller's user, parsed once and cached per
//!    user for the cache TTL. Local RAM changes invalidate at once (a change to a user's
//!    attachments drops that user; a change to a policy's versions or its deletion drops every
//!    user), and a load that raced with an invalidation is not cached, so the next call, also on
//!    an open connection, sees the change. Other servers on the same store see it within the TTL.
//! 3. [`keywarden_core::policy::evaluate`] with the condition values `acs:SourceIp` (the TCP
//!    peer), `acs:SecureTransport` (whether the server serves TLS), `acs:CurrentTime`
//!    (`Kms::now`) and the encryption context: explicit Deny wins, then every resource needs an
//!    Allow, else the call is denied.
//! 4. Key policies ([`Access`]): the stored policy of each key a target names is evaluated with
//!    the RAM policies (explicit Deny in either wins; an Allow comes from RAM or from the key
//!    policy naming the caller), and lists leave out what the caller is explicitly denied.

mod access;

pub use access::{Access, KeyPolicies, key_id_of, key_policies_of};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use keywarden_core::policy::{Policy, system_policy};
use keywarden_store::{KeyStore, POLICY_CUSTOM, POLICY_SYSTEM, PRINCIPAL_USER};

use crate::cache::TtlCache;
use crate::error::ApiError;

/// One set of resources that must all be allowed, with the encryption context that goes with
/// them (`None` when the action has none). Most calls have one target; ReEncrypt has two (the
/// source key with the source context, the destination key with the destination context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// ARNs.
    pub resources: Vec<String>,
    /// `kms:EncryptionContext.*` values.
    pub context: Option<BTreeMap<String, String>>,
}

impl Target {
    /// Resources without an encryption context.
    pub fn of(resources: Vec<String>) -> Self {
        Self {
            resources,
            context: None,
        }
    }
}

/// The caller's effective policies, cached per user.
pub struct Authz {
    policies: TtlCache<String, Vec<Policy>>,
    secure_transport: AtomicBool,
}

impl Authz {
    /// An empty cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            policies: TtlCache::new(ttl, 10_000),
            secure_transport: AtomicBool::new(false),
        }
    }

    /// Whether requests arrive over TLS (the value of `acs:SecureTransport`).
    pub fn set_secure_transport(&self, tls: bool) {
        self.secure_transport.store(tls, Ordering::SeqCst);
    }

    /// Forgets the cached policies of one user (after its attachments changed).
    pub fn invalidate_user(&self, user_name: &str) {
        self.policies.remove(user_name);
    }

    /// Forgets every user's cached policies (after a policy's document changed or it was
    /// deleted).
    pub fn invalidate_all(&self) {
        self.policies.remove_where(|_, _| true);
    }

    /// The policies in force for `user_name`.
    pub async fn policies_of(
        &self,
        store: &dyn KeyStore,
        user_name: &str,
    ) -> Result<Arc<Vec<Policy>>, ApiError> {
        // An invalidation while loading may make what was read stale: then it serves this call
        // only (it was read after the call began) and is not cached (`TtlCache::get_or_load`).
        self.policies
            .get_or_load(user_name, load_policies(store, user_name))
            .await
    }
}

/// Reads the policies attached to a user: system policies by name, custom ones at their
/// default version. A custom document that no longer parses (it was valid when stored) is
/// skipped, which can only take permissions away.
async fn load_policies(store: &dyn KeyStore, user_name: &str) -> Result<Vec<Policy>, ApiError> {
    let attachments = store.list_attachments(PRINCIPAL_USER, user_name).await?;
    let mut policies = Vec::with_capacity(attachments.len());
    for a in attachments {
        match a.policy_type.as_str() {
            POLICY_SYSTEM => {
                if let Some(p) = system_policy(&a.policy_name) {
                    policies.push(p.policy());
                }
            }
            POLICY_CUSTOM => {
                let Some(policy) = store.get_policy(&a.policy_name).await? else {
                    continue;
                };
                let Some(version) = store
                    .get_policy_version(&a.policy_name, &policy.default_version)
                    .await?
                else {
                    continue;
                };
                match Policy::parse(&version.document) {
                    Ok(p) => policies.push(p),
                    Err(e) => tracing::warn!(
                        policy = a.policy_name,
                        version = version.version_id,
                        error = %e,
                        "stored policy does not parse; ignored"
                    ),
                }
            }
            _ => {}
        }
    }
    Ok(policies)
}

/// Where a call comes from and when: the condition values besides the encryption context.
#[derive(Debug, Clone, Copy)]
pub struct Conditions {
    /// The TCP peer (`acs:SourceIp`).
    pub peer: Option<std::net::SocketAddr>,
    /// Whether the server serves TLS (`acs:SecureTransport`).
    pub secure_transport: bool,
    /// Unix seconds (`acs:CurrentTime`).
    pub now: i64,
}

impl Authz {
    /// Whether requests arrive over TLS.
    pub fn secure_transport(&self) -> bool {
        self.secure_transport.load(Ordering::SeqCst)
    }
}
