//! UntagResource: removes tag keys (`TagKeys`, JSON array) from one key named by `KeyId`;
//! absent ones are ignored. Refused while the key is pending deletion.

use std::sync::Arc;

use keywarden_store::KeyRecord;

use super::shared::on_key_action;
use super::tagging::{self, not_found, only_key_resource, require_mutable};
use crate::action::{Call, Reply};
use crate::error::ApiError;
use crate::request::ApiRequest;

on_key_action!(
    UntagResource,
    "UntagResource",
    Vec<String>,
    dry_run = false,
    parse = tag_keys,
    run = run
);

fn tag_keys(req: &ApiRequest) -> Result<Vec<String>, ApiError> {
    only_key_resource(req)?;
    tagging::tag_keys_json(req, "TagKeys")
}

async fn run(key: &Arc<KeyRecord>, keys: &[String], call: &Call<'_>) -> Result<Reply, ApiError> {
    require_mutable(key)?;
    call.kms
        .store
        .delete_tags(&key.key_id, keys)
        .await
        .map_err(not_found)?;
    Ok(Reply::default())
}
