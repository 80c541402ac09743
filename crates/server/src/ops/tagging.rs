//! Tag parameters shared by CreateKey, TagResource/UntagResource and the batch TagResources
//! family: the JSON forms (`Tags`, `TagKeys`), the flattened forms (`Tag.N.Key`, `TagKey.N`),
//! and the rules every tag obeys.

use std::collections::HashSet;

use keywarden_store::TagRecord;
use serde::Deserialize;

use crate::error::ApiError;
use crate::request::ApiRequest;

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
    Ok(TagRecord {
        tag_key: key,
        tag_value: value,
    })
}

/// Tag keys: 1..=128 characters, not starting with `aliyun` or `acs:`.
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
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn req(params: &[(&str, &str)]) -> ApiRequest {
        ApiRequest {
            method: "POST".into(),
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
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
