//! [`LocalWrapper`]: an in-memory [`KeyWrapper`] for tests, benches, examples and fuzzing
//! (feature `testing`).
//!
//! It holds AES-256 key-encryption keys by id and wraps a data key as
//! `"LW1" || u8 id_len || id || nonce (12) || AES-256-GCM(KEK, DK, aad) || tag (16)` with
//! `aad = "keywarden local wrap\0" || canonical context`, so a wrong context fails to unwrap,
//! as it does with the KMS. Not a key store: the keys live only as long as the value.

use std::collections::BTreeMap;
#[cfg(test)]
use std::sync::Mutex;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::error::{WrapError, WrapErrorKind};
use crate::header::encode_context;
use crate::keys::{DATA_KEY_LEN, DataKey, EncryptionContext, KeyWrapper, WrappedKey, fill_random};

const BLOB_MAGIC: &[u8; 3] = b"LW1";
const AAD_LABEL: &[u8] = b"keywarden local wrap\0";

struct Kek {
    key: LessSafeKey,
    enabled: bool,
}

/// An in-memory key service: AES-256 KEKs by id.
#[derive(Default)]
pub struct LocalWrapper {
    keks: BTreeMap<String, Kek>,
    #[cfg(test)]
    rng: Option<Mutex<DeterministicRng>>,
}

impl LocalWrapper {
    /// A wrapper with no keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the KEK `kek` under `key_id`.
    #[must_use]
    pub fn with_key(mut self, key_id: impl Into<String>, kek: &[u8; 32]) -> Self {
        // AES-256 accepts any 32-byte key, so this cannot fail.
        if let Ok(unbound) = UnboundKey::new(&AES_256_GCM, kek) {
            self.keks.insert(
                key_id.into(),
                Kek {
                    key: LessSafeKey::new(unbound),
                    enabled: true,
                },
            );
        }
        self
    }

    /// Adds a random KEK under `key_id`.
    #[must_use]
    pub fn with_random_key(self, key_id: impl Into<String>) -> Self {
        let mut kek = [0u8; 32];
        let _ = fill_random(&mut kek);
        self.with_key(key_id, &kek)
    }

    /// Disables `key_id`: later calls with it fail with [`WrapErrorKind::KeyDisabled`].
    pub fn disable(&mut self, key_id: &str) {
        if let Some(kek) = self.keks.get_mut(key_id) {
            kek.enabled = false;
        }
    }

    /// Makes data keys and wrap nonces a deterministic function of `seed` (vector generation).
    #[cfg(test)]
    pub(crate) fn deterministic(mut self, seed: u64) -> Self {
        self.rng = Some(Mutex::new(DeterministicRng { seed, counter: 0 }));
        self
    }

    fn random(&self, out: &mut [u8]) -> Result<(), WrapError> {
        #[cfg(test)]
        if let Some(rng) = &self.rng {
            let mut rng = rng.lock().map_err(|_| other("rng lock poisoned"))?;
            rng.fill(out);
            return Ok(());
        }
        fill_random(out).map_err(|e| other(&e.to_string()))
    }

    fn kek(&self, key_id: &str) -> Result<&LessSafeKey, WrapError> {
        match self.keks.get(key_id) {
            None => Err(WrapError::new(
                WrapErrorKind::NotFound,
                format!("no key {key_id:?}"),
            )),
            Some(kek) if !kek.enabled => Err(WrapError::new(
                WrapErrorKind::KeyDisabled,
                format!("key {key_id:?} is disabled"),
            )),
            Some(kek) => Ok(&kek.key),
        }
    }
}

impl KeyWrapper for LocalWrapper {
    fn generate_data_key(
        &self,
        key_id: &str,
        context: &EncryptionContext,
    ) -> Result<(DataKey, WrappedKey), WrapError> {
        self.kek(key_id)?;
        let mut bytes = [0u8; DATA_KEY_LEN];
        self.random(&mut bytes)?;
        let data_key = DataKey::from_array(bytes);
        let wrapped = self.wrap_data_key(key_id, &data_key, context)?;
        Ok((data_key, wrapped))
    }

