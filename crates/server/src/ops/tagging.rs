//! Tag parameters shared by CreateKey, TagResource/UntagResource and the batch TagResources
//! family: the JSON forms (`Tags`, `TagKeys`), the flattened forms (`Tag.N.Key`, `TagKey.N`),
//! and the rules every tag obeys.

use std::collections::HashSet;
use std::sync::Arc;

use keywarden_core::lifecycle::Requirement;
use keywarden_store::{KeyRecord, StoreError, TagRecord};
use serde::Deserialize;

use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::{Kms, require};
use crate::request::{ApiRequest, plain_text};
use crate::resolve::KeyTarget;

/// Most tags one request may set (and most tag keys one request may name).
pub const MAX_TAGS: usize = 20;

/// Longest tag key or value, in characters.
pub const MAX_TAG_CHARS: usize = 128;

#[derive(Deserialize)]
struct WireTag {
    #[serde(rename = "TagKey")]
    key: String,
    #[serde(rename = "TagValue")]
    value: String,
}

/// The JSON tags parameter `param`: `[{"TagKey":"k","TagValue":"v"}, ...]`; absent or empty
/// gives no tags.
pub fn tags_json(req: &ApiRequest, param: &'static str) -> Result<Vec<TagRecord>, ApiError> {
    let Some(text) = req.optional(param) else {
        return Ok(Vec::new());
    };
    let wire: Vec<WireTag> = serde_json::from_str(text).map_err(|e| {
        ApiError::invalid(
            param,
            format!("must be a JSON array of {{\"TagKey\",\"TagValue\"}}: {e}"),
        )
    })?;
    let tags = wire
        .into_iter()
        .map(|t| tag(param, t.key, t.value))
        .collect::<Result<Vec<_>, _>>()?;
    check_set(param, tags.iter().map(|t| t.tag_key.as_str()))?;
    Ok(tags)
}

/// The flattened tags `Tag.N.Key` / `Tag.N.Value`; a missing value is the empty string.
pub fn tags_flat(req: &ApiRequest, param: &'static str) -> Result<Vec<TagRecord>, ApiError> {
    let tags = req
        .indexed_objects(param)?
        .into_iter()
        .map(|fields| {
            let key = field(&fields, "Key").ok_or(ApiError::MissingParameter("Tag.N.Key"))?;
            let value = field(&fields, "Value").unwrap_or_default();
            tag(param, key.to_owned(), value.to_owned())
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_set(param, tags.iter().map(|t| t.tag_key.as_str()))?;
    Ok(tags)
}

/// The JSON tag-key list `param` (`["k1","k2"]`; a comma-separated list is accepted too).
pub fn tag_keys_json(req: &ApiRequest, param: &'static str) -> Result<Vec<String>, ApiError> {
    let text = req.required(param)?.trim();
    let keys: Vec<String> = if text.starts_with('[') {
        serde_json::from_str(text).map_err(|e| {
            ApiError::invalid(param, format!("must be a JSON array of strings: {e}"))
        })?
    } else {
        text.split(',').map(|k| k.trim().to_owned()).collect()
    };
    tag_keys(param, keys)
}

/// Checks a list of tag keys to remove: 1 to [`MAX_TAGS`] keys of 1 to 128 characters.
pub fn tag_keys(param: &'static str, keys: Vec<String>) -> Result<Vec<String>, ApiError> {
    if keys.is_empty() || keys.len() > MAX_TAGS {
        return Err(ApiError::invalid(
            param,
            format!("give 1 to {MAX_TAGS} tag keys"),
        ));
    }
    for key in &keys {
        let n = key.chars().count();
        if n == 0 || n > MAX_TAG_CHARS {
            return Err(ApiError::invalid(
                param,
                format!("tag keys are 1 to {MAX_TAG_CHARS} characters"),
            ));
        }
    }
    Ok(keys)
}

/// One validated tag.
pub fn tag(param: &'static str, key: String, value: String) -> Result<TagRecord, ApiError> {
    validate_tag_key(param, &key)?;
    if value.chars().count() > MAX_TAG_CHARS {
        return Err(ApiError::invalid(
            param,
            format!("tag values are at most {MAX_TAG_CHARS} characters"),
        ));
    }
    plain_text(param, &value)?;
    Ok(TagRecord {
        tag_key: key,
        tag_value: value,
    })
}

/// Tag keys: 1..=128 characters, not starting with `aliyun` or `acs:`, plain text
/// (`request::plain_text`; tag values too).
pub fn validate_tag_key(param: &'static str, key: &str) -> Result<(), ApiError> {
    let n = key.chars().count();
    if n == 0 || n > MAX_TAG_CHARS {
        return Err(ApiError::invalid(
            param,
            format!("tag keys are 1 to {MAX_TAG_CHARS} characters"),
        ));
    }
    if key.starts_with("aliyun") || key.starts_with("acs:") {
        return Err(ApiError::invalid(
            param,
            "tag keys cannot start with \"aliyun\" or \"acs:\"",
        ));
    }
    plain_text(param, key)
}

/// At most [`MAX_TAGS`] tags, each tag key once.
fn check_set<'a>(param: &'static str, keys: impl Iterator<Item = &'a str>) -> Result<(), ApiError> {
    let mut seen = HashSet::new();
    for key in keys {
        if !seen.insert(key) {
            return Err(ApiError::invalid(
                param,
                format!("tag key {key:?} given twice"),
            ));
        }
    }
    if seen.len() > MAX_TAGS {
        return Err(ApiError::invalid(param, format!("at most {MAX_TAGS} tags")));
    }
    Ok(())
}

/// The value of `name` among the fields of one flattened object.
fn field<'a>(fields: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(f, _)| *f == name).map(|(_, v)| *v)
}

