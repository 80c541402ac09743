//! The resources of each KMS action (`acs:kms:<region>:<account>:...`).
//!
//! | action | resources |
//! |---|---|
//! | CreateKey, ListKeys, DescribeRegions | `key` (the key collection) |
//! | ListAliases | `alias` (the alias collection) |
//! | CreateAlias, UpdateAlias | `alias/<name>`, `key/<new target>`, and for UpdateAlias `key/<current target>` |
//! | DeleteAlias | `alias/<name>`, `key/<current target>` |
//! | Decrypt | `key/<id>` of the key whose version sealed the blob, with `EncryptionContext` |
//! | ReEncrypt | source `key/<id>` (from the blob) with `SourceEncryptionContext`, and the destination key with `DestinationEncryptionContext`; both need `kms:ReEncrypt` |
//! | Encrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext | `key/<id>`, with `EncryptionContext` |
//! | TagResources, UntagResources | `key/<id>` of every `ResourceId.N` |
//! | ListTagResources | every `ResourceId.N`, or `key` when none is named |
//! | SetDeletionProtection | `key/<id>` of `ProtectedResourceArn` (or `KeyId`) |
//! | every other action | `key/<id>` of `KeyId` |
//!
//! A key named by id or key ARN is `key/<id>` as given, whether or not it exists, so a caller
//! without permission learns nothing about which keys exist (`Forbidden.NoPermission` either
//! way). An alias is resolved to its key; an alias that does not exist is authorized as
//! `alias/<name>`, which key permissions do not cover. A request that identifies no key (the
//! parameter is missing, the blob is not one of ours) is authorized against the literal
//! `key/*`, which only permissions on every key (`key/*`, `*`) cover; the operation then
//! refuses it for what it is (`MissingParameter`, `InvalidParameter`).

use std::collections::BTreeMap;

use keywarden_core::blob;
use keywarden_core::context::EncryptionContext;
use keywarden_core::model::KeyRef;

use super::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// The targets of KMS `action` (already known to be one of `ops::ACTIONS`).
pub async fn kms_targets(
    kms: &Kms,
    action: &str,
    req: &ApiRequest,
) -> Result<Vec<Target>, ApiError> {
    let arns = Arns(kms);
    let target = match action {
        "CreateKey" | "ListKeys" | "DescribeRegions" => Target::of(vec![arns.collection("key")]),
        "ListAliases" => Target::of(vec![arns.collection("alias")]),
        "CreateAlias" | "UpdateAlias" | "DeleteAlias" => {
            Target::of(alias_resources(kms, action, req).await?)
        }
        "Decrypt" => Target {
            resources: vec![blob_key(kms, req.optional("CiphertextBlob")).await],
            context: context(req, "EncryptionContext"),
        },
        "ReEncrypt" => {
            return Ok(vec![
                Target {
                    resources: vec![blob_key(kms, req.optional("CiphertextBlob")).await],
                    context: context(req, "SourceEncryptionContext"),
                },
                Target {
                    resources: vec![key(kms, req.optional("DestinationKeyId")).await?],
                    context: context(req, "DestinationEncryptionContext"),
                },
            ]);
        }
        "Encrypt" | "GenerateDataKey" | "GenerateDataKeyWithoutPlaintext" => Target {
            resources: vec![key(kms, req.optional("KeyId")).await?],
            context: context(req, "EncryptionContext"),
        },
        "TagResources" | "UntagResources" | "ListTagResources" => {
            let ids = req.indexed_values("ResourceId").unwrap_or_default();
            let mut resources = Vec::with_capacity(ids.len());
            for id in ids {
                resources.push(key(kms, Some(id)).await?);
            }
            if resources.is_empty() {
                resources.push(if action == "ListTagResources" {
                    arns.collection("key")
                } else {
                    arns.any_key()
                });
            }
            Target::of(resources)
        }
        "SetDeletionProtection" => {
            let named = req
                .optional("ProtectedResourceArn")
                .or_else(|| req.optional("KeyId"));
            Target::of(vec![key(kms, named).await?])
        }
        _ => Target::of(vec![key(kms, req.optional("KeyId")).await?]),
    };
    Ok(vec![target])
}

struct Arns<'a>(&'a Kms);

impl Arns<'_> {
    fn collection(&self, kind: &str) -> String {
        format!(
            "acs:kms:{}:{}:{kind}",
            self.0.realm.region, self.0.realm.account
        )
    }

    fn any_key(&self) -> String {
        self.0.realm.key_arn("*")
    }
}

/// The ARN a key reference stands for: the key's (an alias resolved), the alias's when the alias
/// does not exist, `key/*` when nothing is named.
async fn key(kms: &Kms, reference: Option<&str>) -> Result<String, ApiError> {
    let Some(reference) = reference else {
        return Ok(kms.realm.key_arn("*"));
    };
    match KeyRef::parse(reference) {
        KeyRef::Id(id) => Ok(kms.realm.key_arn(&id)),
        KeyRef::Alias(name) => match kms.resolve(&name).await {
            Ok(k) => Ok(kms.realm.key_arn(&k.key_id)),
            Err(ApiError::AliasNotFound | ApiError::KeyNotFound) => Ok(kms.realm.alias_arn(&name)),
            Err(e) => Err(e),
        },
    }
}

/// The alias's ARN, the named key, and the alias's current key (UpdateAlias, DeleteAlias).
async fn alias_resources(
    kms: &Kms,
    action: &str,
    req: &ApiRequest,
) -> Result<Vec<String>, ApiError> {
    let Some(name) = req.optional("AliasName") else {
        return Ok(vec![kms.realm.alias_arn("alias/*")]);
    };
    let mut resources = vec![kms.realm.alias_arn(name)];
    if action != "DeleteAlias" {
        resources.push(key(kms, req.optional("KeyId")).await?);
    }
    if action != "CreateAlias" && name.starts_with("alias/") {
        match kms.resolve(name).await {
            Ok(current) => resources.push(kms.realm.key_arn(&current.key_id)),
            Err(ApiError::AliasNotFound | ApiError::KeyNotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(resources)
}

/// The ARN of the key whose version sealed `blob`, or `key/*` when the blob names no version
/// known here.
async fn blob_key(kms: &Kms, blob_text: Option<&str>) -> String {
    let version_id = blob_text
        .and_then(|t| blob::decode_base64(t).ok())
        .and_then(|raw| blob::parse(&raw).ok().map(|p| p.version_id.to_owned()));
    match version_id {
        Some(v) => match kms.version(&v).await {
            Ok(version) => kms.realm.key_arn(&version.key_id),
            Err(_) => kms.realm.key_arn("*"),
        },
        None => kms.realm.key_arn("*"),
    }
}

/// The encryption context of parameter `name` (empty when absent); `None` when it does not
/// parse (the operation refuses it; conditions on the context then fail closed).
fn context(req: &ApiRequest, name: &str) -> Option<BTreeMap<String, String>> {
    EncryptionContext::parse(req.param(name))
        .ok()
        .map(|c| c.pairs().clone())
}
