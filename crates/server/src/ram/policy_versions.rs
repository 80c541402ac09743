//! CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions, DeletePolicyVersion and
//! SetDefaultPolicyVersion. A custom policy has at most [`MAX_POLICY_VERSIONS`] versions; the
//! default one is what the policy grants, so a new default applies to every caller at once.

use keywarden_store::{StoreError, VersionOptions};
use serde_json::{Value, json};

use super::params::{PolicyType, policy_document, policy_name, policy_type, version_id};
use super::policies::{custom, render_version, system, system_version};
use super::{MAX_POLICY_VERSIONS, Problem, RamError};
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::{Body, body};
use crate::request::ApiRequest;

/// CreatePolicyVersion: `SetAsDefault` (default false), `RotateStrategy` `None` (default) or
/// `DeleteOldestNonDefaultVersionWhenLimitExceeded`.
pub async fn create(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let name = policy_name(req)?;
    let document = policy_document(req)?;
    let set_default = req.bool("SetAsDefault")?.unwrap_or(false);
    let rotate = match req.optional("RotateStrategy") {
        None | Some("None") => false,
        Some("DeleteOldestNonDefaultVersionWhenLimitExceeded") => true,
        Some(_) => {
            return Err(RamError::invalid(
                "RotateStrategy",
                Problem::Format,
                "must be None or DeleteOldestNonDefaultVersionWhenLimitExceeded",
            ));
        }
    };
    let options = VersionOptions {
        set_default,
        rotate,
        max_versions: MAX_POLICY_VERSIONS,
    };
    let version = kms
        .store
        .add_policy_version(name, document, kms.now(), options)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => RamError::PolicyNotFound.into(),
            StoreError::LimitExceeded => RamError::PolicyVersionLimit(MAX_POLICY_VERSIONS).into(),
            other => ApiError::from(other),
        })?;
    if set_default {
        kms.authz.invalidate_all();
    }
    Ok(body([(
        "PolicyVersion",
        render_version(&version, set_default),
    )]))
}

/// GetPolicyVersion.
pub async fn get(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let name = policy_name(req)?;
    let kind = policy_type(req)?;
    let id = version_id(req)?;
    let version = match kind {
        PolicyType::System => {
            let p = system(name)?;
            if id != "v1" {
                return Err(RamError::PolicyVersionNotFound.into());
            }
            system_version(p)
        }
        PolicyType::Custom => {
            let p = custom(kms, name).await?;
            let v = kms
                .store
                .get_policy_version(name, id)
                .await?
                .ok_or(RamError::PolicyVersionNotFound)?;
            render_version(&v, v.version_id == p.default_version)
        }
    };
    Ok(body([("PolicyVersion", version)]))
}

/// ListPolicyVersions: oldest first.
pub async fn list(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let name = policy_name(req)?;
    let items: Vec<Value> = match policy_type(req)? {
        PolicyType::System => vec![system_version(system(name)?)],
        PolicyType::Custom => {
            let p = custom(kms, name).await?;
            kms.store
                .list_policy_versions(name)
                .await?
                .iter()
                .map(|v| render_version(v, v.version_id == p.default_version))
                .collect()
        }
    };
    Ok(body([(
        "PolicyVersions",
        json!({ "PolicyVersion": items }),
    )]))
}

/// DeletePolicyVersion: any version but the default.
pub async fn delete(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let name = policy_name(req)?;
    let id = version_id(req)?;
    custom(kms, name).await?;
    kms.store
        .delete_policy_version(name, id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => RamError::PolicyVersionNotFound.into(),
            StoreError::Conflict => RamError::DefaultVersion.into(),
            other => ApiError::from(other),
        })?;
    Ok(Body::new())
}

/// SetDefaultPolicyVersion.
pub async fn set_default(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let name = policy_name(req)?;
    let id = version_id(req)?;
    custom(kms, name).await?;
    kms.store
        .set_default_policy_version(name, id, kms.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => RamError::PolicyVersionNotFound.into(),
            other => ApiError::from(other),
        })?;
    kms.authz.invalidate_all();
    Ok(Body::new())
}
