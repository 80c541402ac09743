//! Decrypt: finds the key version from the blob's prefix, checks the key is Enabled, and opens
//! the blob with the canonical EncryptionContext as AAD. Old versions keep working after any
//! number of rotations; a destroyed key's blobs never open again.

use serde_json::json;

use super::{Body, body, context_param, open_blob, refuse_recipient};
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// Runs the action.
pub async fn run(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let blob = req.required("CiphertextBlob")?;
    let ctx = context_param(req, "EncryptionContext")?;
    refuse_recipient(req)?;
    let dry_run = req.dry_run()?;
    let opened = open_blob(kms, blob, &ctx).await?;
    if dry_run {
        return Err(ApiError::DryRun);
    }
    let text = std::str::from_utf8(opened.plaintext.expose_secret())
        .map_err(|_| ApiError::InvalidCiphertext)?;
    Ok(body([
        ("KeyId", json!(opened.key.key_id)),
        ("KeyVersionId", json!(opened.version.version_id)),
        ("Plaintext", json!(text)),
    ]))
}
