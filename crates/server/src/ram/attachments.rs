//! AttachPolicyToUser, DetachPolicyFromUser and ListPoliciesForUser. A change applies to the
//! user's next call at once (its cached policies are dropped).

use keywarden_store::{AttachmentRecord, POLICY_SYSTEM, PRINCIPAL_USER, StoreError};
use serde_json::{Value, json};

use super::params::{PolicyType, policy_name, policy_type, user_name};
use super::policies::{custom, system};
use super::users::existing;
use super::{RamError, date};
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::{Body, body};
use crate::request::ApiRequest;

/// AttachPolicyToUser.
pub async fn attach(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let (kind, policy, user) = names(req)?;
    check_policy(kms, kind, policy).await?;
    existing(kms, user).await?;
    let attachment = AttachmentRecord {
        principal_type: PRINCIPAL_USER.into(),
        principal_name: user.to_owned(),
        policy_type: kind.as_str().into(),
        policy_name: policy.to_owned(),
        attach_date: kms.now(),
    };
    let attached = kms.store.attach_policy(&attachment).await;
    kms.authz.invalidate_user(user);
    attached.map_err(|e| match e {
        StoreError::AlreadyExists => RamError::AlreadyAttached.into(),
        StoreError::NotFound => RamError::UserNotFound.into(),
        other => ApiError::from(other),
    })?;
    Ok(Body::new())
}

/// DetachPolicyFromUser.
pub async fn detach(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let (kind, policy, user) = names(req)?;
    check_policy(kms, kind, policy).await?;
    existing(kms, user).await?;
    let detached = kms
        .store
        .detach_policy(PRINCIPAL_USER, user, kind.as_str(), policy)
        .await;
    kms.authz.invalidate_user(user);
    detached.map_err(|e| match e {
        StoreError::NotFound => RamError::NotAttached.into(),
        other => ApiError::from(other),
    })?;
    Ok(Body::new())
}

/// ListPoliciesForUser: every policy attached to the user, oldest attachment first.
pub async fn list_for_user(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let user = user_name(req, "UserName")?;
    existing(kms, user).await?;
    let mut items: Vec<Value> = Vec::new();
    for a in kms.store.list_attachments(PRINCIPAL_USER, user).await? {
        let (description, default_version) = if a.policy_type == POLICY_SYSTEM {
            match system(&a.policy_name) {
                Ok(p) => (p.description.to_owned(), "v1".to_owned()),
                Err(_) => continue,
            }
        } else {
            match kms.store.get_policy(&a.policy_name).await? {
                Some(p) => (p.description, p.default_version),
                None => continue,
            }
        };
        items.push(json!({
            "PolicyName": a.policy_name,
            "PolicyType": a.policy_type,
            "Description": description,
            "DefaultVersion": default_version,
            "AttachDate": date(a.attach_date),
        }));
    }
    Ok(body([("Policies", json!({ "Policy": items }))]))
}

fn names(req: &ApiRequest) -> Result<(PolicyType, &str, &str), ApiError> {
    Ok((
        policy_type(req)?,
        policy_name(req)?,
        user_name(req, "UserName")?,
    ))
}

async fn check_policy(kms: &Kms, kind: PolicyType, name: &str) -> Result<(), ApiError> {
    match kind {
        PolicyType::System => system(name).map(|_| ()),
        PolicyType::Custom => custom(kms, name).await.map(|_| ()),
    }
}
