//! Decrypt: finds the key version from the blob's prefix, checks the key is Enabled, and opens
//! the blob with the canonical EncryptionContext as AAD. Old versions keep working after any
//! number of rotations; a destroyed key's blobs never open again.

use keywarden_core::context::EncryptionContext;
use serde_json::json;

use super::shared::{KMS, audit_context, body, open_blob, refuse_recipient};
use crate::action::AuditFacts;
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;
use crate::resolve::BlobTarget;

/// The parameters (`CiphertextBlob`, `EncryptionContext`).
pub struct Decrypt {
    blob: String,
    context: EncryptionContext,
}

/// The blob resolved to its version and key.
pub struct Resolved {
    blob: BlobTarget,
    context: EncryptionContext,
}

impl Operation for Decrypt {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "Decrypt";
    const DRY_RUN: bool = true;
    type Resolved = Resolved;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        refuse_recipient(req)?;
        Ok(Decrypt {
            blob: req.required("CiphertextBlob")?.to_owned(),
            context: req.context("EncryptionContext")?,
        })
    }

    async fn resolve(self, kms: &Kms, _: &Caller) -> Result<Resolved, ApiError> {
        Ok(Resolved {
            blob: BlobTarget::resolve(kms, &self.blob).await?,
            context: self.context,
        })
    }

    fn targets(r: &Resolved, kms: &Kms) -> Vec<Target> {
        vec![Target {
            resources: vec![r.blob.arn(kms)],
            context: Some(r.context.pairs().clone()),
        }]
    }

    /// The key and version are recorded once the blob opened (in the [`Reply`]): a blob that
    /// does not open names no key.
    fn audit(r: &Resolved, facts: &mut AuditFacts) {
        facts.encryption_context = audit_context(&r.context);
    }

    async fn run(r: Resolved, call: &Call<'_>) -> Result<Reply, ApiError> {
        let opened = open_blob(&r.blob, &r.context)?;
        if call.dry_run {
            return Err(ApiError::DryRun);
        }
        let text = std::str::from_utf8(opened.plaintext.expose_secret())
            .map_err(|_| ApiError::InvalidCiphertext)?;
        let out = body([
            ("KeyId", json!(opened.key.key_id)),
            ("KeyVersionId", json!(opened.version.version_id)),
            ("Plaintext", json!(text)),
        ]);
        Ok(Reply::about(
            out,
            &opened.key.key_id,
            Some(&opened.version.version_id),
        ))
    }
}
