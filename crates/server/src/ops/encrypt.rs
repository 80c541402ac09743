//! Encrypt: seals up to 6 KiB of caller text under the key's primary version. The text is
//! opaque (not base64-decoded) and Decrypt returns exactly it. Nothing sent here is stored.

use serde_json::json;

use super::{Body, b64, body, context_param, primary_cipher};
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// Most bytes Encrypt accepts.
pub const MAX_PLAINTEXT_BYTES: usize = 6144;

/// Runs the action.
pub async fn run(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let key_ref = req.required("KeyId")?;
    let plaintext = req.required("Plaintext")?;
    if plaintext.len() > MAX_PLAINTEXT_BYTES {
        return Err(ApiError::invalid(
            "Plaintext",
            format!(
                "{} bytes is more than the {MAX_PLAINTEXT_BYTES} Encrypt accepts; use GenerateDataKey and encrypt locally",
                plaintext.len()
            ),
        ));
    }
    let ctx = context_param(req, "EncryptionContext")?;
    let dry_run = req.dry_run()?;
    let (key, version) = primary_cipher(kms, key_ref).await?;
    if dry_run {
        return Err(ApiError::DryRun);
    }
    let blob = version
        .cipher
        .seal(&version.version_id, &ctx.canonical(), plaintext.as_bytes())
        .map_err(ApiError::internal)?;
    Ok(body([
        ("KeyId", json!(key.key_id)),
        ("KeyVersionId", json!(version.version_id)),
        ("CiphertextBlob", json!(b64(&blob))),
    ]))
}
