//! TagResources, UntagResources and ListTagResources: the batch tag API, with flattened list
//! parameters (`ResourceId.N`, `Tag.N.Key`/`Tag.N.Value`, `TagKey.N`) and `ResourceType=key`.
//!
//! Every named key is resolved (ids, aliases and ARNs work) and checked before anything is
//! written, so an unknown key or a key pending deletion fails the whole call; the writes are
//! then one store call per key. ListTagResources pages by an opaque `NextToken` (keyset paging
//! on key id and tag key, [`PAGE_ROWS`] rows a page): stable while tags change elsewhere.

use std::sync::Arc;

use keywarden_store::{KeyRecord, KeyTag, TagCursor, TagMatch, TagQuery};
use serde_json::{Value, json};

use super::tags::{mutable_key, not_found};
use super::{Body, b64, body, tagging};
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// Most resources one call may name.
pub const MAX_RESOURCES: usize = 50;

/// Rows per ListTagResources page (the service's default).
pub const PAGE_ROWS: u64 = 200;

/// TagResources: sets the `Tag.N` tags on every `ResourceId.N` key.
pub async fn tag(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    resource_type(req)?;
    let ids = resource_ids(req, true)?;
    let tags = tagging::tags_flat(req, "Tag")?;
    if tags.is_empty() {
        return Err(ApiError::MissingParameter("Tag.1.Key"));
    }
    for key in mutable_keys(kms, &ids).await? {
        kms.store
            .put_tags(&key.key_id, &tags)
            .await
            .map_err(not_found)?;
    }
    Ok(Body::new())
}

/// UntagResources: removes the `TagKey.N` tags (or, with `All=true` and no tag key, every tag)
/// from every `ResourceId.N` key.
pub async fn untag(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    resource_type(req)?;
    let ids = resource_ids(req, true)?;
    let named: Vec<String> = req
        .indexed_values("TagKey")?
        .into_iter()
        .map(str::to_owned)
        .collect();
    let all = req.bool("All")?.unwrap_or(false);
    let tag_keys = match (named.is_empty(), all) {
        (false, _) => Some(tagging::tag_keys("TagKey", named)?),
        (true, true) => None,
        (true, false) => return Err(ApiError::MissingParameter("TagKey.1")),
    };
    for key in mutable_keys(kms, &ids).await? {
        let keys = match &tag_keys {
            Some(keys) => keys.clone(),
            None => every_tag_key(kms, &key.key_id).await?,
        };
        kms.store
            .delete_tags(&key.key_id, &keys)
            .await
            .map_err(not_found)?;
    }
    Ok(Body::new())
}

/// ListTagResources: the tags of the `ResourceId.N` keys (all keys when none is named); with
/// `Tag.N` only keys carrying all those tags (a `Value` narrows to that value) and only those
/// tags. `{"NextToken","TagResources":{"TagResource":[{ResourceId,ResourceType,TagKey,TagValue}]}}`.
pub async fn list(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    resource_type(req)?;
    let ids = resource_ids(req, false)?;
    let mut key_ids = Vec::with_capacity(ids.len());
    for id in &ids {
        key_ids.push(kms.resolve(id).await?.key_id.clone());
    }
    let query = TagQuery {
        key_ids,
        tags: tag_matches(req)?,
    };
    let after = req.optional("NextToken").map(decode_token).transpose()?;
    let mut rows = kms
        .store
        .list_tag_resources(&query, after.as_ref(), PAGE_ROWS + 1)
        .await?;
    let more = rows.len() as u64 > PAGE_ROWS;
    rows.truncate(usize::try_from(PAGE_ROWS).unwrap_or(usize::MAX));
    let next = match rows.last() {
        Some(last) if more => encode_token(last),
        _ => String::new(),
    };
    let items: Vec<Value> = rows.iter().map(render).collect();
    Ok(body([
        ("NextToken", json!(next)),
        ("TagResources", json!({ "TagResource": items })),
    ]))
}

/// `ResourceType` must be `key`.
fn resource_type(req: &ApiRequest) -> Result<(), ApiError> {
    match req.required("ResourceType")? {
        t if t.eq_ignore_ascii_case("key") => Ok(()),
        other => Err(ApiError::invalid(
            "ResourceType",
            format!("{other:?} is not supported: keywarden only has keys"),
        )),
    }
}

/// `ResourceId.N`: up to [`MAX_RESOURCES`], at least one when `required`.
fn resource_ids(req: &ApiRequest, required: bool) -> Result<Vec<&str>, ApiError> {
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
    Ok(ids)
}

/// Every named key, resolved and checked (none pending deletion) before any write.
async fn mutable_keys(kms: &Kms, ids: &[&str]) -> Result<Vec<Arc<KeyRecord>>, ApiError> {
    let mut keys = Vec::with_capacity(ids.len());
    for id in ids {
        keys.push(mutable_key(kms, id).await?);
    }
    Ok(keys)
}

async fn every_tag_key(kms: &Kms, key_id: &str) -> Result<Vec<String>, ApiError> {
    let tags = kms.store.list_tags(key_id).await?;
    Ok(tags.into_iter().map(|t| t.tag_key).collect())
}

/// `Tag.N.Key` (required) and `Tag.N.Value` (any value when absent).
fn tag_matches(req: &ApiRequest) -> Result<Vec<TagMatch>, ApiError> {
    let objects = req.indexed_objects("Tag")?;
    if objects.len() > tagging::MAX_TAGS {
        return Err(ApiError::invalid(
            "Tag",
            format!("at most {} tags", tagging::MAX_TAGS),
        ));
    }
    objects
        .into_iter()
        .map(|fields| {
            let get = |name: &str| fields.iter().find(|(f, _)| *f == name).map(|(_, v)| *v);
            let key = get("Key").ok_or(ApiError::MissingParameter("Tag.N.Key"))?;
            tagging::validate_tag_key("Tag", key)?;
            Ok(TagMatch {
                tag_key: key.to_owned(),
                tag_value: get("Value").map(str::to_owned),
            })
        })
        .collect()
}

fn render(row: &KeyTag) -> Value {
    json!({
        "ResourceId": row.key_id,
        "ResourceType": "key",
        "TagKey": row.tag_key,
        "TagValue": row.tag_value,
    })
}

/// The token after `last`: base64 of the JSON pair `[key id, tag key]`.
fn encode_token(last: &KeyTag) -> String {
    b64(json!([last.key_id, last.tag_key]).to_string().as_bytes())
}

fn decode_token(token: &str) -> Result<TagCursor, ApiError> {
    use base64::Engine;
    let bad = || ApiError::invalid("NextToken", "is not a token this server issued");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| bad())?;
    let (key_id, tag_key): (String, String) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(TagCursor { key_id, tag_key })
}
