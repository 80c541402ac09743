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
mod list_keys;
pub mod metadata;

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
    "CreateAlias",
    "UpdateAlias",
    "DeleteAlias",
    "ListAliases",
    "ListAliasesByKeyId",
    "Encrypt",
    "Decrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "DescribeRegions",
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
        "CreateAlias" => aliases::create(kms, req).await,
        "UpdateAlias" => aliases::update(kms, req).await,
        "DeleteAlias" => aliases::delete(kms, req).await,
        "ListAliases" => aliases::list(kms, req).await,
        "ListAliasesByKeyId" => aliases::list_by_key_id(kms, req).await,
        "Encrypt" => encrypt::run(kms, req).await,
        "Decrypt" => decrypt::run(kms, req).await,
        "GenerateDataKey" => data_key::run(kms, req, true).await,
        "GenerateDataKeyWithoutPlaintext" => data_key::run(kms, req, false).await,
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

/// Base64 (standard) of `bytes`.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
