//! TagResource: sets tags (`Tags`, JSON) on one key named by `KeyId`; an existing tag key takes
//! the new value. Refused while the key is pending deletion.

use std::sync::Arc;

use keywarden_store::{KeyRecord, TagRecord};

use super::shared::on_key_action;
use super::tagging::{self, not_found, only_key_resource, require_mutable};
use crate::action::{Call, Reply};
use crate::error::ApiError;
use crate::request::ApiRequest;

on_key_action!(
    TagResource,
    "TagResource",
    Vec<TagRecord>,
    dry_run = false,
    parse = tags,
    run = run
);

fn tags(req: &ApiRequest) -> Result<Vec<TagRecord>, ApiError> {
    only_key_resource(req)?;
    req.required("Tags")?;
    let tags = tagging::tags_json(req, "Tags")?;
    if tags.is_empty() {
        return Err(ApiError::invalid("Tags", "give at least one tag"));
    }
    Ok(tags)
}

async fn run(key: &Arc<KeyRecord>, tags: &[TagRecord], call: &Call<'_>) -> Result<Reply, ApiError> {
    require_mutable(key)?;
    call.kms
        .store
        .put_tags(&key.key_id, tags)
        .await
        .map_err(not_found)?;
    Ok(Reply::default())
}
