//! The RAM API (product `Ram`, version 2015-05-01) on the same endpoint as KMS: users, their
//! access keys, custom policies with versions, and policy attachments, so that the official RAM
//! SDKs manage keywarden unchanged. One file per group of actions; [`dispatch`] maps names to
//! functions. Authorization happens before (see `crate::authz`); every change that affects a
//! caller's permissions or credentials invalidates the caches at once.

mod access_keys;
mod attachments;
pub mod error;
pub mod params;
mod policies;
mod policy_versions;
mod users;

pub use error::{Problem, RamError};

use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::Body;
use crate::request::ApiRequest;

/// The RAM API version.
pub const RAM_VERSION: &str = "2015-05-01";

/// Most access keys a user may have (RAM's limit).
pub const MAX_ACCESS_KEYS_PER_USER: u64 = 2;

/// Most versions a custom policy may have (RAM's limit).
pub const MAX_POLICY_VERSIONS: u64 = 5;

/// Every RAM action keywarden implements.
pub const ACTIONS: &[&str] = &[
    "CreateUser",
    "GetUser",
    "ListUsers",
    "UpdateUser",
    "DeleteUser",
    "CreateAccessKey",
    "ListAccessKeys",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "CreatePolicy",
    "GetPolicy",
    "ListPolicies",
    "DeletePolicy",
    "CreatePolicyVersion",
    "GetPolicyVersion",
    "ListPolicyVersions",
    "DeletePolicyVersion",
    "SetDefaultPolicyVersion",
    "AttachPolicyToUser",
    "DetachPolicyFromUser",
    "ListPoliciesForUser",
];

/// Runs RAM `action` for `caller` (already authorized).
pub async fn dispatch(
    kms: &Kms,
    caller: &Caller,
    action: &str,
    req: &ApiRequest,
) -> Result<Body, ApiError> {
    match action {
        "CreateUser" => users::create(kms, req).await,
        "GetUser" => users::get(kms, req).await,
        "ListUsers" => users::list(kms, req).await,
        "UpdateUser" => users::update(kms, req).await,
        "DeleteUser" => users::delete(kms, req).await,
        "CreateAccessKey" => access_keys::create(kms, caller, req).await,
        "ListAccessKeys" => access_keys::list(kms, caller, req).await,
        "UpdateAccessKey" => access_keys::update(kms, caller, req).await,
        "DeleteAccessKey" => access_keys::delete(kms, caller, req).await,
        "CreatePolicy" => policies::create(kms, req).await,
        "GetPolicy" => policies::get(kms, req).await,
        "ListPolicies" => policies::list(kms, req).await,
        "DeletePolicy" => policies::delete(kms, req).await,
        "CreatePolicyVersion" => policy_versions::create(kms, req).await,
        "GetPolicyVersion" => policy_versions::get(kms, req).await,
        "ListPolicyVersions" => policy_versions::list(kms, req).await,
        "DeletePolicyVersion" => policy_versions::delete(kms, req).await,
        "SetDefaultPolicyVersion" => policy_versions::set_default(kms, req).await,
        "AttachPolicyToUser" => attachments::attach(kms, req).await,
        "DetachPolicyFromUser" => attachments::detach(kms, req).await,
        "ListPoliciesForUser" => attachments::list_for_user(kms, req).await,
        _ => Err(ApiError::ActionNotFound),
    }
}

/// `acs:ram:*:<account>:user/<name>`.
pub fn user_arn(kms: &Kms, user_name: &str) -> String {
    format!("acs:ram:*:{}:user/{user_name}", kms.realm.account)
}

/// `acs:ram:*:<account>:policy/<name>`.
pub fn policy_arn(kms: &Kms, policy_name: &str) -> String {
    format!("acs:ram:*:{}:policy/{policy_name}", kms.realm.account)
}

/// A RAM date (`YYYY-MM-DDThh:mm:ssZ`).
fn date(unix: i64) -> Value {
    json!(keywarden_core::dates::format_unix(unix))
}

/// The list of `items` under `{outer: {inner: [...]}}`, with `IsTruncated` and, when truncated,
/// the `Marker` of the next page.
fn paged(outer: &str, inner: &str, items: Vec<Value>, next: Option<String>) -> Body {
    let mut body = Body::new();
    body.insert("IsTruncated".into(), json!(next.is_some()));
    if let Some(marker) = next {
        body.insert("Marker".into(), json!(marker));
    }
    body.insert(outer.into(), json!({ inner: items }));
    body
}
