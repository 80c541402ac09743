//! DescribeKeyVersion: a version of the named key (a version of another key is not found).

use std::sync::Arc;

use keywarden_core::dates::format_unix;
use keywarden_store::{KeyRecord, VersionRecord};
use serde_json::{Value, json};

use super::shared::{body, on_key_action};
use crate::action::{Call, Reply};
use crate::error::ApiError;
use crate::request::ApiRequest;

on_key_action!(
    DescribeKeyVersion,
    "DescribeKeyVersion",
    String,
    dry_run = false,
    parse = |req: &ApiRequest| Ok(req.required("KeyVersionId")?.to_owned()),
    run = run
);

async fn run(key: &Arc<KeyRecord>, version_id: &str, call: &Call<'_>) -> Result<Reply, ApiError> {
    let version = call
        .kms
        .store
        .get_version(version_id)
        .await?
        .filter(|v| v.key_id == key.key_id)
        .ok_or(ApiError::KeyVersionNotFound)?;
    let out = body([("KeyVersion", render(&version))]);
    Ok(Reply::about(out, &key.key_id, Some(version_id)))
}

/// `{KeyId, KeyVersionId, CreationDate}`.
pub fn render(version: &VersionRecord) -> Value {
    json!({
        "KeyId": version.key_id,
        "KeyVersionId": version.version_id,
        "CreationDate": format_unix(version.creation_date),
    })
}
