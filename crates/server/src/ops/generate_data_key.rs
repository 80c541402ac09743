//! GenerateDataKey: a fresh random data key, returned in plaintext and sealed under the key's
//! primary version. As the service does, the sealed text is the *base64* of the data key, so
//! Decrypt of the blob returns exactly the `Plaintext` GenerateDataKey returned.
//! GenerateDataKeyWithoutPlaintext is the same [`DataKey`] operation without the plaintext.

use keywarden_core::context::EncryptionContext;
use keywarden_core::secret::SecretBytes;
use serde_json::json;
use zeroize::Zeroizing;

use super::shared::{
    KMS, audit_context, audit_key, b64, body, key_target_with, primary_cipher, refuse_recipient,
    seal,
};
use crate::action::AuditFacts;
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;
use crate::resolve::KeyTarget;

/// The parameters of both data-key actions: `KeyId`, `NumberOfBytes` / `KeySpec`,
/// `EncryptionContext`.
pub struct DataKeyParams {
    key_id: String,
    len: usize,
    context: EncryptionContext,
}

/// The parameters with the key resolved.
pub struct DataKeyResolved {
    key: KeyTarget,
    len: usize,
    context: EncryptionContext,
}

impl DataKeyParams {
    /// Parses the parameters.
    pub fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        refuse_recipient(req)?;
        Ok(DataKeyParams {
            key_id: req.required("KeyId")?.to_owned(),
            len: data_key_len(req)?,
            context: req.context("EncryptionContext")?,
        })
    }

    /// Resolves the key.
    pub async fn resolve(self, kms: &Kms) -> Result<DataKeyResolved, ApiError> {
        Ok(DataKeyResolved {
            key: KeyTarget::resolve(kms, &self.key_id).await?,
            len: self.len,
            context: self.context,
        })
    }
}

impl DataKeyResolved {
    /// The key with the context.
    pub fn targets(&self, kms: &Kms) -> Vec<Target> {
        key_target_with(&self.key, kms, &self.context)
    }

    /// The key and the context.
    pub fn audit(&self, facts: &mut AuditFacts) {
        audit_key(&self.key, facts);
        facts.encryption_context = audit_context(&self.context);
    }
}

/// Makes the data key; its plaintext goes in the answer when `with_plaintext`.
pub async fn generate(
    r: DataKeyResolved,
    call: &Call<'_>,
    with_plaintext: bool,
) -> Result<Reply, ApiError> {
    let key = r.key.found()?;
    let version = primary_cipher(call.kms, key).await?;
    if call.dry_run {
        return Err(ApiError::DryRun);
    }
    let dk = SecretBytes::random(r.len)
        .map_err(|_| ApiError::internal(std::io::Error::other("rng failure")))?;
    let dk_b64 = Zeroizing::new(b64(dk.expose_secret()));
    let blob = seal(&version, &r.context, dk_b64.as_bytes())?;
    let mut out = body([
        ("KeyId", json!(key.key_id)),
        ("KeyVersionId", json!(version.version_id)),
        ("CiphertextBlob", json!(blob)),
    ]);
    if with_plaintext {
        out.insert("Plaintext".into(), json!(dk_b64.as_str()));
    }
    Ok(Reply::about(out, &key.key_id, Some(&version.version_id)))
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

/// GenerateDataKey (`PLAINTEXT`) and GenerateDataKeyWithoutPlaintext: one operation that
/// differs only in whether the answer carries the data key.
pub struct DataKey<const PLAINTEXT: bool>(DataKeyParams);

/// GenerateDataKey.
pub type GenerateDataKey = DataKey<true>;

impl<const PLAINTEXT: bool> Operation for DataKey<PLAINTEXT> {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = if PLAINTEXT {
        "GenerateDataKey"
    } else {
        "GenerateDataKeyWithoutPlaintext"
    };
    const DRY_RUN: bool = true;
    type Resolved = DataKeyResolved;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        DataKeyParams::parse(req).map(Self)
    }

    async fn resolve(self, kms: &Kms, _: &Caller) -> Result<DataKeyResolved, ApiError> {
        self.0.resolve(kms).await
    }

    fn targets(r: &DataKeyResolved, kms: &Kms) -> Vec<Target> {
        r.targets(kms)
    }

    fn audit(r: &DataKeyResolved, facts: &mut AuditFacts) {
        r.audit(facts);
    }

    async fn run(r: DataKeyResolved, call: &Call<'_>) -> Result<Reply, ApiError> {
        generate(r, call, PLAINTEXT).await
    }
}