    fn wrap_data_key(
        &self,
        key_id: &str,
        data_key: &DataKey,
        context: &EncryptionContext,
    ) -> Result<WrappedKey, WrapError> {
        let kek = self.kek(key_id)?;
        let id_len = u8::try_from(key_id.len()).map_err(|_| other("key id too long"))?;
        let mut nonce = [0u8; NONCE_LEN];
        self.random(&mut nonce)?;
        let mut blob = BLOB_MAGIC.to_vec();
        blob.push(id_len);
        blob.extend_from_slice(key_id.as_bytes());
        blob.extend_from_slice(&nonce);
        let mut sealed = data_key.expose_secret().to_vec();
        kek.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(context)?),
            &mut sealed,
        )
        .map_err(|_| other("seal failed"))?;
        blob.extend_from_slice(&sealed);
        Ok(WrappedKey {
            key_id: key_id.to_owned(),
            blob,
        })
    }

    fn unwrap_data_key(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<DataKey, WrapError> {
        let invalid = || WrapError::new(WrapErrorKind::InvalidCiphertext, "malformed wrapped key");
        let rest = wrapped
            .blob
            .strip_prefix(BLOB_MAGIC.as_slice())
            .ok_or_else(invalid)?;
        let (&id_len, rest) = rest.split_first().ok_or_else(invalid)?;
        let (id, rest) = rest
            .split_at_checked(usize::from(id_len))
            .ok_or_else(invalid)?;
        let (nonce, sealed) = rest.split_at_checked(NONCE_LEN).ok_or_else(invalid)?;
        let key_id = std::str::from_utf8(id).map_err(|_| invalid())?;
        let kek = self.kek(key_id)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| invalid())?;
        let mut buf = sealed.to_vec();
        let plain = kek
            .open_in_place(nonce, Aad::from(aad(context)?), &mut buf)
            .map_err(|_| {
                WrapError::new(
                    WrapErrorKind::InvalidCiphertext,
                    format!("cannot unwrap with {key_id:?}"),
                )
            })?;
        let data_key = DataKey::from_slice(plain).ok_or_else(invalid);
        zeroize::Zeroize::zeroize(&mut buf);
        data_key
    }
}

fn aad(context: &EncryptionContext) -> Result<Vec<u8>, WrapError> {
    let mut aad = AAD_LABEL.to_vec();
    aad.extend_from_slice(&encode_context(context).map_err(|e| other(&e.to_string()))?);
    Ok(aad)
}

fn other(message: &str) -> WrapError {
    WrapError::new(WrapErrorKind::Other, message)
}

/// SHA-256(seed || counter) blocks: reproducible "randomness" for test vectors only.
#[cfg(test)]
struct DeterministicRng {
    seed: u64,
    counter: u64,
}

#[cfg(test)]
impl DeterministicRng {
    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(32) {
            let mut input = self.seed.to_be_bytes().to_vec();
            input.extend_from_slice(&self.counter.to_be_bytes());
            self.counter += 1;
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &input);
            chunk.copy_from_slice(&digest.as_ref()[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn wrap_unwrap_round_trip_and_context_binding() {
        let w = LocalWrapper::new()
            .with_random_key("k1")
            .with_random_key("k2");
        let c = ctx(&[("a", "1")]);
        let (dk, wrapped) = w.generate_data_key("k1", &c).unwrap();
        assert_eq!(wrapped.key_id, "k1");
        assert_eq!(
            w.unwrap_data_key(&wrapped, &c).unwrap().expose_secret(),
            dk.expose_secret()
        );
        let err = w
            .unwrap_data_key(&wrapped, &ctx(&[("a", "2")]))
            .err()
            .unwrap();
        assert_eq!(err.kind(), WrapErrorKind::InvalidCiphertext);
        let other = w.wrap_data_key("k2", &dk, &c).unwrap();
        assert_eq!(
            w.unwrap_data_key(&other, &c).unwrap().expose_secret(),
            dk.expose_secret()
        );
    }

    #[test]
    fn unknown_disabled_and_garbage() {
        let mut w = LocalWrapper::new().with_random_key("k1");
        let c = EncryptionContext::new();
        assert_eq!(
            w.generate_data_key("nope", &c).err().unwrap().kind(),
            WrapErrorKind::NotFound
        );
        let (_, wrapped) = w.generate_data_key("k1", &c).unwrap();
        w.disable("k1");
        assert_eq!(
            w.unwrap_data_key(&wrapped, &c).err().unwrap().kind(),
            WrapErrorKind::KeyDisabled
        );
        let junk = WrappedKey {
            key_id: "k1".into(),
            blob: vec![1, 2, 3],
        };
        assert_eq!(
            w.unwrap_data_key(&junk, &c).err().unwrap().kind(),
            WrapErrorKind::InvalidCiphertext
        );
    }

    #[test]
    fn deterministic_mode_repeats() {
        let make = || LocalWrapper::new().with_key("k", &[1; 32]).deterministic(7);
        let c = EncryptionContext::new();
        let (a, wa) = make().generate_data_key("k", &c).unwrap();
        let (b, wb) = make().generate_data_key("k", &c).unwrap();
        assert_eq!(a.expose_secret(), b.expose_secret());
        assert_eq!(wa, wb);
    }
}