/// The key reference of a single-resource tag call must be `KeyId`: exactly one of `KeyId`,
/// `SecretName`, `CertificateId` may be given, and only keys are supported.
pub fn only_key_resource(req: &ApiRequest) -> Result<(), ApiError> {
    let given: Vec<&'static str> = ["KeyId", "SecretName", "CertificateId"]
        .into_iter()
        .filter(|name| req.optional(name).is_some())
        .collect();
    match given.as_slice() {
        [] => Err(ApiError::MissingParameter("KeyId")),
        ["KeyId"] => Ok(()),
        [one] => Err(ApiError::invalid(
            if *one == "SecretName" {
                "SecretName"
            } else {
                "CertificateId"
            },
            "only keys are supported: keywarden has no secrets or certificates",
        )),
        _ => Err(ApiError::invalid(
            "KeyId",
            "give only one of KeyId, SecretName and CertificateId",
        )),
    }
}

/// Tag changes are refused while the key is pending deletion.
pub fn require_mutable(key: &KeyRecord) -> Result<(), ApiError> {
    require(key, Requirement::Mutable)
}

/// A key that vanished between resolving and writing.
pub fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::KeyNotFound,
        other => other.into(),
    }
}

/// Most resources one batch call may name.
pub const MAX_RESOURCES: usize = 50;

/// `ResourceType` must be `key`.
pub fn resource_type(req: &ApiRequest) -> Result<(), ApiError> {
    match req.required("ResourceType")? {
        t if t.eq_ignore_ascii_case("key") => Ok(()),
        other => Err(ApiError::invalid(
            "ResourceType",
            format!("{other:?} is not supported: keywarden only has keys"),
        )),
    }
}

/// `ResourceId.N`: up to [`MAX_RESOURCES`], at least one when `required`.
pub fn resource_ids(req: &ApiRequest, required: bool) -> Result<Vec<String>, ApiError> {
    let ids = req.indexed_values("ResourceId")?;
    if required && ids.is_empty() {
        return Err(ApiError::MissingParameter("ResourceId.1"));
    }
    if ids.len() > MAX_RESOURCES {
        return Err(ApiError::invalid(
            "ResourceId",
            format!("at most {MAX_RESOURCES} resources"),
        ));
    }
    Ok(ids.into_iter().map(str::to_owned).collect())
}

/// Every named key, resolved once.
pub async fn resolve_all(kms: &Kms, ids: &[String]) -> Result<Vec<KeyTarget>, ApiError> {
    let mut keys = Vec::with_capacity(ids.len());
    for id in ids {
        keys.push(KeyTarget::resolve(kms, id).await?);
    }
    Ok(keys)
}

/// The ARNs of the named keys (`none` when no key is named).
pub fn batch_targets(keys: &[KeyTarget], kms: &Kms, none: String) -> Vec<Target> {
    let mut resources: Vec<String> = keys.iter().map(|k| k.arn(kms)).collect();
    if resources.is_empty() {
        resources.push(none);
    }
    vec![Target::of(resources)]
}

/// Every named key, which must exist and not be pending deletion: all are checked before any
/// write.
pub fn mutable_keys(keys: &[KeyTarget]) -> Result<Vec<&Arc<KeyRecord>>, ApiError> {
    keys.iter()
        .map(|k| {
            let key = k.found()?;
            require_mutable(key)?;
            Ok(key)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(params: &[(&str, &str)]) -> ApiRequest {
        ApiRequest {
            method: "POST".into(),
            params: params.iter().copied().collect(),
            query_len: params.len(),
            headers: vec![],
            body_sha256: String::new(),
            peer: None,
        }
    }

    #[test]
    fn json_and_flat_forms() {
        let r = req(&[("Tags", r#"[{"TagKey":"env","TagValue":"a b"}]"#)]);
        assert_eq!(tags_json(&r, "Tags").unwrap()[0].tag_value, "a b");
        let dup = req(&[(
            "Tags",
            r#"[{"TagKey":"k","TagValue":"1"},{"TagKey":"k","TagValue":"2"}]"#,
        )]);
        assert!(tags_json(&dup, "Tags").is_err());
        let bad = req(&[("Tags", r#"[{"TagKey":"aliyun:x","TagValue":"1"}]"#)]);
        assert!(tags_json(&bad, "Tags").is_err());

        let flat = req(&[
            ("Tag.2.Key", "team"),
            ("Tag.1.Value", "dev"),
            ("Tag.1.Key", "env"),
            ("Tag.2.Value", "a"),
        ]);
        let tags = tags_flat(&flat, "Tag").unwrap();
        let pairs: Vec<(&str, &str)> = tags
            .iter()
            .map(|t| (t.tag_key.as_str(), t.tag_value.as_str()))
            .collect();
        assert_eq!(pairs, [("env", "dev"), ("team", "a")]);
        let no_key = req(&[("Tag.1.Value", "dev")]);
        assert!(tags_flat(&no_key, "Tag").is_err());
    }

    #[test]
    fn tag_key_lists() {
        let r = req(&[("TagKeys", r#"["a","b"]"#)]);
        assert_eq!(tag_keys_json(&r, "TagKeys").unwrap(), ["a", "b"]);
        let commas = req(&[("TagKeys", "a, b")]);
        assert_eq!(tag_keys_json(&commas, "TagKeys").unwrap(), ["a", "b"]);
        assert!(tag_keys_json(&req(&[("TagKeys", "[]")]), "TagKeys").is_err());
        assert!(tag_keys_json(&req(&[("TagKeys", "[1]")]), "TagKeys").is_err());
    }
}
