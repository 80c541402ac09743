//! CreateKey: a new CMK with its first version (and its `Policy`, when given, in the same
//! transaction), committed before the answer. Without `Policy` the key has the default key
//! policy; a `Policy` is checked as SetKeyPolicy checks it (language, size, lock-out).

use keywarden_core::model::{
    AutomaticRotation, KeySpec, KeyState, KeyUsage, Origin, ProtectionLevel,
};
use keywarden_store::{KeyRecord, StoreError, TagRecord, VersionRecord};

use super::set_key_policy::{self, PolicyParam};
use super::shared::{KMS, body, collection};
use super::{metadata::key_metadata, tagging, update_rotation_policy};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::{ApiRequest, plain_text};

/// Longest key description, in characters (also for UpdateKeyDescription).
pub const MAX_DESCRIPTION_CHARS: usize = 8192;

/// The validated parameters.
pub struct CreateKey {
    description: String,
    spec: KeySpec,
    usage: KeyUsage,
    rotation_interval: Option<i64>,
    tags: Vec<TagRecord>,
    /// The key's own policy; `None`: the default key policy.
    policy: Option<PolicyParam>,
}

impl Operation for CreateKey {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "CreateKey";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        params(req)
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(_: &Self, kms: &Kms) -> Vec<Target> {
        vec![Target::of(vec![collection(kms, "key")])]
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        create(call, p).await
    }
}

async fn create(call: &Call<'_>, p: CreateKey) -> Result<Reply, ApiError> {
    let (kms, caller) = (call.kms, call.caller);
    let now = kms.now();
    let key_id = uuid::Uuid::new_v4().to_string();
    if let Some(policy) = &p.policy {
        set_key_policy::refuse_lock_out(call.access, policy, &kms.realm.key_arn(&key_id))?;
    }
    let version_id = uuid::Uuid::new_v4().to_string();
    let sealed_material = kms.new_material(p.spec, &key_id, &version_id)?;
    let key = KeyRecord {
        key_id: key_id.clone(),
        description: p.description,
        key_spec: p.spec,
        key_usage: p.usage,
        origin: Origin::AliyunKms,
        protection_level: ProtectionLevel::Software,
        state: KeyState::Enabled,
        creator: caller_account(kms, caller),
        creation_date: now,
        primary_version_id: version_id.clone(),
        last_rotation_date: now,
        automatic_rotation: if p.rotation_interval.is_some() {
            AutomaticRotation::Enabled
        } else {
            AutomaticRotation::Disabled
        },
        rotation_interval: p.rotation_interval,
        next_rotation_date: p.rotation_interval.map(|i| now + i),
        delete_date: None,
        deletion_protection: false,
        deletion_protection_description: String::new(),
        material_expire_time: None,
        revision: 0,
    };
    let version = VersionRecord {
        key_id: key_id.clone(),
        version_id,
        creation_date: now,
        sealed_material,
    };
    let created = match &p.policy {
        Some(policy) => {
            kms.store
                .create_key_with_policy(&key, &version, &policy.document)
                .await
        }
        None => kms.store.create_key(&key, &version).await,
    };
    created.map_err(|e| match e {
        StoreError::AlreadyExists => ApiError::internal(std::io::Error::other("key id collision")),
        other => other.into(),
    })?;
    if !p.tags.is_empty() {
        kms.store.put_tags(&key_id, &p.tags).await?;
    }
    let out = body([("KeyMetadata", key_metadata(&key, &kms.realm))]);
    Ok(Reply::about(out, &key_id, None))
}

fn caller_account(kms: &Kms, _caller: &Caller) -> String {
    kms.realm.account.clone()
}

fn params(req: &ApiRequest) -> Result<CreateKey, ApiError> {
    let description = req.param("Description").unwrap_or_default().to_owned();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::invalid(
            "Description",
            format!("longer than {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    plain_text("Description", &description)?;
    let spec = req.parsed::<KeySpec>("KeySpec")?.unwrap_or(KeySpec::Aes256);
    if spec.symmetric_len().is_none() {
        return Err(ApiError::UnsupportedOperation(format!(
            "KeySpec {spec} is not supported; keywarden offers Aliyun_AES_256, Aliyun_AES_192 and Aliyun_AES_128"
        )));
    }
    let usage = req
        .parsed::<KeyUsage>("KeyUsage")?
        .unwrap_or(KeyUsage::EncryptDecrypt);
    if usage != KeyUsage::EncryptDecrypt {
        return Err(ApiError::invalid(
            "KeyUsage",
            format!("{spec} keys can only be ENCRYPT/DECRYPT"),
        ));
    }
    match req.parsed::<Origin>("Origin")? {
        None | Some(Origin::AliyunKms) => {}
        Some(Origin::External) => {
            return Err(ApiError::UnsupportedOperation(
                "Origin EXTERNAL (imported key material) is not supported yet".into(),
            ));
        }
    }
    match req.parsed::<ProtectionLevel>("ProtectionLevel")? {
        None | Some(ProtectionLevel::Software) => {}
        Some(ProtectionLevel::Hsm) => {
            return Err(ApiError::UnsupportedOperation(
                "ProtectionLevel HSM needs a configured PKCS#11 token".into(),
            ));
        }
    }
    Ok(CreateKey {
        description,
        spec,
        usage,
        rotation_interval: update_rotation_policy::interval(
            req,
            req.bool("EnableAutomaticRotation")?.unwrap_or(false),
        )?,
        tags: tagging::tags_json(req, "Tags")?,
        policy: req
            .optional("Policy")
            .map(set_key_policy::policy_param)
            .transpose()?,
    })
}
