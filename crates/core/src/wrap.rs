//! Sealing secrets at rest under the root key: CMK version material (AAD = key id || 0 || version
//! id) and access-key secrets (AAD = "ak:" || access key id). The store only ever sees the output.
//!
//! Layout: `IV (12) || AES-256-GCM ciphertext || tag (16)`.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

use crate::secret::SecretBytes;

/// Length of the root key.
pub const ROOT_KEY_LEN: usize = 32;
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Why unwrapping failed: the record was altered, or the root key is not the one that wrapped it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WrapError {
    /// Tag mismatch or truncated record.
    #[error("stored secret failed authentication under the root key")]
    Unauthentic,
    /// The root key is not 32 bytes.
    #[error("the root key must be {ROOT_KEY_LEN} bytes")]
    BadRootKey,
    /// The system random generator failed.
    #[error("random generator failure")]
    Rng,
}

/// The root key, expanded. Never stored in the database.
pub struct RootKey {
    key: LessSafeKey,
    check: [u8; ROOT_KEY_CHECK_LEN],
}

/// Length of [`RootKey::check_value`].
pub const ROOT_KEY_CHECK_LEN: usize = 32;

/// What the check value authenticates: a fixed label, so the value reveals nothing of the key.
const CHECK_LABEL: &[u8] = b"keywarden root key check value v1";

impl RootKey {
    /// Expands 32 bytes of root key.
    pub fn new(bytes: &SecretBytes) -> Result<Self, WrapError> {
        if bytes.len() != ROOT_KEY_LEN {
            return Err(WrapError::BadRootKey);
        }
        let unbound = UnboundKey::new(&AES_256_GCM, bytes.expose_secret())
            .map_err(|_| WrapError::BadRootKey)?;
        let mac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, bytes.expose_secret());
        let mut check = [0u8; ROOT_KEY_CHECK_LEN];
        check.copy_from_slice(aws_lc_rs::hmac::sign(&mac, CHECK_LABEL).as_ref());
        Ok(Self {
            key: LessSafeKey::new(unbound),
            check,
        })
    }

    /// `HMAC-SHA256(root key, fixed label)`: stored beside the data the key protects, so a
    /// start with another key (a wrong, corrupted or regenerated `root.key`) is refused before
    /// anything is served. One-way: it does not help find the key.
    pub fn check_value(&self) -> [u8; ROOT_KEY_CHECK_LEN] {
        self.check
    }

    /// Whether `stored` is this key's [`RootKey::check_value`] (constant time).
    pub fn matches_check_value(&self, stored: &[u8]) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.check, stored).is_ok()
    }

    /// Seals `secret` for storage, bound to `aad`.
    pub fn seal(&self, aad: &[u8], secret: &[u8]) -> Result<Vec<u8>, WrapError> {
        let mut iv = [0u8; IV_LEN];
        aws_lc_rs::rand::fill(&mut iv).map_err(|_| WrapError::Rng)?;
        let mut out = Vec::with_capacity(IV_LEN + secret.len() + TAG_LEN);
        out.extend_from_slice(&iv);
        out.extend_from_slice(secret);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(iv),
                Aad::from(aad),
                out.get_mut(IV_LEN..).ok_or(WrapError::Unauthentic)?,
            )
            .map_err(|_| WrapError::Unauthentic)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens a record sealed by [`RootKey::seal`] with the same `aad`.
    pub fn open(&self, aad: &[u8], record: &[u8]) -> Result<SecretBytes, WrapError> {
        if record.len() < IV_LEN + TAG_LEN {
            return Err(WrapError::Unauthentic);
        }
        let (iv, body) = record.split_at(IV_LEN);
        let iv: [u8; IV_LEN] = iv.try_into().map_err(|_| WrapError::Unauthentic)?;
        let mut buf = body.to_vec();
        match self
            .key
            .open_in_place(Nonce::assume_unique_for_key(iv), Aad::from(aad), &mut buf)
        {
            Ok(pt) => {
                let len = pt.len();
                buf.truncate(len);
                Ok(SecretBytes::new(buf))
            }
            Err(_) => {
                crate::secret::wipe(&mut buf);
                Err(WrapError::Unauthentic)
            }
        }
    }
}

/// AAD binding CMK version material to its key and version.
pub fn material_aad(key_id: &str, version_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(key_id.len() + 1 + version_id.len());
    aad.extend_from_slice(key_id.as_bytes());
    aad.push(0);
    aad.extend_from_slice(version_id.as_bytes());
    aad
}

/// AAD binding an access-key secret to its access key id.
pub fn access_key_aad(access_key_id: &str) -> Vec<u8> {
    [b"ak:".as_slice(), access_key_id.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_value_tells_keys_apart_and_is_stable() {
        let key = RootKey::new(&SecretBytes::new(vec![1; 32])).unwrap();
        let same = RootKey::new(&SecretBytes::new(vec![1; 32])).unwrap();
        let mut flipped = vec![1; 32];
        flipped[7] ^= 0x10;
        let other = RootKey::new(&SecretBytes::new(flipped)).unwrap();
        assert_eq!(key.check_value(), same.check_value());
        assert!(key.matches_check_value(&same.check_value()));
        assert!(!key.matches_check_value(&other.check_value()));
        assert!(!key.matches_check_value(&key.check_value()[..31]));
        // A known answer: HMAC-SHA256 over the label, so another implementation can check it.
        let expected = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &[1; 32]),
            b"keywarden root key check value v1",
        );
        assert_eq!(&key.check_value()[..], expected.as_ref());
    }

    #[test]
    fn seal_open_and_binding() {
        let root = RootKey::new(&SecretBytes::new(vec![1; 32])).unwrap();
        let aad = material_aad("k1", "v1");
        let rec = root.seal(&aad, b"material").unwrap();
        assert_eq!(root.open(&aad, &rec).unwrap().expose_secret(), b"material");
        assert_eq!(
            root.open(&material_aad("k2", "v1"), &rec).err(),
            Some(WrapError::Unauthentic)
        );
        assert_eq!(
            root.open(&material_aad("k1", "v2"), &rec).err(),
            Some(WrapError::Unauthentic)
        );
        let other = RootKey::new(&SecretBytes::new(vec![2; 32])).unwrap();
        assert_eq!(other.open(&aad, &rec).err(), Some(WrapError::Unauthentic));
        assert_eq!(
            root.open(&aad, &rec[..10]).err(),
            Some(WrapError::Unauthentic)
        );
        assert!(RootKey::new(&SecretBytes::new(vec![1; 31])).is_err());
    }
}
