//! The `CiphertextBlob` of Encrypt, GenerateDataKey and Decrypt:
//!
//! ```text
//! KeyVersionId (36 ASCII bytes, a UUID) || IV (12) || AES-GCM ciphertext || tag (16)
//! ```
//!
//! The AAD is the canonical [`EncryptionContext`](crate::context::EncryptionContext). Decrypt needs
//! no key id: it reads the version from the first 36 bytes, so a rotated key keeps opening old
//! blobs. On the wire the blob is standard base64.

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};

use crate::secret::SecretBytes;

/// Length of the KeyVersionId prefix.
pub const VERSION_ID_LEN: usize = 36;
/// Length of the AES-GCM IV.
pub const IV_LEN: usize = 12;
/// Length of the AES-GCM tag.
pub const TAG_LEN: usize = 16;
/// Shortest well-formed blob (empty plaintext).
pub const MIN_BLOB_LEN: usize = VERSION_ID_LEN + IV_LEN + TAG_LEN;

/// Why a blob could not be opened. Deliberately coarse: a wrong key, a wrong context and a
/// tampered byte are indistinguishable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlobError {
    /// Not base64, too short, or the prefix is not a key version id.
    #[error("the CiphertextBlob is not a keywarden ciphertext")]
    Malformed,
    /// The tag did not verify (tampered blob, other key, or other encryption context).
    #[error("the CiphertextBlob could not be decrypted")]
    DecryptionFailed,
    /// The CMK material has a length AES-GCM cannot use.
    #[error("unsupported key material length {0}")]
    BadKeyLength(usize),
    /// The system random generator failed.
    #[error("random generator failure")]
    Rng,
}

/// A parsed blob, borrowed from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobParts<'a> {
    /// The key version that sealed it.
    pub version_id: &'a str,
    /// The AES-GCM IV.
    pub iv: &'a [u8; IV_LEN],
    /// Ciphertext followed by the 16-byte tag.
    pub sealed: &'a [u8],
}

/// Decodes the wire (base64) form.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, BlobError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| BlobError::Malformed)
}

/// Splits raw blob bytes into their parts, checking only the layout.
pub fn parse(raw: &[u8]) -> Result<BlobParts<'_>, BlobError> {
    if raw.len() < MIN_BLOB_LEN {
        return Err(BlobError::Malformed);
    }
    let (vid, rest) = raw.split_at(VERSION_ID_LEN);
    let (iv, sealed) = rest.split_at(IV_LEN);
    let version_id = std::str::from_utf8(vid).map_err(|_| BlobError::Malformed)?;
    if !is_uuid(version_id) {
        return Err(BlobError::Malformed);
    }
    let iv: &[u8; IV_LEN] = iv.try_into().map_err(|_| BlobError::Malformed)?;
    Ok(BlobParts {
        version_id,
        iv,
        sealed,
    })
}

/// True when `s` is a 36-character hyphenated UUID (any version, any hex case).
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// One CMK version's material, expanded for AES-GCM. Construct once, use from many threads.
pub struct CmkCipher {
    key: LessSafeKey,
}

impl CmkCipher {
    /// Expands 16-, 24- or 32-byte material.
    pub fn new(material: &SecretBytes) -> Result<Self, BlobError> {
        let alg = match material.len() {
            16 => &aead::AES_128_GCM,
            24 => &aead::AES_192_GCM,
            32 => &aead::AES_256_GCM,
            n => return Err(BlobError::BadKeyLength(n)),
        };
        let unbound = UnboundKey::new(alg, material.expose_secret())
            .map_err(|_| BlobError::BadKeyLength(material.len()))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Seals `plaintext` under this version with a fresh random IV; returns raw blob bytes.
    pub fn seal(
        &self,
        version_id: &str,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, BlobError> {
        if !is_uuid(version_id) {
            return Err(BlobError::Malformed);
        }
        let mut iv = [0u8; IV_LEN];
        aws_lc_rs::rand::fill(&mut iv).map_err(|_| BlobError::Rng)?;
        let mut out = Vec::with_capacity(MIN_BLOB_LEN + plaintext.len());
        out.extend_from_slice(version_id.as_bytes());
        out.extend_from_slice(&iv);
        out.extend_from_slice(plaintext);
        let body_start = VERSION_ID_LEN + IV_LEN;
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(iv),
                Aad::from(aad),
                out.get_mut(body_start..).ok_or(BlobError::Malformed)?,
            )
            .map_err(|_| BlobError::DecryptionFailed)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens parsed blob parts; the plaintext is returned only if the tag verified.
    pub fn open(&self, parts: &BlobParts<'_>, aad: &[u8]) -> Result<SecretBytes, BlobError> {
        let mut buf = parts.sealed.to_vec();
        let result = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(*parts.iv),
                Aad::from(aad),
                &mut buf,
            )
            .map(|pt| pt.len());
        match result {
            Ok(len) => {
                buf.truncate(len);
                Ok(SecretBytes::new(buf))
            }
            Err(_) => {
                crate::secret::wipe(&mut buf);
                Err(BlobError::DecryptionFailed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VID: &str = "86a9efd9-3d16-4894-bd4f-1fc43f3f2abf";

    fn cipher() -> CmkCipher {
        CmkCipher::new(&SecretBytes::new(vec![7u8; 32])).unwrap()
    }

    #[test]
    fn data_key_blob_is_108_bytes() {
        // A 32-byte data key travels as 44 base64 characters: 36 + 12 + 44 + 16.
        let raw = cipher().seal(VID, b"", &[b'A'; 44]).unwrap();
        assert_eq!(raw.len(), 108);
        assert_eq!(&raw[..36], VID.as_bytes());
    }

    #[test]
    fn round_trip_and_negative_cases() {
        let c = cipher();
        let raw = c.seal(VID, b"ctx", b"secret").unwrap();
        let parts = parse(&raw).unwrap();
        assert_eq!(parts.version_id, VID);
        assert_eq!(c.open(&parts, b"ctx").unwrap().expose_secret(), b"secret");
        assert_eq!(
            c.open(&parts, b"other").err(),
            Some(BlobError::DecryptionFailed)
        );
        let other = CmkCipher::new(&SecretBytes::new(vec![8u8; 32])).unwrap();
        assert_eq!(
            other.open(&parts, b"ctx").err(),
            Some(BlobError::DecryptionFailed)
        );
        for i in 36..raw.len() {
            let mut t = raw.clone();
            t[i] ^= 1;
            assert_eq!(
                c.open(&parse(&t).unwrap(), b"ctx").err(),
                Some(BlobError::DecryptionFailed)
            );
        }
        assert_eq!(
            parse(&raw[..MIN_BLOB_LEN - 1]).err(),
            Some(BlobError::Malformed)
        );
        let mut bad_vid = raw.clone();
        bad_vid[8] = b'x';
        assert_eq!(parse(&bad_vid).err(), Some(BlobError::Malformed));
    }

    #[test]
    fn uuid_shape() {
        assert!(is_uuid(VID));
        assert!(!is_uuid("86a9efd9x3d16-4894-bd4f-1fc43f3f2abf"));
        assert!(!is_uuid("86a9efd9-3d16-4894-bd4f-1fc43f3f2ab"));
        assert!(!is_uuid("86a9efd9-3d16-4894-bd4f-1fc43f3f2abg"));
    }

    #[test]
    fn bad_key_lengths() {
        assert_eq!(
            CmkCipher::new(&SecretBytes::new(vec![0; 20])).err(),
            Some(BlobError::BadKeyLength(20))
        );
    }
}
