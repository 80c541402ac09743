//! GenerateDataKey and GenerateDataKeyWithoutPlaintext: a fresh random data key, sealed under
//! the key's primary version. As the service does, the sealed text is the *base64* of the data
//! key, so Decrypt of the blob returns exactly the `Plaintext` GenerateDataKey returned.

use keywarden_core::secret::SecretBytes;
use serde_json::json;
use zeroize::Zeroizing;

use super::{Body, b64, body, context_param, primary_cipher, refuse_recipient};
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// Runs the action; `with_plaintext` selects GenerateDataKey over ...WithoutPlaintext.
pub async fn run(kms: &Kms, req: &ApiRequest, with_plaintext: bool) -> Result<Body, ApiError> {
    let key_ref = req.required("KeyId")?;
    let len = data_key_len(req)?;
    let ctx = context_param(req, "EncryptionContext")?;
    refuse_recipient(req)?;
    let dry_run = req.dry_run()?;
    let (key, version) = primary_cipher(kms, key_ref).await?;
    if dry_run {
        return Err(ApiError::DryRun);
    }
    let dk = SecretBytes::random(len)
        .map_err(|_| ApiError::internal(std::io::Error::other("rng failure")))?;
    let dk_b64 = Zeroizing::new(b64(dk.expose_secret()));
    let blob = version
        .cipher
        .seal(&version.version_id, &ctx.canonical(), dk_b64.as_bytes())
        .map_err(ApiError::internal)?;
    let mut out = body([
        ("KeyId", json!(key.key_id)),
        ("KeyVersionId", json!(version.version_id)),
        ("CiphertextBlob", json!(b64(&blob))),
    ]);
    if with_plaintext {
        out.insert("Plaintext".into(), json!(dk_b64.as_str()));
    }
    Ok(out)
}

/// `NumberOfBytes` (1..=1024) wins over `KeySpec` (AES_256 → 32, AES_128 → 16); default 32.
fn data_key_len(req: &ApiRequest) -> Result<usize, ApiError> {
    if let Some(n) = req.int_in("NumberOfBytes", 1..=1024)? {
        return usize::try_from(n).map_err(|_| ApiError::invalid("NumberOfBytes", "out of range"));
    }
    match req.optional("KeySpec") {
        None | Some("AES_256") => Ok(32),
        Some("AES_128") => Ok(16),
        Some(other) => Err(ApiError::invalid(
            "KeySpec",
            format!("{other:?} is not AES_256 or AES_128"),
        )),
    }
}
