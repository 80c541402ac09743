//! Decrypt: finds the key version from the blob's prefix, checks the key is Enabled, and opens
//! the blob with the canonical EncryptionContext as AAD.

use keywarden_core::blob::{self, BlobError};
use serde_json::json;

use super::{Body, body, context_param, refuse_recipient};
use crate::error::ApiError;
use crate::kms::{Kms, require_enabled};
use crate::request::ApiRequest;

/// Runs the action.
pub async fn run(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let raw = blob::decode_base64(req.required("CiphertextBlob")?)
        .map_err(|_| ApiError::InvalidCiphertext)?;
    let ctx = context_param(req, "EncryptionContext")?;
    refuse_recipient(req)?;
    let dry_run = req.dry_run()?;
    let parts = blob::parse(&raw).map_err(|_| ApiError::InvalidCiphertext)?;
    let version = kms.version(parts.version_id).await.map_err(|e| match e {
        ApiError::KeyVersionNotFound => ApiError::InvalidCiphertext,
        other => other,
    })?;
    let key = kms.key(&version.key_id).await?;
    require_enabled(&key)?;
    let plaintext = version
        .cipher
        .open(&parts, &ctx.canonical())
        .map_err(|e| match e {
            BlobError::DecryptionFailed | BlobError::Malformed => ApiError::InvalidCiphertext,
            other => ApiError::internal(other),
        })?;
    if dry_run {
        return Err(ApiError::DryRun);
    }
    let text =
        std::str::from_utf8(plaintext.expose_secret()).map_err(|_| ApiError::InvalidCiphertext)?;
    Ok(body([
        ("KeyId", json!(key.key_id)),
        ("KeyVersionId", json!(version.version_id)),
        ("Plaintext", json!(text)),
    ]))
}
