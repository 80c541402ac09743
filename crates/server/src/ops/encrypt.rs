//! Encrypt: seals up to 6 KiB of caller text under the key's primary version. The text is
//! opaque (not base64-decoded) and Decrypt returns exactly it. Nothing sent here is stored.

use keywarden_core::context::EncryptionContext;
use keywarden_core::secret::SecretString;
use serde_json::json;

use super::shared::{KMS, audit_context, audit_key, body, key_target_with, primary_cipher, seal};
use crate::action::AuditFacts;
use crate::action::{Call, Operation, Product, Reply};
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;
use crate::resolve::KeyTarget;

/// Most bytes Encrypt accepts.
pub const MAX_PLAINTEXT_BYTES: usize = 6144;

/// The parameters (`KeyId`, `Plaintext`, `EncryptionContext`).
pub struct Encrypt {
    key_id: String,
    plaintext: SecretString,
    context: EncryptionContext,
}

/// The parameters with the key resolved.
pub struct Resolved {
    key: KeyTarget,
    plaintext: SecretString,
    context: EncryptionContext,
}

impl Operation for Encrypt {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "Encrypt";
    const DRY_RUN: bool = true;
    type Resolved = Resolved;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
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
        Ok(Encrypt {
            key_id: req.required("KeyId")?.to_owned(),
            plaintext: SecretString::new(plaintext.to_owned()),
            context: req.context("EncryptionContext")?,
        })
    }

    async fn resolve(self, kms: &Kms, _: &crate::auth::Caller) -> Result<Resolved, ApiError> {
        Ok(Resolved {
            key: KeyTarget::resolve(kms, &self.key_id).await?,
            plaintext: self.plaintext,
            context: self.context,
        })
    }

    fn targets(r: &Resolved, kms: &Kms) -> Vec<Target> {
        key_target_with(&r.key, kms, &r.context)
    }

    fn audit(r: &Resolved, facts: &mut AuditFacts) {
        audit_key(&r.key, facts);
        facts.encryption_context = audit_context(&r.context);
    }

    async fn run(r: Resolved, call: &Call<'_>) -> Result<Reply, ApiError> {
        let key = r.key.found()?;
        let version = primary_cipher(call.kms, key).await?;
        if call.dry_run {
            return Err(ApiError::DryRun);
        }
        let blob = seal(&version, &r.context, r.plaintext.expose_secret().as_bytes())?;
        let out = body([
            ("KeyId", json!(key.key_id)),
            ("KeyVersionId", json!(version.version_id)),
            ("CiphertextBlob", json!(blob)),
        ]);
        Ok(Reply::about(out, &key.key_id, Some(&version.version_id)))
    }
}
