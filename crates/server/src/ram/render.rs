//! Users, policies, policy versions and pages as the RAM API answers them.

use keywarden_core::policy::SystemPolicy;
use keywarden_store::{POLICY_CUSTOM, PolicyRecord, PolicyVersionRecord, UserRecord};
use serde_json::{Value, json};

use super::params::PolicyType;
use crate::action::Body;
use crate::error::ApiError;
use crate::kms::Kms;

/// The creation and update date shown for system policies (2015-05-01T00:00:00Z, the RAM API
/// version's date).
pub const SYSTEM_POLICY_DATE: i64 = 1_430_438_400;

/// A RAM date (`YYYY-MM-DDThh:mm:ssZ`).
pub fn date(unix: i64) -> Value {
    json!(keywarden_core::dates::format_unix(unix))
}

/// The list of `items` under `{outer: {inner: [...]}}`, with `IsTruncated` and, when truncated,
/// the `Marker` of the next page.
pub fn paged(outer: &str, inner: &str, items: Vec<Value>, next: Option<String>) -> Body {
    let mut body = Body::new();
    body.insert("IsTruncated".into(), json!(next.is_some()));
    if let Some(marker) = next {
        body.insert("Marker".into(), json!(marker));
    }
    body.insert(outer.into(), json!({ inner: items }));
    body
}

/// A user; with `UpdateDate` unless it was just created.
pub fn user(user: &UserRecord, with_update: bool) -> Value {
    let mut v = json!({
        "UserId": user.user_id,
        "UserName": user.user_name,
        "DisplayName": user.display_name,
        "MobilePhone": user.mobile_phone,
        "Email": user.email,
        "Comments": user.comments,
        "CreateDate": date(user.create_date),
    });
    if with_update {
        v["UpdateDate"] = date(user.update_date);
    }
    v
}

/// A system policy with its attachment count.
pub async fn system_summary(kms: &Kms, p: &SystemPolicy) -> Result<Value, ApiError> {
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

/// A custom policy with its attachment count.
pub async fn custom_summary(kms: &Kms, p: &PolicyRecord) -> Result<Value, ApiError> {
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
pub fn custom_version(v: &PolicyVersionRecord, is_default: bool) -> Value {
    json!({
        "VersionId": v.version_id,
        "IsDefaultVersion": is_default,
        "PolicyDocument": v.document,
        "CreateDate": date(v.create_date),
    })
}

/// A version of custom policy `p`, marked default when it is.
pub fn version_of(p: &PolicyRecord, v: &PolicyVersionRecord) -> Value {
    custom_version(v, v.version_id == p.default_version)
}
