//! [`KmsWrapper`]: the envelope crate's `KeyWrapper` over a [`KmsClient`].
//!
//! - generate: `GenerateDataKey` (32 bytes); the header records the resolved key id.
//! - wrap (extra CMKs, rewrap): `Encrypt` of the base64 data key, so that `Decrypt` returns the
//!   same text as for a generated key.
//! - unwrap: `Decrypt` of the blob with the header's encryption context.
//!
//! Unwrapped data keys are cached (by blob and context) for a bounded time and number of uses, so
//! decrypting a directory of files that share a data key costs one KMS call, not one per file.
//!
//! Failures map to `WrapErrorKind` through [`ErrorClass`] ([`wrap_kind`]), never by reading wire
//! codes here, and keep the [`ClientError`] as their source.

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

use crate::class::{ErrorClass, Refusal};
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
        .ok_or_else(|| bad_answer(format!("KMS answer has no {name}")))
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

/// Maps a client error to the envelope's typed kinds, through its [`ErrorClass`]. The client
/// error stays attached as the source, so the CLI reads its exit code from the same class.
pub fn wrap_error(e: ClientError) -> WrapError {
    WrapError::new(wrap_kind(e.class()), e.to_string()).with_source(e)
}

/// The envelope's kind for a class of client error.
pub fn wrap_kind(class: ErrorClass) -> WrapErrorKind {
    match class {
        ErrorClass::Credentials | ErrorClass::Config => WrapErrorKind::Unauthorized,
        ErrorClass::Refused(Refusal::NotAllowed) => WrapErrorKind::Unauthorized,
        ErrorClass::Refused(Refusal::NotFound) => WrapErrorKind::NotFound,
        ErrorClass::Refused(Refusal::Unusable) => WrapErrorKind::KeyDisabled,
        ErrorClass::InvalidCiphertext => WrapErrorKind::InvalidCiphertext,
        ErrorClass::Unreachable | ErrorClass::Server | ErrorClass::Throttled => {
            WrapErrorKind::Unreachable
        }
        ErrorClass::BadRequest | ErrorClass::Protocol => WrapErrorKind::Other,
    }
}

/// An answer without the field the API promises, or with a field that does not decode.
fn bad_answer(what: String) -> WrapError {
    wrap_error(ClientError::Protocol(what))
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
            .map_err(|_| bad_answer("CiphertextBlob is not base64".into()))?;
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
            .map_err(|_| bad_answer("CiphertextBlob is not base64".into()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_classification() {
        let cases = [
            (ErrorClass::Credentials, WrapErrorKind::Unauthorized),
            (ErrorClass::Config, WrapErrorKind::Unauthorized),
            (
                ErrorClass::Refused(Refusal::NotAllowed),
                WrapErrorKind::Unauthorized,
            ),
            (
                ErrorClass::Refused(Refusal::NotFound),
                WrapErrorKind::NotFound,
            ),
            (
                ErrorClass::Refused(Refusal::Unusable),
                WrapErrorKind::KeyDisabled,
            ),
            (
                ErrorClass::InvalidCiphertext,
                WrapErrorKind::InvalidCiphertext,
            ),
            (ErrorClass::Unreachable, WrapErrorKind::Unreachable),
            (ErrorClass::Server, WrapErrorKind::Unreachable),
            (ErrorClass::Throttled, WrapErrorKind::Unreachable),
            (ErrorClass::BadRequest, WrapErrorKind::Other),
            (ErrorClass::Protocol, WrapErrorKind::Other),
        ];
        for (class, kind) in cases {
            assert_eq!(wrap_kind(class), kind, "{class:?}");
        }
    }

    #[test]
    fn wrap_error_keeps_the_client_error() {
        let e = ClientError::Api {
            action: "GenerateDataKey".into(),
            status: 400,
            code: "InvalidParameter".into(),
            message: "bad".into(),
            request_id: "r".into(),
        };
        let w = wrap_error(e);
        assert_eq!(
            w.kind(),
            WrapErrorKind::Other,
            "a bad parameter is not a bad blob"
        );
        let source = std::error::Error::source(&w).and_then(|s| s.downcast_ref::<ClientError>());
        assert_eq!(source.and_then(ClientError::code), Some("InvalidParameter"));
        assert_eq!(
            bad_answer("no Plaintext".into()).kind(),
            WrapErrorKind::Other
        );
    }
}
