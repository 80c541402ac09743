//! AES-EAX in online (streaming) form over 128-, 192- and 256-bit keys, byte-compatible with
//! pycryptodome `AES.MODE_EAX` defaults (16-byte nonce, 16-byte tag, no associated data).

use aes::{Aes128, Aes192, Aes256};
use eax::aead::generic_array::GenericArray;
use eax::online::{Decrypt, Eax, Encrypt};

use super::{NONCE_LEN, SeedKey, TAG_LEN};
use crate::error::{Error, Result};

/// Streaming EAX encryptor for any AES key size.
pub(super) enum EaxEncrypt {
    A128(Box<Eax<Aes128, Encrypt>>),
    A192(Box<Eax<Aes192, Encrypt>>),
    A256(Box<Eax<Aes256, Encrypt>>),
}

/// Streaming EAX decryptor for any AES key size.
pub(super) enum EaxDecrypt {
    A128(Box<Eax<Aes128, Decrypt>>),
    A192(Box<Eax<Aes192, Decrypt>>),
    A256(Box<Eax<Aes256, Decrypt>>),
}

macro_rules! init {
    ($kind:ident, $key:expr, $nonce:expr) => {{
        let key: &[u8] = $key.expose_secret();
        let nonce = GenericArray::from_slice($nonce);
        // `SeedKey` guarantees one of the three lengths, so `from_slice` sees the right size.
        match key.len() {
            16 => Ok($kind::A128(Box::new(Eax::with_key_and_nonce(
                key.into(),
                nonce,
            )))),
            24 => Ok($kind::A192(Box::new(Eax::with_key_and_nonce(
                key.into(),
                nonce,
            )))),
            32 => Ok($kind::A256(Box::new(Eax::with_key_and_nonce(
                key.into(),
                nonce,
            )))),
            _ => Err(Error::Internal("seed key of unsupported length")),
        }
    }};
}

impl EaxEncrypt {
    pub(super) fn new(key: &SeedKey, nonce: &[u8; NONCE_LEN]) -> Result<Self> {
        init!(EaxEncrypt, key, nonce)
    }

    /// Encrypts `buf` in place, continuing the stream.
    pub(super) fn apply(&mut self, buf: &mut [u8]) {
        match self {
            Self::A128(c) => c.encrypt(buf),
            Self::A192(c) => c.encrypt(buf),
            Self::A256(c) => c.encrypt(buf),
        }
    }

    pub(super) fn finish(self) -> [u8; TAG_LEN] {
        match self {
            Self::A128(c) => c.finish().into(),
            Self::A192(c) => c.finish().into(),
            Self::A256(c) => c.finish().into(),
        }
    }
}

impl EaxDecrypt {
    pub(super) fn new(key: &SeedKey, nonce: &[u8; NONCE_LEN]) -> Result<Self> {
        init!(EaxDecrypt, key, nonce)
    }

    /// Decrypts `buf` in place **without** authenticating it; the caller must not release the
    /// result unless [`finish`](Self::finish) succeeds (or document that it is unverified).
    pub(super) fn apply(&mut self, buf: &mut [u8]) {
        match self {
            Self::A128(c) => c.decrypt_unauthenticated_hazmat(buf),
            Self::A192(c) => c.decrypt_unauthenticated_hazmat(buf),
            Self::A256(c) => c.decrypt_unauthenticated_hazmat(buf),
        }
    }

    /// Checks the tag (constant time); [`Error::Tampered`] on mismatch.
    pub(super) fn finish(self, tag: &[u8; TAG_LEN]) -> Result<()> {
        let tag = GenericArray::from_slice(tag);
        let ok = match self {
            Self::A128(c) => c.finish(tag),
            Self::A192(c) => c.finish(tag),
            Self::A256(c) => c.finish(tag),
        };
        ok.map_err(|_| Error::Tampered)
    }
}
