//! ListResourceTags: `{"Tags":{"Tag":[{"KeyId","TagKey","TagValue"}]}}` of one key, by tag
//! key; works in every key state.

use std::sync::Arc;

use keywarden_store::KeyRecord;
use serde_json::{Value, json};

use super::shared::{body, no_params, on_key_action};
use crate::action::{Call, Reply};
use crate::error::ApiError;

on_key_action!(
    ListResourceTags,
    "ListResourceTags",
    (),
    dry_run = false,
    parse = no_params,
    run = run
);

async fn run(key: &Arc<KeyRecord>, _: &(), call: &Call<'_>) -> Result<Reply, ApiError> {
    let tags = call.kms.store.list_tags(&key.key_id).await?;
    let items: Vec<Value> = tags
        .iter()
        .map(|t| json!({ "KeyId": key.key_id, "TagKey": t.tag_key, "TagValue": t.tag_value }))
        .collect();
    Ok(body([("Tags", json!({ "Tag": items }))]).into())
}
