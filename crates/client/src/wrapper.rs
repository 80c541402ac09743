//! [`KmsWrapper`]: the envelope crate's `KeyWrapper` over a [`KmsClient`].
//!
//! - generate: `GenerateDataKey` (32 bytes); the header records the resolved key id.
//! - wrap (extra CMKs, rewrap): `Encrypt` of the base64 data key, so that `Decrypt` returns the
//!   same text as for a generated key.
//! - unwrap: `Decrypt` of the blob with the header's encryption context.
//!
//! Unwrapped data keys are cached (by blob and context) for a bounded time and number of uses, so
//! decrypting a directory of files that share a data key costs one KMS call, not one per file.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keywarden_envelope::{
    DataKey, EncryptionContext, KeyWrapper, WrapError, WrapErrorKind, WrappedKey,
};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::client::{ClientError, KmsClient};

/// Limits of the unwrap cache.
#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    /// How long an unwrapped key may be reused.
    pub max_age: Duration,
    /// How many times an unwrapped key may be reused.
    pub max_uses: u32,
    /// How many keys are kept at once.
    pub max_entries: usize,
}

impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(300),
            max_uses: 10_000,
            max_entries: 1024,
        }
    }
}

struct Cached {
    key: Zeroizing<[u8; 32]>,
    since: Instant,
    uses: u32,
}

/// A `KeyWrapper` that calls the KMS.
pub struct KmsWrapper<'a> {
    client: &'a KmsClient,
    limits: CacheLimits,
    cache: Mutex<HashMap<(Vec<u8>, String), Cached>>,
}

impl<'a> KmsWrapper<'a> {
    /// Wraps `client` with the default cache limits.
    pub fn new(client: &'a KmsClient) -> Self {
        Self::with_limits(client, CacheLimits::default())
    }

    /// Wraps `client` with explicit cache limits.
    pub fn with_limits(client: &'a KmsClient, limits: CacheLimits) -> Self {
        Self {
            client,
            limits,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, cache_key: &(Vec<u8>, String)) -> Option<DataKey> {
        let mut cache = self.cache.lock().ok()?;
        let entry = cache.get_mut(cache_key)?;
        if entry.since.elapsed() > self.limits.max_age || entry.uses >= self.limits.max_uses {
            cache.remove(cache_key);
            return None;
        }
        entry.uses += 1;
        Some(DataKey::from_array(*entry.key))
    }

    fn remember(&self, cache_key: (Vec<u8>, String), key: &DataKey) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= self.limits.max_entries {
                cache.clear();
            }
            let entry = Cached {
                key: Zeroizing::new(*key.expose_secret()),
                since: Instant::now(),
                uses: 1,
            };
            cache.insert(cache_key, entry);
        }
    }
}

/// The wire form of a context: compact JSON, or nothing when empty.
fn context_param(context: &EncryptionContext) -> Option<String> {
    (!context.is_empty()).then(|| serde_json::to_string(context).unwrap_or_default())
}

fn params(pairs: &[(&str, String)], context: &EncryptionContext) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    if let Some(ctx) = context_param(context) {
        out.push(("EncryptionContext".into(), ctx));
    }
    out
}

fn field<'v>(v: &'v Value, name: &str) -> Result<&'v str, WrapError> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| WrapError::new(WrapErrorKind::Other, format!("KMS answer has no {name}")))
}

/// Decodes the base64 `Plaintext` of GenerateDataKey / Decrypt into a 32-byte data key.
fn data_key(plaintext_b64: &str) -> Result<DataKey, WrapError> {
    let raw = Zeroizing::new(STANDARD.decode(plaintext_b64).map_err(|_| {
        WrapError::new(
            WrapErrorKind::InvalidCiphertext,
            "the unwrapped data key is not base64",
        )
    })?);
    DataKey::from_slice(&raw).ok_or_else(|| {
        WrapError::new(
            WrapErrorKind::InvalidCiphertext,
            format!("the unwrapped data key has {} bytes, not 32", raw.len()),
        )
    })
}

