//! TagResource, UntagResource and ListResourceTags: the tags of one key, named by `KeyId`
//! (keywarden has no secrets or certificates, so `SecretName` and `CertificateId` are refused).
//! Tag changes are refused while the key is pending deletion; listing works in every state.

use keywarden_core::lifecycle::Requirement;
use keywarden_store::{KeyRecord, StoreError};
use serde_json::{Value, json};

use super::{Body, body, tagging};
use crate::error::ApiError;
use crate::kms::{Kms, require};
use crate::request::ApiRequest;

/// TagResource: sets tags (`Tags`, JSON) on a key; an existing tag key takes the new value.
pub async fn tag(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let key_ref = resource(req)?;
    req.required("Tags")?;
    let tags = tagging::tags_json(req, "Tags")?;
    if tags.is_empty() {
        return Err(ApiError::invalid("Tags", "give at least one tag"));
    }
    let key = mutable_key(kms, key_ref).await?;
    kms.store
        .put_tags(&key.key_id, &tags)
        .await
        .map_err(not_found)?;
    Ok(Body::new())
}

/// UntagResource: removes tag keys (`TagKeys`, JSON array) from a key; absent ones are ignored.
pub async fn untag(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let key_ref = resource(req)?;
    let tag_keys = tagging::tag_keys_json(req, "TagKeys")?;
    let key = mutable_key(kms, key_ref).await?;
    kms.store
        .delete_tags(&key.key_id, &tag_keys)
        .await
        .map_err(not_found)?;
    Ok(Body::new())
}

/// ListResourceTags: `{"Tags":{"Tag":[{"KeyId","TagKey","TagValue"}]}}`, by tag key.
pub async fn list(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let key = kms.resolve(req.required("KeyId")?).await?;
    let tags = kms.store.list_tags(&key.key_id).await?;
    let items: Vec<Value> = tags
        .iter()
        .map(|t| json!({ "KeyId": key.key_id, "TagKey": t.tag_key, "TagValue": t.tag_value }))
        .collect();
    Ok(body([("Tags", json!({ "Tag": items }))]))
}

/// The key reference of a single-resource tag call: exactly one of `KeyId`, `SecretName`,
/// `CertificateId`, and only keys are supported.
fn resource(req: &ApiRequest) -> Result<&str, ApiError> {
    let given: Vec<&'static str> = ["KeyId", "SecretName", "CertificateId"]
        .into_iter()
        .filter(|name| req.optional(name).is_some())
        .collect();
    match given.as_slice() {
        [] => Err(ApiError::MissingParameter("KeyId")),
        ["KeyId"] => req.required("KeyId"),
        [one] => Err(ApiError::invalid(
            unsupported(one),
            "only keys are supported: keywarden has no secrets or certificates",
        )),
        _ => Err(ApiError::invalid(
            "KeyId",
            "give only one of KeyId, SecretName and CertificateId",
        )),
    }
}

fn unsupported(name: &str) -> &'static str {
    if name == "SecretName" {
        "SecretName"
    } else {
        "CertificateId"
    }
}

/// The key, which must not be pending deletion.
pub async fn mutable_key(kms: &Kms, key_ref: &str) -> Result<std::sync::Arc<KeyRecord>, ApiError> {
    let key = kms.resolve(key_ref).await?;
    require(&key, Requirement::Mutable)?;
    Ok(key)
}

/// A key that vanished between resolving and writing.
pub fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::KeyNotFound,
        other => other.into(),
    }
}
