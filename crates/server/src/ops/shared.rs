//! Helpers shared by the KMS actions: rendering bodies, the one-key shape ([`OnKey`] and the
//! `on_key_action!` macro), the key and version of Encrypt-like actions, opening a blob.

use std::sync::Arc;

use keywarden_core::blob::{self, BlobError};
use keywarden_core::context::EncryptionContext;
use keywarden_core::model::KeyUsage;
use keywarden_core::secret::SecretBytes;
use keywarden_store::KeyRecord;
use serde_json::Value;

use crate::action::AuditFacts;
pub use crate::action::Body;
use crate::action::Product;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::{Kms, VersionCipher, require_enabled};
use crate::request::ApiRequest;
use crate::resolve::{BlobTarget, KeyTarget};

/// This product.
pub const KMS: Product = Product::Kms;

/// Builds a body from `(name, value)` pairs.
pub fn body<const N: usize>(fields: [(&str, Value); N]) -> Body {
    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Base64 (standard) of `bytes`.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The collection ARN `acs:kms:<region>:<account>:<kind>` (`key`, `alias`).
pub(super) fn collection(kms: &Kms, kind: &str) -> String {
    format!("acs:kms:{}:{}:{kind}", kms.realm.region, kms.realm.account)
}

/// The one target of an action on one key.
pub(super) fn key_target(key: &KeyTarget, kms: &Kms) -> Vec<Target> {
    vec![Target::of(vec![key.arn(kms)])]
}

/// The one target of an action on one key with an encryption context.
pub(super) fn key_target_with(key: &KeyTarget, kms: &Kms, ctx: &EncryptionContext) -> Vec<Target> {
    vec![Target {
        resources: vec![key.arn(kms)],
        context: Some(ctx.pairs().clone()),
    }]
}

/// The audit facts of an action on one key.
pub(super) fn audit_key(key: &KeyTarget, facts: &mut AuditFacts) {
    facts.key_id = Some(key.audit_id());
}

/// Refuses the `Recipient` parameters (attested enclaves), which keywarden does not support.
pub(super) fn refuse_recipient(req: &ApiRequest) -> Result<(), ApiError> {
    match req.params.iter().find(|(k, _)| k.starts_with("Recipient")) {
        Some(_) => Err(ApiError::invalid(
            "Recipient",
            "encrypting for an attested recipient is not supported",
        )),
        None => Ok(()),
    }
}

/// The cipher of the primary version of `key`, for Encrypt and GenerateDataKey: the key must
/// be Enabled and an ENCRYPT/DECRYPT key.
pub(super) async fn primary_cipher(
    kms: &Kms,
    key: &KeyRecord,
) -> Result<Arc<VersionCipher>, ApiError> {
    require_enabled(key)?;
    if key.key_usage != KeyUsage::EncryptDecrypt {
        return Err(ApiError::UnsupportedOperation(format!(
            "key {} is not an ENCRYPT/DECRYPT key",
            key.key_id
        )));
    }
    kms.version(&key.primary_version_id).await
}

/// Seals `plaintext` under `version` with `ctx`; the blob's base64.
pub(super) fn seal(
    version: &VersionCipher,
    ctx: &EncryptionContext,
    plaintext: &[u8],
) -> Result<String, ApiError> {
    let blob = version
        .cipher
        .seal(&version.version_id, &ctx.canonical(), plaintext)
        .map_err(ApiError::internal)?;
    Ok(b64(&blob))
}

/// A blob opened server-side: its key, its version, and the plaintext (wiped on drop).
pub(super) struct Opened<'a> {
    pub key: &'a KeyRecord,
    pub version: &'a VersionCipher,
    pub plaintext: SecretBytes,
}

/// Opens a resolved blob with `ctx`: its key must be Enabled. A blob that is not ours or does
/// not verify is `InvalidParameter`.
pub(super) fn open_blob<'a>(
    target: &'a BlobTarget,
    ctx: &EncryptionContext,
) -> Result<Opened<'a>, ApiError> {
    let BlobTarget::Known { raw, version, key } = target else {
        return Err(ApiError::InvalidCiphertext);
    };
    require_enabled(key)?;
    let parts = blob::parse(raw).map_err(|_| ApiError::InvalidCiphertext)?;
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

