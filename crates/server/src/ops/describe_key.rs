//! DescribeKey: a key's metadata, by id, alias or ARN.

use std::sync::Arc;

use keywarden_store::KeyRecord;

use super::metadata::key_metadata;
use super::shared::{body, no_params, on_key_action};
use crate::action::{Call, Reply};
use crate::error::ApiError;

on_key_action!(
    DescribeKey,
    "DescribeKey",
    (),
    dry_run = false,
    parse = no_params,
    run = run
);

async fn run(key: &Arc<KeyRecord>, _: &(), call: &Call<'_>) -> Result<Reply, ApiError> {
    let out = body([("KeyMetadata", key_metadata(key, &call.kms.realm))]);
    Ok(Reply::about(out, &key.key_id, None))
}
