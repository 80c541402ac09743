//! CreatePolicy, GetPolicy, ListPolicies and DeletePolicy. System policies
//! (`keywarden_core::policy::SYSTEM_POLICIES`) are built in: one version `v1`, dated
//! [`SYSTEM_POLICY_DATE`], never changed or deleted; a custom policy cannot take one's name.

use keywarden_core::policy::{SYSTEM_POLICIES, SystemPolicy, system_policy};
use keywarden_store::{POLICY_CUSTOM, PolicyRecord, PolicyVersionRecord, StoreError};
use serde_json::{Value, json};

use super::params::{
    self, MAX_DESCRIPTION, PolicyType, optional_policy_type, policy_document, policy_name,
    policy_type, refuse_tags, text,
};
use super::{RamError, date, paged};
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::{Body, body};
use crate::request::ApiRequest;

/// The creation and update date shown for system policies (2015-05-01T00:00:00Z, the RAM API
/// version's date).
pub const SYSTEM_POLICY_DATE: i64 = 1_430_438_400;

/// CreatePolicy: a custom policy with version `v1` as its default.
pub async fn create(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let name = policy_name(req)?;
    let document = policy_document(req)?;
    let description = text(req, "Description", MAX_DESCRIPTION)?.unwrap_or_default();
    refuse_tags(req)?;
    if system_policy(name).is_some() {
        return Err(RamError::PolicyExists.into());
    }
    let now = kms.now();
    let policy = PolicyRecord {
        policy_name: name.to_owned(),
        description: description.to_owned(),
        default_version: "v1".into(),
        create_date: now,
        update_date: now,
    };
    let version = PolicyVersionRecord {
        policy_name: name.to_owned(),
        version_id: "v1".into(),
        document: document.to_owned(),
        create_date: now,
    };
    kms.store
        .create_policy(&policy, &version)
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists => RamError::PolicyExists.into(),
            other => ApiError::from(other),
        })?;
    Ok(body([(
        "Policy",
        json!({
            "PolicyName": policy.policy_name,
            "PolicyType": POLICY_CUSTOM,
            "Description": policy.description,
            "DefaultVersion": policy.default_version,
            "CreateDate": date(now),
        }),
    )]))
}

/// GetPolicy: the policy, its attachment count, and its default version with the document.
pub async fn get(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let name = policy_name(req)?;
    let kind = policy_type(req)?;
    let (summary, version) = match kind {
        PolicyType::System => {
            let p = system(name)?;
            (system_summary(kms, p).await?, system_version(p))
        }
        PolicyType::Custom => {
            let p = custom(kms, name).await?;
            let v = kms
                .store
                .get_policy_version(name, &p.default_version)
                .await?
                .ok_or(RamError::PolicyVersionNotFound)?;
            (custom_summary(kms, &p).await?, render_version(&v, true))
        }
    };
    let mut policy = summary;
    policy["PolicyDocument"] = version["PolicyDocument"].clone();
    Ok(body([
        ("Policy", policy),
        ("DefaultPolicyVersion", version),
    ]))
}

/// ListPolicies: system policies (by name) then custom ones (by name), optionally only one
/// `PolicyType`; `MaxItems` a page, `Marker` to go on.
pub async fn list(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let only = optional_policy_type(req)?;
    refuse_tags(req)?;
    let (marker, max) = params::page(req)?;
    // The marker is `<PolicyType>:<last name>`.
    let (after_type, after_name) = match marker.as_deref().map(|m| m.split_once(':')) {
        None => (None, None),
        Some(Some((t @ ("System" | "Custom"), n))) => (Some(t), Some(n.to_owned())),
        Some(_) => {
            return Err(RamError::invalid(
                "Marker",
                super::Problem::Format,
                "is not a marker this server issued",
            ));
        }
    };
    let want = usize::try_from(max).unwrap_or(usize::MAX).saturating_add(1);
    let mut rows: Vec<(PolicyType, String, Value)> = Vec::new();
    if only != Some(PolicyType::Custom) && after_type != Some("Custom") {
        let mut systems: Vec<&SystemPolicy> = SYSTEM_POLICIES.iter().collect();
        systems.sort_by_key(|p| p.name);
        for p in systems
            .into_iter()
            .filter(|p| after_name.as_deref().is_none_or(|a| p.name > a))
            .take(want)
        {
            rows.push((
                PolicyType::System,
                p.name.to_owned(),
                system_summary(kms, p).await?,
            ));
        }
    }
    if only != Some(PolicyType::System) && rows.len() < want {
        let after = if after_type == Some("Custom") {
            after_name.as_deref()
        } else {
            None
        };
        let left = (want - rows.len()) as u64;
        for p in kms.store.list_policies(after, left).await? {
            rows.push((
                PolicyType::Custom,
                p.policy_name.clone(),
                custom_summary(kms, &p).await?,
            ));
        }
    }
    let next = if rows.len() >= want {
        rows.truncate(want - 1);
        rows.last()
            .map(|(t, n, _)| params::encode_marker(&format!("{}:{n}", t.as_str())))
    } else {
        None
    };
    let items = rows.into_iter().map(|(_, _, v)| v).collect();
    Ok(paged("Policies", "Policy", items, next))
}

/// DeletePolicy: a custom policy that is not attached and has only its default version, or
/// with `CascadingDelete=true` any custom policy (its attachments and versions go too).
pub async fn delete(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let name = policy_name(req)?;
    let cascade = req.bool("CascadingDelete")?.unwrap_or(false);
    match kms.store.delete_policy(name, cascade).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(RamError::PolicyNotFound.into()),
        Err(StoreError::Conflict) => {
            return Err(
                if kms.store.count_attachments(POLICY_CUSTOM, name).await? > 0 {
                    RamError::PolicyAttached.into()
                } else {
                    RamError::PolicyHasVersions.into()
                },
            );
        }
        Err(other) => return Err(other.into()),
    }
    kms.authz.invalidate_all();
    Ok(Body::new())
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

async fn system_summary(kms: &Kms, p: &SystemPolicy) -> Result<Value, ApiError> {
    let count = kms
        .store
        .count_attachments(PolicyType::System.as_str(), p.name)
        .await?;
    Ok(json!({
        "PolicyName": p.name,
        "PolicyType": PolicyType::System.as_str(),
        "Description": p.description,
        "DefaultVersion": "v1",
        "AttachmentCount": count,
        "CreateDate": date(SYSTEM_POLICY_DATE),
        "UpdateDate": date(SYSTEM_POLICY_DATE),
    }))
}

async fn custom_summary(kms: &Kms, p: &PolicyRecord) -> Result<Value, ApiError> {
    let count = kms
        .store
        .count_attachments(POLICY_CUSTOM, &p.policy_name)
        .await?;
    Ok(json!({
        "PolicyName": p.policy_name,
        "PolicyType": POLICY_CUSTOM,
        "Description": p.description,
        "DefaultVersion": p.default_version,
        "AttachmentCount": count,
        "CreateDate": date(p.create_date),
        "UpdateDate": date(p.update_date),
    }))
}

/// The one version of a system policy.
pub fn system_version(p: &SystemPolicy) -> Value {
    json!({
        "VersionId": "v1",
        "IsDefaultVersion": true,
        "PolicyDocument": p.document,
        "CreateDate": date(SYSTEM_POLICY_DATE),
    })
}

/// A version of a custom policy.
pub fn render_version(v: &PolicyVersionRecord, is_default: bool) -> Value {
    json!({
        "VersionId": v.version_id,
        "IsDefaultVersion": is_default,
        "PolicyDocument": v.document,
        "CreateDate": date(v.create_date),
    })
}