/// The resolved form of an action on the one key named by `KeyId`: that key and the action's
/// other parameters.
pub struct OnKey<P> {
    key: KeyTarget,
    params: P,
}

impl<P> OnKey<P> {
    /// Resolves `key_id` and keeps `params`.
    pub async fn resolve(kms: &Kms, key_id: &str, params: P) -> Result<Self, ApiError> {
        Ok(OnKey {
            key: KeyTarget::resolve(kms, key_id).await?,
            params,
        })
    }
}

/// Declares the [`Operation`](crate::action::Operation) of an action on the one key named by
/// `KeyId`: `$name` holds `key_id` and the parameters `$params`, parsed by `$parse`, and `$run`
/// runs on the resolved key (`&Arc<KeyRecord>`), the parameters and the [`Call`].
macro_rules! on_key_action {
    ($ty:ident, $name:literal, $params:ty, dry_run = $dry:literal,
     parse = $parse:expr, run = $run:path) => {
        /// The parameters: `KeyId` and the action's own.
        pub struct $ty {
            key_id: String,
            params: $params,
        }

        impl $crate::action::Operation for $ty {
            const PRODUCT: $crate::action::Product = $crate::action::Product::Kms;
            const NAME: &'static str = $name;
            const DRY_RUN: bool = $dry;
            type Resolved = $crate::ops::shared::OnKey<$params>;

            fn parse(req: &$crate::request::ApiRequest) -> Result<Self, $crate::error::ApiError> {
                let parse: fn(
                    &$crate::request::ApiRequest,
                ) -> Result<$params, $crate::error::ApiError> = $parse;
                let params = parse(req)?;
                Ok($ty {
                    key_id: req.required("KeyId")?.to_owned(),
                    params,
                })
            }

            async fn resolve(
                self,
                kms: &$crate::kms::Kms,
                _: &$crate::auth::Caller,
            ) -> Result<Self::Resolved, $crate::error::ApiError> {
                $crate::ops::shared::OnKey::resolve(kms, &self.key_id, self.params).await
            }

            fn targets(r: &Self::Resolved, kms: &$crate::kms::Kms) -> Vec<$crate::authz::Target> {
                $crate::ops::shared::on_key_targets(r, kms)
            }

            fn audit(r: &Self::Resolved, facts: &mut $crate::action::AuditFacts) {
                $crate::ops::shared::on_key_audit(r, facts);
            }

            async fn run(
                r: Self::Resolved,
                call: &$crate::action::Call<'_>,
            ) -> Result<$crate::action::Reply, $crate::error::ApiError> {
                let key = r.key_found()?;
                $run(key, r.params_ref(), call).await
            }
        }
    };
}
pub(crate) use on_key_action;

impl<P> OnKey<P> {
    /// The key, or why it is not found.
    pub fn key_found(&self) -> Result<&Arc<KeyRecord>, ApiError> {
        self.key.found()
    }

    /// The other parameters.
    pub fn params_ref(&self) -> &P {
        &self.params
    }
}

/// The target of an [`OnKey`] action.
pub fn on_key_targets<P>(r: &OnKey<P>, kms: &Kms) -> Vec<Target> {
    key_target(&r.key, kms)
}

/// The audit facts of an [`OnKey`] action.
pub fn on_key_audit<P>(r: &OnKey<P>, facts: &mut AuditFacts) {
    audit_key(&r.key, facts);
}

/// No parameters besides `KeyId`.
pub(super) fn no_params(_: &ApiRequest) -> Result<(), ApiError> {
    Ok(())
}

/// The encryption context for the audit record: none when it is empty.
pub(super) fn audit_context(
    ctx: &EncryptionContext,
) -> Option<std::collections::BTreeMap<String, String>> {
    (!ctx.is_empty()).then(|| ctx.pairs().clone())
}
