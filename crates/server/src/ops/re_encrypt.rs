//! ReEncrypt: moves a `CiphertextBlob` to another key and/or another encryption context
//! without the plaintext leaving the server. The blob is opened with `SourceEncryptionContext`
//! (its key must be Enabled) and sealed again under the primary version of `DestinationKeyId`
//! (Enabled, ENCRYPT/DECRYPT) with `DestinationEncryptionContext`. The plaintext lives only in
//! a zeroizing buffer for the duration of the call. The answer names the destination key and
//! version, which is what a later Decrypt of the new blob uses.
//!
//! Only symmetric blobs exist in keywarden, so `SourceEncryptionAlgorithm` (public-key
//! ciphertexts) is refused; `SourceKeyId` and `SourceKeyVersionId`, when given, must name the
//! blob's own key and version. Both keys need `kms:ReEncrypt`, each with its own context.

use keywarden_core::context::EncryptionContext;
use serde_json::json;

use super::shared::{KMS, Opened, audit_context, body, open_blob, primary_cipher, seal};
use crate::action::AuditFacts;
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;
use crate::resolve::{BlobTarget, KeyTarget};

/// The parameters.
pub struct ReEncrypt {
    blob: String,
    destination: String,
    source_context: EncryptionContext,
    destination_context: EncryptionContext,
    source_key: Option<String>,
    source_version: Option<String>,
}

/// The blob and both keys resolved.
pub struct Resolved {
    blob: BlobTarget,
    destination: KeyTarget,
    source_context: EncryptionContext,
    destination_context: EncryptionContext,
    source_key: Option<KeyTarget>,
    source_version: Option<String>,
}

impl Operation for ReEncrypt {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "ReEncrypt";
    const DRY_RUN: bool = true;
    type Resolved = Resolved;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        let p = ReEncrypt {
            blob: req.required("CiphertextBlob")?.to_owned(),
            destination: req.required("DestinationKeyId")?.to_owned(),
            source_context: req.context("SourceEncryptionContext")?,
            destination_context: req.context("DestinationEncryptionContext")?,
            source_key: req.optional("SourceKeyId").map(str::to_owned),
            source_version: req.optional("SourceKeyVersionId").map(str::to_owned),
        };
        if req.optional("SourceEncryptionAlgorithm").is_some() {
            return Err(ApiError::UnsupportedOperation(
                "re-encrypting public-key ciphertexts (SourceEncryptionAlgorithm) is not supported"
                    .into(),
            ));
        }
        Ok(p)
    }

    async fn resolve(self, kms: &Kms, _: &Caller) -> Result<Resolved, ApiError> {
        Ok(Resolved {
            blob: BlobTarget::resolve(kms, &self.blob).await?,
            destination: KeyTarget::resolve(kms, &self.destination).await?,
            source_key: KeyTarget::resolve_opt(kms, self.source_key.as_deref()).await?,
            source_context: self.source_context,
            destination_context: self.destination_context,
            source_version: self.source_version,
        })
    }

    fn targets(r: &Resolved, kms: &Kms) -> Vec<Target> {
        vec![
            Target {
                resources: vec![r.blob.arn(kms)],
                context: Some(r.source_context.pairs().clone()),
            },
            Target {
                resources: vec![r.destination.arn(kms)],
                context: Some(r.destination_context.pairs().clone()),
            },
        ]
    }

    /// The destination key and version are recorded once sealed (in the [`Reply`]).
    fn audit(r: &Resolved, facts: &mut AuditFacts) {
        facts.encryption_context = audit_context(&r.destination_context);
    }

    async fn run(r: Resolved, call: &Call<'_>) -> Result<Reply, ApiError> {
        let opened = open_blob(&r.blob, &r.source_context)?;
        check_source(&r, &opened)?;
        let key = r.destination.found()?;
        let version = primary_cipher(call.kms, key).await?;
        if call.dry_run {
            return Err(ApiError::DryRun);
        }
        let sealed = seal(
            &version,
            &r.destination_context,
            opened.plaintext.expose_secret(),
        )?;
        let out = body([
            ("KeyId", json!(key.key_id)),
            ("KeyVersionId", json!(version.version_id)),
            ("CiphertextBlob", json!(sealed)),
        ]);
        Ok(Reply::about(out, &key.key_id, Some(&version.version_id)))
    }
}

/// `SourceKeyId` and `SourceKeyVersionId`, when given, must match the blob.
fn check_source(r: &Resolved, opened: &Opened<'_>) -> Result<(), ApiError> {
    if let Some(version_id) = &r.source_version {
        if *version_id != opened.version.version_id {
            return Err(ApiError::invalid(
                "SourceKeyVersionId",
                "is not the key version of the CiphertextBlob",
            ));
        }
    }
    if let Some(source) = &r.source_key {
        if source.found()?.key_id != opened.key.key_id {
            return Err(ApiError::invalid(
                "SourceKeyId",
                "is not the key of the CiphertextBlob",
            ));
        }
    }
    Ok(())
}
