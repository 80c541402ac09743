//! CreateKeyVersion rotates a symmetric key now: a new version with fresh material becomes the
//! primary version (Encrypt and GenerateDataKey use it from then on; Decrypt keeps opening
//! blobs of every older version). The key must be Enabled (`Rejected.Disabled`,
//! `Rejected.PendingDeletion` otherwise). Unlike the service, which limits on-demand rotation
//! (asymmetric keys, seven days apart, fifty versions), keywarden allows it at any time and
//! without a version limit: versions are one row each, so their number costs nothing on the
//! hot path. With automatic rotation on, the next automatic rotation is due one interval after
//! this one.

use std::sync::Arc;

use keywarden_store::KeyRecord;

use super::describe_key_version::render;
use super::shared::{body, no_params, on_key_action};
use crate::action::{Call, Reply};
use crate::error::ApiError;
use crate::lifecycle::{self, Trigger};

on_key_action!(
    CreateKeyVersion,
    "CreateKeyVersion",
    (),
    dry_run = false,
    parse = no_params,
    run = run
);

async fn run(key: &Arc<KeyRecord>, _: &(), call: &Call<'_>) -> Result<Reply, ApiError> {
    let rotated = lifecycle::rotate(call.kms, &key.key_id, Trigger::OnDemand)
        .await?
        .ok_or(ApiError::StateModifiedFailed)?;
    let version_id = rotated.version.version_id.clone();
    let out = body([("KeyVersion", render(&rotated.version))]);
    Ok(Reply::about(out, &key.key_id, Some(&version_id)))
}
