//! ListTagResources: the tags of the `ResourceId.N` keys (all keys when none is named, which
//! needs the key collection); with `Tag.N` only keys carrying all those tags (a `Value` narrows
//! to that value) and only those tags.
//! `{"NextToken","TagResources":{"TagResource":[{ResourceId,ResourceType,TagKey,TagValue}]}}`,
//! paged by an opaque `NextToken` (keyset paging on key id and tag key, [`PAGE_ROWS`] rows a
//! page): stable while tags change elsewhere. Rows of keys the caller is explicitly denied
//! `kms:ListTagResources` on (RAM or key policy) are left out.

use std::collections::HashMap;

use keywarden_store::{KeyTag, TagCursor, TagMatch, TagQuery};
use serde_json::{Value, json};

use super::shared::{KMS, b64, body, collection};
use super::tagging::{self, batch_targets, resolve_all};
use super::visible;
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;
use crate::resolve::KeyTarget;

/// Rows per page (the service's default).
pub const PAGE_ROWS: u64 = 200;

/// The parameters.
pub struct ListTagResources {
    ids: Vec<String>,
    tags: Vec<TagMatch>,
    after: Option<TagCursor>,
}

/// The keys resolved.
pub struct Resolved {
    keys: Vec<KeyTarget>,
    tags: Vec<TagMatch>,
    after: Option<TagCursor>,
}

impl Operation for ListTagResources {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "ListTagResources";
    type Resolved = Resolved;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        tagging::resource_type(req)?;
        Ok(ListTagResources {
            ids: tagging::resource_ids(req, false)?,
            tags: tag_matches(req)?,
            after: req.optional("NextToken").map(decode_token).transpose()?,
        })
    }

    async fn resolve(self, kms: &Kms, _: &Caller) -> Result<Resolved, ApiError> {
        Ok(Resolved {
            keys: resolve_all(kms, &self.ids).await?,
            tags: self.tags,
            after: self.after,
        })
    }

    fn targets(r: &Resolved, kms: &Kms) -> Vec<Target> {
        batch_targets(&r.keys, kms, collection(kms, "key"))
    }

    async fn run(r: Resolved, call: &Call<'_>) -> Result<Reply, ApiError> {
        let key_ids = r
            .keys
            .iter()
            .map(|k| k.found().map(|key| key.key_id.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let query = TagQuery {
            key_ids,
            tags: r.tags,
        };
        let mut rows = visible_rows(call, &query, r.after).await?;
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
        ])
        .into())
    }
}

/// Up to [`PAGE_ROWS`] + 1 rows after `after` whose key the caller is not explicitly denied
/// `kms:ListTagResources` on (RAM or key policy): batches are read until that many are kept
/// or the rows run out.
async fn visible_rows(
    call: &Call<'_>,
    query: &TagQuery,
    mut after: Option<TagCursor>,
) -> Result<Vec<KeyTag>, ApiError> {
    let mut rows = Vec::new();
    loop {
        let batch = call
            .kms
            .store
            .list_tag_resources(query, after.as_ref(), PAGE_ROWS + 1)
            .await?;
        let exhausted = batch.len() as u64 <= PAGE_ROWS;
        after = batch.last().map(|last| TagCursor {
            key_id: last.key_id.clone(),
            tag_key: last.tag_key.clone(),
        });
        let mut ids: Vec<String> = batch.iter().map(|t| t.key_id.clone()).collect();
        ids.dedup();
        let policies = visible::key_policies(call, &ids).await?;
        let mut hidden: HashMap<String, bool> = HashMap::new();
        for row in batch {
            let hide = *hidden.entry(row.key_id.clone()).or_insert_with(|| {
                let arn = call.kms.realm.key_arn(&row.key_id);
                let kps = visible::at(0, policies.get(&row.key_id));
                call.access
                    .hides_with("kms:ListTagResources", vec![arn], &kps)
            });
            if !hide {
                rows.push(row);
            }
        }
        if exhausted || rows.len() as u64 > PAGE_ROWS {
            return Ok(rows);
        }
    }
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
