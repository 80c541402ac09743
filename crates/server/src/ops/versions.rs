//! CreateKeyVersion, ListKeyVersions and DescribeKeyVersion.
//!
//! CreateKeyVersion rotates a symmetric key now: a new version with fresh material becomes the
//! primary version (Encrypt and GenerateDataKey use it from then on; Decrypt keeps opening
//! blobs of every older version). The key must be Enabled (`Rejected.Disabled`,
//! `Rejected.PendingDeletion` otherwise). Unlike the service, which limits on-demand rotation
//! (asymmetric keys, seven days apart, fifty versions), keywarden allows it at any time and
//! without a version limit: versions are one row each, so their number costs nothing on the
//! hot path. With automatic rotation on, the next automatic rotation is due one interval after
//! this one.

use keywarden_core::dates::format_unix;
use keywarden_store::VersionRecord;
use serde_json::{Value, json};

use super::{Body, body};
use crate::error::ApiError;
use crate::kms::Kms;
use crate::lifecycle::{self, Trigger};
use crate::request::{ApiRequest, PageParams};

/// CreateKeyVersion.
pub async fn create(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let key = kms.resolve(req.required("KeyId")?).await?;
    let rotated = lifecycle::rotate(kms, &key.key_id, Trigger::OnDemand)
        .await?
        .ok_or(ApiError::StateModifiedFailed)?;
    Ok(body([("KeyVersion", render(&rotated.version))]))
}

/// ListKeyVersions: oldest first, paged (`PageSize` 1 to 100).
pub async fn list(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let key = kms.resolve(req.required("KeyId")?).await?;
    let page = PageParams::read(req, 100)?;
    let versions = kms.store.list_versions(&key.key_id, page.page()).await?;
    let items: Vec<Value> = versions.items.iter().map(render).collect();
    Ok(body([
        ("KeyVersions", json!({ "KeyVersion": items })),
        ("TotalCount", json!(versions.total)),
        ("PageNumber", json!(page.number)),
        ("PageSize", json!(page.size)),
    ]))
}

/// DescribeKeyVersion: a version of the named key (a version of another key is not found).
pub async fn describe(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let key = kms.resolve(req.required("KeyId")?).await?;
    let version_id = req.required("KeyVersionId")?;
    let version = kms
        .store
        .get_version(version_id)
        .await?
        .filter(|v| v.key_id == key.key_id)
        .ok_or(ApiError::KeyVersionNotFound)?;
    Ok(body([("KeyVersion", render(&version))]))
}

/// `{KeyId, KeyVersionId, CreationDate}`.
fn render(version: &VersionRecord) -> Value {
    json!({
        "KeyId": version.key_id,
        "KeyVersionId": version.version_id,
        "CreationDate": format_unix(version.creation_date),
    })
}
