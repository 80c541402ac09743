//! SetKeyPolicy: replaces a key's policy (`PolicyName` may only be `default`). The policy is
//! JSON of at most 32,768 bytes in the key-policy language (`keywarden_core::policy`:
//! `Version` "1", statements with `Sid`, `Effect`, `Principal` `{"RAM": [...]}`, `Action`,
//! `Resource`, `Condition`); a malformed one is 400 `InvalidParameter` naming `Policy`.
//!
//! Lock-out check: a policy that explicitly denies its own author `kms:SetKeyPolicy` on the
//! key is refused (`InvalidParameter`), so whoever sets a policy can always change it again.
//! Allowed in every key state: tightening access must stay possible while a key waits to be
//! deleted.

use std::sync::Arc;

use keywarden_core::policy::KeyPolicy;
use keywarden_store::{KeyPolicyRecord, KeyRecord};

use super::shared::on_key_action;
use crate::action::{Call, Reply};
use crate::authz::Access;
use crate::error::ApiError;
use crate::key_policy::DEFAULT_POLICY_NAME;
use crate::request::ApiRequest;

/// A parsed `Policy` parameter: the document as given and its policy.
pub struct PolicyParam {
    /// The document, stored verbatim.
    pub document: String,
    /// Its parsed form.
    pub policy: Arc<KeyPolicy>,
}

on_key_action!(
    SetKeyPolicy,
    "SetKeyPolicy",
    PolicyParam,
    dry_run = false,
    parse = params,
    run = run
);

fn params(req: &ApiRequest) -> Result<PolicyParam, ApiError> {
    policy_name(req)?;
    let document = req.required("Policy")?;
    policy_param(document)
}

/// `PolicyName`, when given, must be `default`.
pub(super) fn policy_name(req: &ApiRequest) -> Result<(), ApiError> {
    match req.optional("PolicyName") {
        None | Some(DEFAULT_POLICY_NAME) => Ok(()),
        Some(other) => Err(ApiError::invalid(
            "PolicyName",
            format!("{other:?}: the only key policy is \"default\""),
        )),
    }
}

/// Parses a key-policy document (the `Policy` parameter of CreateKey and SetKeyPolicy).
pub(super) fn policy_param(document: &str) -> Result<PolicyParam, ApiError> {
    let policy =
        KeyPolicy::parse(document).map_err(|e| ApiError::invalid("Policy", e.to_string()))?;
    Ok(PolicyParam {
        document: document.to_owned(),
        policy: Arc::new(policy),
    })
}

/// Refuses a policy that would deny its author `kms:SetKeyPolicy` on the key `arn`.
pub(super) fn refuse_lock_out(access: &Access, p: &PolicyParam, arn: &str) -> Result<(), ApiError> {
    if access.key_policy_denies(&p.policy, arn, "kms:SetKeyPolicy") {
        return Err(ApiError::invalid(
            "Policy",
            "the policy denies you kms:SetKeyPolicy on the key, so nobody could change it again; \
             exclude kms:SetKeyPolicy (NotAction) or your principal from the Deny",
        ));
    }
    Ok(())
}

async fn run(key: &Arc<KeyRecord>, p: &PolicyParam, call: &Call<'_>) -> Result<Reply, ApiError> {
    refuse_lock_out(call.access, p, &call.kms.realm.key_arn(&key.key_id))?;
    call.kms
        .set_key_policy(&KeyPolicyRecord {
            key_id: key.key_id.clone(),
            document: p.document.clone(),
            update_date: call.kms.now(),
        })
        .await?;
    Ok(Reply::about(Default::default(), &key.key_id, None))
}
