//! Data keys and the [`KeyWrapper`] trait: the only way this crate talks to a key service.
//!
//! The library never knows about HTTP. A KMS client implements [`KeyWrapper`] by calling
//! `GenerateDataKey`, `Encrypt` and `Decrypt`; tests use
//! [`testing::LocalWrapper`](crate::testing::LocalWrapper).

use std::collections::BTreeMap;

use zeroize::Zeroize;

use crate::error::{Error, WrapError};

/// The encryption context: string pairs, sorted by key (canonical by construction). It is
/// stored in the header in clear, passed to the key service on every wrap and unwrap, and mixed
/// into the per-file key derivation. Never put secrets in it.
pub type EncryptionContext = BTreeMap<String, String>;

/// Length of a KENV data key in bytes (AES-256).
pub const DATA_KEY_LEN: usize = 32;

/// A 32-byte plaintext data key. Zeroized on drop; no `Debug`, `Clone` or `Display`.
pub struct DataKey(Box<[u8; DATA_KEY_LEN]>);

impl DataKey {
    /// Takes ownership of key bytes; the caller should zeroize any other copy it holds.
    pub fn from_array(mut bytes: [u8; DATA_KEY_LEN]) -> Self {
        let key = Self(Box::new(bytes));
        bytes.zeroize();
        key
    }

    /// Copies a key from a slice; `None` unless it is exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut key = Box::new([0u8; DATA_KEY_LEN]);
        if bytes.len() != DATA_KEY_LEN {
            return None;
        }
        key.copy_from_slice(bytes);
        Some(Self(key))
    }

    /// A fresh key from the system CSPRNG.
    pub fn generate() -> Result<Self, Error> {
        let mut key = Box::new([0u8; DATA_KEY_LEN]);
        fill_random(key.as_mut_slice())?;
        Ok(Self(key))
    }

    /// The key bytes. Keep the borrow short and never log it.
    pub fn expose_secret(&self) -> &[u8; DATA_KEY_LEN] {
        &self.0
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A data key wrapped under one CMK: the CMK's id (what the header shows and the reader may use
/// to pick a key) and the key service's opaque blob (for keywarden and Alibaba KMS, the decoded
/// bytes of `CiphertextBlob`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WrappedKey {
    /// The CMK id (or ARN) the blob is wrapped under. UTF-8, 1..=[`MAX_KEY_ID_LEN`] bytes.
    ///
    /// [`MAX_KEY_ID_LEN`]: crate::header::MAX_KEY_ID_LEN
    pub key_id: String,
    /// The wrapped key, opaque to this crate. 1..=[`MAX_BLOB_LEN`] bytes.
    ///
    /// [`MAX_BLOB_LEN`]: crate::header::MAX_BLOB_LEN
    pub blob: Vec<u8>,
}

/// Generates, wraps and unwraps data keys with a key service. Implemented by the KMS client;
/// the envelope code calls it only before the body is processed (never from worker threads
/// concurrently), but it must be `Send + Sync` so callers can share one.
pub trait KeyWrapper: Send + Sync {
    /// A new data key under `key_id`: its 32 plaintext bytes and its wrapped form. The returned
    /// `WrappedKey::key_id` may be the service's canonical id for `key_id` (an alias resolved to
    /// a key id); it is what the header records.
    fn generate_data_key(
        &self,
        key_id: &str,
        context: &EncryptionContext,
    ) -> Result<(DataKey, WrappedKey), WrapError>;

    /// Wraps an existing data key under another CMK (extra recipients, rewrap).
    fn wrap_data_key(
        &self,
        key_id: &str,
        data_key: &DataKey,
        context: &EncryptionContext,
    ) -> Result<WrappedKey, WrapError>;

    /// Unwraps a data key; the service finds the CMK from the blob. `context` must be the one
    /// used at wrap time (the header's).
    fn unwrap_data_key(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<DataKey, WrapError>;
}

/// Fills `out` from the system CSPRNG.
pub(crate) fn fill_random(out: &mut [u8]) -> Result<(), Error> {
    aws_lc_rs::rand::fill(out).map_err(|_| Error::Internal("random generator failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_key_from_slice_checks_length() {
        assert!(DataKey::from_slice(&[1u8; 31]).is_none());
        assert!(DataKey::from_slice(&[1u8; 33]).is_none());
        let key = DataKey::from_slice(&[7u8; 32]).unwrap();
        assert_eq!(key.expose_secret(), &[7u8; 32]);
    }

    #[test]
    fn generated_keys_differ() {
        let a = DataKey::generate().unwrap();
        let b = DataKey::generate().unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        let c = DataKey::from_array([3u8; 32]);
        assert_eq!(c.expose_secret(), &[3u8; 32]);
    }
}
