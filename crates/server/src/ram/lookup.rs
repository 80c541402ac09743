//! The entities RAM names refer to, or the `EntityNotExist.*` code of a missing one. Called by
//! the runs, after authorization: a caller learns what exists only where it is allowed.

use keywarden_core::policy::{SystemPolicy, system_policy};
use keywarden_store::{AccessKeyRecord, PolicyRecord, PolicyVersionRecord, UserRecord};

use super::RamError;
use super::params::{AttachmentRef, PolicyType};
use crate::error::ApiError;
use crate::kms::Kms;

/// The user called `name`, or `EntityNotExist.User`.
pub async fn user(kms: &Kms, name: &str) -> Result<UserRecord, ApiError> {
    kms.store
        .get_user(name)
        .await?
        .ok_or_else(|| RamError::UserNotFound.into())
}

/// The system policy called `name`, or `EntityNotExist.Policy`.
pub fn system(name: &str) -> Result<&'static SystemPolicy, ApiError> {
    system_policy(name).ok_or_else(|| RamError::PolicyNotFound.into())
}

/// The custom policy called `name`, or `EntityNotExist.Policy`.
pub async fn custom(kms: &Kms, name: &str) -> Result<PolicyRecord, ApiError> {
    kms.store
        .get_policy(name)
        .await?
        .ok_or_else(|| RamError::PolicyNotFound.into())
}

/// Version `id` of custom policy `name`, or `EntityNotExist.Policy.Version`.
pub async fn version(kms: &Kms, name: &str, id: &str) -> Result<PolicyVersionRecord, ApiError> {
    kms.store
        .get_policy_version(name, id)
        .await?
        .ok_or_else(|| RamError::PolicyVersionNotFound.into())
}

/// Whether the policy `name` of type `kind` exists (`EntityNotExist.Policy` if not).
pub async fn policy(kms: &Kms, kind: PolicyType, name: &str) -> Result<(), ApiError> {
    match kind {
        PolicyType::System => system(name).map(|_| ()),
        PolicyType::Custom => custom(kms, name).await.map(|_| ()),
    }
}

/// The access key `id` of `user_name`: `EntityNotExist.User` if the user is absent,
/// `EntityNotExist.User.AccessKey` if the key is absent or another user's.
pub async fn owned_key(kms: &Kms, user_name: &str, id: &str) -> Result<AccessKeyRecord, ApiError> {
    user(kms, user_name).await?;
    match kms.store.get_access_key(id).await? {
        Some(k) if k.user_name == user_name => Ok(k),
        _ => Err(RamError::AccessKeyNotFound.into()),
    }
}

/// Whether the policy and the user of an attachment exist, in that order.
pub async fn parties(kms: &Kms, a: &AttachmentRef) -> Result<(), ApiError> {
    policy(kms, a.kind, &a.policy).await?;
    user(kms, &a.user).await.map(|_| ())
}
