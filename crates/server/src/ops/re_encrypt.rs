//! ReEncrypt: moves a `CiphertextBlob` to another key and/or another encryption context
//! without the plaintext leaving the server. The blob is opened with `SourceEncryptionContext`
//! (its key must be Enabled) and sealed again under the primary version of `DestinationKeyId`
//! (Enabled, ENCRYPT/DECRYPT) with `DestinationEncryptionContext`. The plaintext lives only in
//! a zeroizing buffer for the duration of the call. The answer names the destination key and
//! version, which is what a later Decrypt of the new blob uses.
//!
//! Only symmetric blobs exist in keywarden, so `SourceEncryptionAlgorithm` (public-key
//! ciphertexts) is refused; `SourceKeyId` and `SourceKeyVersionId`, when given, must name the
//! blob's own key and version.

use serde_json::json;

use super::{Body, Opened, b64, body, context_param, open_blob, primary_cipher};
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// Runs the action.
pub async fn run(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let blob = req.required("CiphertextBlob")?;
    let destination = req.required("DestinationKeyId")?;
    let source_ctx = context_param(req, "SourceEncryptionContext")?;
    let destination_ctx = context_param(req, "DestinationEncryptionContext")?;
    if req.optional("SourceEncryptionAlgorithm").is_some() {
        return Err(ApiError::UnsupportedOperation(
            "re-encrypting public-key ciphertexts (SourceEncryptionAlgorithm) is not supported"
                .into(),
        ));
    }
    let dry_run = req.dry_run()?;
    let opened = open_blob(kms, blob, &source_ctx).await?;
    check_source(kms, req, &opened).await?;
    let (key, version) = primary_cipher(kms, destination).await?;
    if dry_run {
        return Err(ApiError::DryRun);
    }
    let sealed = version
        .cipher
        .seal(
            &version.version_id,
            &destination_ctx.canonical(),
            opened.plaintext.expose_secret(),
        )
        .map_err(ApiError::internal)?;
    Ok(body([
        ("KeyId", json!(key.key_id)),
        ("KeyVersionId", json!(version.version_id)),
        ("CiphertextBlob", json!(b64(&sealed))),
    ]))
}

/// `SourceKeyId` (id, alias or ARN) and `SourceKeyVersionId`, when given, must match the blob.
async fn check_source(kms: &Kms, req: &ApiRequest, opened: &Opened) -> Result<(), ApiError> {
    if let Some(version_id) = req.optional("SourceKeyVersionId") {
        if version_id != opened.version.version_id {
            return Err(ApiError::invalid(
                "SourceKeyVersionId",
                "is not the key version of the CiphertextBlob",
            ));
        }
    }
    if let Some(key_ref) = req.optional("SourceKeyId") {
        if kms.resolve(key_ref).await?.key_id != opened.key.key_id {
            return Err(ApiError::invalid(
                "SourceKeyId",
                "is not the key of the CiphertextBlob",
            ));
        }
    }
    Ok(())
}
