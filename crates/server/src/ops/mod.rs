//! One file per API action. [`dispatch`] routes an authenticated request to its action; each
//! action validates its parameters, does its work against [`Kms`], and returns the response body
//! without `RequestId` (the HTTP layer adds it).

mod aliases;
mod create_key;
mod data_key;
mod decrypt;
mod describe_key;
mod describe_regions;
mod encrypt;
mod key_settings;
mod key_state;
mod list_keys;
pub mod metadata;
mod re_encrypt;
mod rotation_policy;
mod tag_resources;
mod tagging;
mod tags;
mod versions;

use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// A response body (without `RequestId`).
pub type Body = Map<String, Value>;

/// The KMS API version keywarden speaks.
pub const KMS_VERSION: &str = "2016-01-20";

/// Every action keywarden implements, in the order of the API reference.
pub const ACTIONS: &[&str] = &[
    "CreateKey",
    "DescribeKey",
    "ListKeys",
    "EnableKey",
    "DisableKey",
    "ScheduleKeyDeletion",
    "CancelKeyDeletion",
    "UpdateKeyDescription",
    "CreateAlias",
    "UpdateAlias",
    "DeleteAlias",
    "ListAliases",
    "ListAliasesByKeyId",
    "Encrypt",
    "Decrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncrypt",
    "CreateKeyVersion",
    "ListKeyVersions",
    "DescribeKeyVersion",
    "UpdateRotationPolicy",
    "TagResource",
    "UntagResource",
    "ListResourceTags",
    "DescribeRegions",
    "TagResources",
    "UntagResources",
    "ListTagResources",
    "SetDeletionProtection",
];

/// Runs `action` for `caller`.
pub async fn dispatch(
    kms: &Kms,
    caller: &Caller,
    action: &str,
    req: &ApiRequest,
) -> Result<Body, ApiError> {
    match action {
        "CreateKey" => create_key::run(kms, caller, req).await,
        "DescribeKey" => describe_key::run(kms, req).await,
        "ListKeys" => list_keys::run(kms, req).await,
        "EnableKey" => key_state::enable(kms, req).await,
        "DisableKey" => key_state::disable(kms, req).await,
        "ScheduleKeyDeletion" => key_state::schedule_deletion(kms, req).await,
        "CancelKeyDeletion" => key_state::cancel_deletion(kms, req).await,
        "UpdateKeyDescription" => key_settings::update_description(kms, req).await,
        "SetDeletionProtection" => key_settings::set_deletion_protection(kms, req).await,
        "CreateAlias" => aliases::create(kms, req).await,
        "UpdateAlias" => aliases::update(kms, req).await,
        "DeleteAlias" => aliases::delete(kms, req).await,
        "ListAliases" => aliases::list(kms, req).await,
        "ListAliasesByKeyId" => aliases::list_by_key_id(kms, req).await,
        "Encrypt" => encrypt::run(kms, req).await,
        "Decrypt" => decrypt::run(kms, req).await,
        "GenerateDataKey" => data_key::run(kms, req, true).await,
        "GenerateDataKeyWithoutPlaintext" => data_key::run(kms, req, false).await,
        "ReEncrypt" => re_encrypt::run(kms, req).await,
        "CreateKeyVersion" => versions::create(kms, req).await,
        "ListKeyVersions" => versions::list(kms, req).await,
        "DescribeKeyVersion" => versions::describe(kms, req).await,
        "UpdateRotationPolicy" => rotation_policy::run(kms, req).await,
        "TagResource" => tags::tag(kms, req).await,
        "UntagResource" => tags::untag(kms, req).await,
        "ListResourceTags" => tags::list(kms, req).await,
        "TagResources" => tag_resources::tag(kms, req).await,
        "UntagResources" => tag_resources::untag(kms, req).await,
        "ListTagResources" => tag_resources::list(kms, req).await,
        "DescribeRegions" => Ok(describe_regions::run(kms)),
        _ => Err(ApiError::ActionNotFound),
    }
}

/// Builds a body from `(name, value)` pairs.
pub fn body<const N: usize>(fields: [(&str, Value); N]) -> Body {
    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Parses the `EncryptionContext` parameter named `name`.
pub fn context_param(
    req: &ApiRequest,
    name: &'static str,
) -> Result<keywarden_core::context::EncryptionContext, ApiError> {
    keywarden_core::context::EncryptionContext::parse(req.param(name))
        .map_err(|e| ApiError::invalid(name, e.to_string()))
}

/// Refuses the `Recipient` parameters (attested enclaves), which keywarden does not support.
pub fn refuse_recipient(req: &ApiRequest) -> Result<(), ApiError> {
    match req.params.iter().find(|(k, _)| k.starts_with("Recipient")) {
        Some(_) => Err(ApiError::invalid(
            "Recipient",
            "encrypting for an attested recipient is not supported",
        )),
        None => Ok(()),
    }
}

/// The key named by `key_ref` and the cipher of its primary version, for Encrypt and
/// GenerateDataKey: the key must be Enabled and an ENCRYPT/DECRYPT key.
pub async fn primary_cipher(
    kms: &Kms,
    key_ref: &str,
) -> Result<
    (
        std::sync::Arc<keywarden_store::KeyRecord>,
        std::sync::Arc<crate::kms::VersionCipher>,
    ),
    ApiError,
> {
    let key = kms.resolve(key_ref).await?;
    crate::kms::require_enabled(&key)?;
    if key.key_usage != keywarden_core::model::KeyUsage::EncryptDecrypt.as_str() {
        return Err(ApiError::UnsupportedOperation(format!(
            "key {} is not an ENCRYPT/DECRYPT key",
            key.key_id
        )));
    }
    let version = kms.version(&key.primary_version_id).await?;
    Ok((key, version))
}

/// A blob opened server-side: its key (Enabled), its version, and the plaintext (wiped on
/// drop).
pub struct Opened {
    /// The key that sealed the blob.
    pub key: std::sync::Arc<keywarden_store::KeyRecord>,
    /// The version that sealed it.
    pub version: std::sync::Arc<crate::kms::VersionCipher>,
    /// The plaintext.
    pub plaintext: keywarden_core::secret::SecretBytes,
}

/// Opens the base64 text of a `CiphertextBlob` with `ctx`: the version comes from the blob,
/// its key must be Enabled. A blob whose version is unknown here, whose key was
/// destroyed, or that does not verify is `InvalidParameter`: the three are indistinguishable
/// once a key's material is gone.
pub async fn open_blob(
    kms: &Kms,
    blob_text: &str,
    ctx: &keywarden_core::context::EncryptionContext,
) -> Result<Opened, ApiError> {
    use keywarden_core::blob::{self, BlobError};
    let raw = blob::decode_base64(blob_text).map_err(|_| ApiError::InvalidCiphertext)?;
    let parts = blob::parse(&raw).map_err(|_| ApiError::InvalidCiphertext)?;
    let not_ours = |e| match e {
        ApiError::KeyVersionNotFound | ApiError::KeyNotFound => ApiError::InvalidCiphertext,
        other => other,
    };
    let version = kms.version(parts.version_id).await.map_err(not_ours)?;
    let key = kms.usable_owner(&version).await.map_err(not_ours)?;
    let plaintext = version
        .cipher
        .open(&parts, &ctx.canonical())
        .map_err(|e| match e {
            BlobError::DecryptionFailed | BlobError::Malformed => ApiError::InvalidCiphertext,
            other => ApiError::internal(other),
        })?;
    Ok(Opened {
        key,
        version,
        plaintext,
    })
}

/// Base64 (standard) of `bytes`.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
