//! One call's access: the caller's RAM policies, its principal ARN and the condition values,
//! checked together with the key policies of the keys the call names.
//!
//! The rule (`keywarden_core::policy::evaluate_with_key_policies`): an explicit `Deny` in a RAM
//! policy or in a key policy (through a principal matching the caller) wins; otherwise every
//! resource needs an `Allow` from a RAM policy, or from a key-policy statement whose principal
//! names the caller (an account-wide principal, as in the default key policy, defers to RAM);
//! otherwise the call is denied.
//!
//! Lists use the same decision item by item ([`Access::hides`]): an item is left out when the
//! list's action is explicitly denied on it (its key, its alias, its user or policy), so a Deny
//! on a key hides it from ListKeys, ListAliases and ListTagResources alike. Listing itself is
//! granted on the collection (`acs:kms:<r>:<a>:key`), so a caller allowed to list sees every
//! item nothing denies.

use std::sync::Arc;

use keywarden_core::model::Realm;
use keywarden_core::policy::{
    Decision, KeyPolicy, KeyPolicyRef, Policy, RequestContext, evaluate_with_key_policies,
    user_principal,
};

use super::{Conditions, Target};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::kms::Kms;

/// The key policies of one target's resources: `(index in the resources, policy)`.
pub type KeyPolicies = Vec<(usize, Arc<KeyPolicy>)>;

/// What authorizes one call (and filters what its lists show).
pub struct Access {
    policies: Arc<Vec<Policy>>,
    principal: String,
    user_name: String,
    conditions: Conditions,
}

impl Access {
    /// The access of `caller` with its RAM `policies`, in `realm`'s account.
    pub fn new(
        policies: Arc<Vec<Policy>>,
        caller: &Caller,
        realm: &Realm,
        conditions: Conditions,
    ) -> Self {
        Self {
            policies,
            principal: user_principal(&realm.account, &caller.user_name),
            user_name: caller.user_name.clone(),
            conditions,
        }
    }

    /// `Forbidden.NoPermission` unless every target is allowed (key policies included).
    pub async fn authorize(
        &self,
        kms: &Kms,
        action: &str,
        targets: Vec<Target>,
    ) -> Result<(), ApiError> {
        if targets.is_empty() {
            return Err(ApiError::NoPermission);
        }
        for target in targets {
            let key_policies = key_policies_of(kms, &target.resources).await?;
            let ctx = self.context(action, target);
            let decision = self.evaluate(&ctx, &key_policies);
            if !decision.is_allowed() {
                tracing::info!(
                    user = self.user_name,
                    action,
                    resources = ?ctx.resources,
                    decision = %decision,
                    "denied"
                );
                return Err(ApiError::NoPermission);
            }
        }
        Ok(())
    }

    /// The decision on one target, given its key policies (pure).
    pub fn decide(&self, action: &str, target: Target, key_policies: &KeyPolicies) -> Decision {
        self.evaluate(&self.context(action, target), key_policies)
    }

    /// The request context of `target`, with this call's condition values.
    fn context(&self, action: &str, target: Target) -> RequestContext {
        let mut ctx = RequestContext::new(action, target.resources)
            .with_secure_transport(self.conditions.secure_transport)
            .with_current_time(self.conditions.now);
        if let Some(peer) = self.conditions.peer {
            ctx = ctx.with_source_ip(peer.ip());
        }
        if let Some(context) = target.context {
            ctx = ctx.with_encryption_context(context);
        }
        ctx
    }

    fn evaluate(&self, ctx: &RequestContext, key_policies: &KeyPolicies) -> Decision {
        let refs: Vec<&Policy> = self.policies.iter().collect();
        let kps: Vec<KeyPolicyRef<'_>> = key_policies
            .iter()
            .map(|(resource, policy)| KeyPolicyRef {
                resource: *resource,
                policy,
            })
            .collect();
        evaluate_with_key_policies(&refs, &kps, &self.principal, ctx)
    }

    /// Whether a list leaves out an item with these `resources`: `action` is explicitly
    /// denied on one of them (the item's key policy, if it names a key, read through the
    /// cache).
    pub async fn hides(
        &self,
        kms: &Kms,
        action: &str,
        resources: Vec<String>,
    ) -> Result<bool, ApiError> {
        let key_policies = key_policies_of(kms, &resources).await?;
        Ok(self.hides_with(action, resources, &key_policies))
    }

    /// [`Access::hides`] with the key policies already at hand.
    pub fn hides_with(
        &self,
        action: &str,
        resources: Vec<String>,
        key_policies: &KeyPolicies,
    ) -> bool {
        matches!(
            self.decide(action, Target::of(resources), key_policies),
            Decision::ExplicitDeny { .. }
        )
    }

    /// Whether `policy`, as the key policy of the key `arn`, explicitly denies this caller
    /// `action` there (the lock-out check of SetKeyPolicy and CreateKey).
    pub fn key_policy_denies(&self, policy: &Arc<KeyPolicy>, arn: &str, action: &str) -> bool {
        let target = Target::of(vec![arn.to_owned()]);
        let own_only = Access {
            policies: Arc::new(Vec::new()),
            principal: self.principal.clone(),
            user_name: self.user_name.clone(),
            conditions: self.conditions,
        };
        matches!(
            own_only.decide(action, target, &vec![(0, Arc::clone(policy))]),
            Decision::ExplicitDeny { .. }
        )
    }
}

/// The stored policies of the keys among `resources` (keys with the default policy have none).
pub async fn key_policies_of(kms: &Kms, resources: &[String]) -> Result<KeyPolicies, ApiError> {
    let mut out = Vec::new();
    for (i, arn) in resources.iter().enumerate() {
        if let Some(key_id) = key_id_of(&kms.realm, arn) {
            if let Some(policy) = kms.key_policy(key_id).await? {
                out.push((i, policy));
            }
        }
    }
    Ok(out)
}

/// The key id of a key ARN of this realm (`acs:kms:<region>:<account>:key/<id>`).
pub fn key_id_of<'a>(realm: &Realm, arn: &'a str) -> Option<&'a str> {
    arn.strip_prefix("acs:kms:")?
        .strip_prefix(realm.region.as_str())?
        .strip_prefix(':')?
        .strip_prefix(realm.account.as_str())?
        .strip_prefix(":key/")
        .filter(|id| !id.is_empty())
}