/// Maps a client error to the envelope's typed kinds.
pub fn wrap_error(e: ClientError) -> WrapError {
    let kind = match &e {
        ClientError::Unreachable { .. } => WrapErrorKind::Unreachable,
        ClientError::Api { code, status, .. } => match code.as_str() {
            "Forbidden.KeyNotFound"
            | "Forbidden.AliasNotFound"
            | "Forbidden.KeyVersionNotFound" => WrapErrorKind::NotFound,
            c if c.starts_with("Rejected.") => WrapErrorKind::KeyDisabled,
            c if c.starts_with("Forbidden.")
                || c.starts_with("InvalidAccessKeyId")
                || c == "SignatureDoesNotMatch"
                || c == "IncompleteSignature" =>
            {
                WrapErrorKind::Unauthorized
            }
            "InvalidParameter" => WrapErrorKind::InvalidCiphertext,
            _ if *status >= 500 => WrapErrorKind::Unreachable,
            _ => WrapErrorKind::Other,
        },
        ClientError::Config(_) => WrapErrorKind::Unauthorized,
        _ => WrapErrorKind::Other,
    };
    WrapError::new(kind, e.to_string()).with_source(e)
}

impl KeyWrapper for KmsWrapper<'_> {
    fn generate_data_key(
        &self,
        key_id: &str,
        context: &EncryptionContext,
    ) -> Result<(DataKey, WrappedKey), WrapError> {
        let p = params(
            &[("KeyId", key_id.to_owned()), ("NumberOfBytes", "32".into())],
            context,
        );
        let v = self
            .client
            .call("GenerateDataKey", &p)
            .map_err(wrap_error)?;
        let key = data_key(field(&v, "Plaintext")?)?;
        let blob = STANDARD
            .decode(field(&v, "CiphertextBlob")?)
            .map_err(|_| WrapError::new(WrapErrorKind::Other, "CiphertextBlob is not base64"))?;
        Ok((
            key,
            WrappedKey {
                key_id: field(&v, "KeyId")?.to_owned(),
                blob,
            },
        ))
    }

    fn wrap_data_key(
        &self,
        key_id: &str,
        data_key: &DataKey,
        context: &EncryptionContext,
    ) -> Result<WrappedKey, WrapError> {
        let text = Zeroizing::new(STANDARD.encode(data_key.expose_secret()));
        let p = params(
            &[
                ("KeyId", key_id.to_owned()),
                ("Plaintext", text.as_str().to_owned()),
            ],
            context,
        );
        let v = self.client.call("Encrypt", &p).map_err(wrap_error)?;
        let blob = STANDARD
            .decode(field(&v, "CiphertextBlob")?)
            .map_err(|_| WrapError::new(WrapErrorKind::Other, "CiphertextBlob is not base64"))?;
        Ok(WrappedKey {
            key_id: field(&v, "KeyId")?.to_owned(),
            blob,
        })
    }

    fn unwrap_data_key(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<DataKey, WrapError> {
        let cache_key = (
            wrapped.blob.clone(),
            context_param(context).unwrap_or_default(),
        );
        if let Some(key) = self.cached(&cache_key) {
            return Ok(key);
        }
        let p = params(
            &[("CiphertextBlob", STANDARD.encode(&wrapped.blob))],
            context,
        );
        let v = self.client.call("Decrypt", &p).map_err(wrap_error)?;
        let key = data_key(field(&v, "Plaintext")?)?;
        self.remember(cache_key, &key);
        Ok(key)
    }
}

/// Unwraps a seed-format blob (any data-key length): `Decrypt` with no context, base64-decoded.
pub fn unwrap_raw(client: &KmsClient, blob_b64: &str) -> Result<Zeroizing<Vec<u8>>, WrapError> {
    let v = client
        .call("Decrypt", &[("CiphertextBlob".into(), blob_b64.to_owned())])
        .map_err(wrap_error)?;
    STANDARD
        .decode(field(&v, "Plaintext")?)
        .map(Zeroizing::new)
        .map_err(|_| {
            WrapError::new(
                WrapErrorKind::InvalidCiphertext,
                "the unwrapped data key is not base64",
            )
        })
}
