//! References resolved once: a `KeyId` (id, alias or ARN) to the key it names
//! ([`KeyTarget`]), a `CiphertextBlob` to the key version that sealed it ([`BlobTarget`]).
//!
//! The resolved value is what authorization checks *and* what the operation acts on, so an
//! alias moved between the two cannot make a call authorized for key A act on key B. A reference
//! to nothing resolves to its stand-in ARN (the key id as given, the alias's ARN, `key/*` for a
//! blob that is not ours) so that a caller without permission learns nothing about which keys
//! exist: `Forbidden.NoPermission` comes first, the "not found" only once authorized.

use std::sync::Arc;

use keywarden_core::blob;
use keywarden_core::model::KeyRef;
use keywarden_store::KeyRecord;

use crate::error::ApiError;
use crate::kms::{Kms, VersionCipher};

/// Why a reference names nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// No key with this id, or the alias's key is gone.
    Key,
    /// No alias with this name.
    Alias,
}

impl Missing {
    fn error(self) -> ApiError {
        match self {
            Missing::Key => ApiError::KeyNotFound,
            Missing::Alias => ApiError::AliasNotFound,
        }
    }
}

/// A key reference, resolved.
#[derive(Debug, Clone)]
pub enum KeyTarget {
    /// The key it names.
    Found(Arc<KeyRecord>),
    /// Nothing: the ARN authorized in its place, and why.
    Absent {
        /// The reference as given.
        reference: String,
        /// The stand-in ARN.
        arn: String,
        /// What is missing.
        missing: Missing,
    },
}

impl KeyTarget {
    /// Resolves `reference` (id, `alias/...`, key or alias ARN) on `kms`.
    pub async fn resolve(kms: &Kms, reference: &str) -> Result<KeyTarget, ApiError> {
        let key_ref = KeyRef::parse(reference);
        let absent = |missing| Ok(Self::absent(kms, reference, &key_ref, missing));
        if !kms.realm.owns_arn(reference) {
            return absent(Missing::Key);
        }
        let key_id = match &key_ref {
            KeyRef::Id(id) => id.clone(),
            KeyRef::Alias(name) => match kms.alias_target(name).await {
                Ok(id) => id,
                Err(ApiError::AliasNotFound) => return absent(Missing::Alias),
                Err(e) => return Err(e),
            },
        };
        match kms.key(&key_id).await {
            Ok(key) => Ok(KeyTarget::Found(key)),
            Err(ApiError::KeyNotFound) => absent(Missing::Key),
            Err(e) => Err(e),
        }
    }

    /// Resolves an optional reference; `None` when none was given.
    pub async fn resolve_opt(
        kms: &Kms,
        reference: Option<&str>,
    ) -> Result<Option<KeyTarget>, ApiError> {
        match reference {
            Some(r) => Ok(Some(Self::resolve(kms, r).await?)),
            None => Ok(None),
        }
    }

    fn absent(kms: &Kms, reference: &str, key_ref: &KeyRef, missing: Missing) -> KeyTarget {
        let arn = match key_ref {
            KeyRef::Id(id) => kms.realm.key_arn(id),
            KeyRef::Alias(name) => kms.realm.alias_arn(name),
        };
        KeyTarget::Absent {
            reference: reference.to_owned(),
            arn,
            missing,
        }
    }

    /// The ARN to authorize.
    pub fn arn(&self, kms: &Kms) -> String {
        match self {
            KeyTarget::Found(key) => kms.realm.key_arn(&key.key_id),
            KeyTarget::Absent { arn, .. } => arn.clone(),
        }
    }

    /// The resolved key id, else the reference as given: what the audit record names.
    pub fn audit_id(&self) -> String {
        match self {
            KeyTarget::Found(key) => key.key_id.clone(),
            KeyTarget::Absent { reference, .. } => reference.clone(),
        }
    }

    /// The key, or the "not found" error of what was missing.
    pub fn found(&self) -> Result<&Arc<KeyRecord>, ApiError> {
        match self {
            KeyTarget::Found(key) => Ok(key),
            KeyTarget::Absent { missing, .. } => Err(missing.error()),
        }
    }
}

/// A `CiphertextBlob`, resolved to the version that sealed it.
pub enum BlobTarget {
    /// A blob of a version known here, whose key exists.
    Known {
        /// The raw blob.
        raw: Vec<u8>,
        /// The version named by its prefix.
        version: Arc<VersionCipher>,
        /// The key owning that version.
        key: Arc<KeyRecord>,
    },
    /// Not base64, not a blob, or of a version or key unknown here (destroyed, foreign): the
    /// three are indistinguishable once a key's material is gone.
    Unknown,
}

impl BlobTarget {
    /// Resolves the base64 text of a blob.
    pub async fn resolve(kms: &Kms, text: &str) -> Result<BlobTarget, ApiError> {
        let Ok(raw) = blob::decode_base64(text) else {
            return Ok(BlobTarget::Unknown);
        };
        let Some(version_id) = blob::parse(&raw).ok().map(|p| p.version_id.to_owned()) else {
            return Ok(BlobTarget::Unknown);
        };
        let version = match kms.version(&version_id).await {
            Ok(v) => v,
            Err(ApiError::KeyVersionNotFound) => return Ok(BlobTarget::Unknown),
            Err(e) => return Err(e),
        };
        match kms.owner(&version).await {
            Ok(key) => Ok(BlobTarget::Known { raw, version, key }),
            Err(ApiError::KeyNotFound) => Ok(BlobTarget::Unknown),
            Err(e) => Err(e),
        }
    }

    /// The ARN to authorize: the key's, else `key/*` (only permissions on every key cover it).
    pub fn arn(&self, kms: &Kms) -> String {
        match self {
            BlobTarget::Known { key, .. } => kms.realm.key_arn(&key.key_id),
            BlobTarget::Unknown => kms.realm.key_arn("*"),
        }
    }
}
