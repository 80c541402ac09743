//! The KENV1 key schedule and segment sealing (`docs/FORMAT.md` §3 and §4).
//!
//! ```text
//! PRK    = HKDF-Extract-SHA256(salt = salt, ikm = DK)
//! CTX    = version || suite || seg_log2 || flags || u16(ec_len) || EC
//! K_hdr  = HKDF-Expand(PRK, "keywarden KENV1 header MAC" || 0x00 || CTX, 32)   HMAC-SHA-256 key
//! K_body = HKDF-Expand(PRK, "keywarden KENV1 body key"   || 0x00 || CTX, 32)   AES-256-GCM key
//! nonce_i = 0x000000 || u64be(i) || (0x01 if segment i is final else 0x00)
//! ```
//! The wrapped keys and `header_len` are not inputs, so rewrapping changes only the header MAC.

use aws_lc_rs::aead::{self, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::{hkdf, hmac};

use crate::error::{Error, Result};
use crate::header::{Header, MAC_LEN, SALT_LEN, SUITE_AES256GCM_HKDF_SHA256, VERSION};
use crate::keys::DataKey;

/// GCM tag length, appended to every segment.
pub const TAG_LEN: usize = 16;
/// Segment indices are below this (the nonce could hold 2^88; the format caps it at 2^32).
pub const MAX_SEGMENTS: u64 = 1 << 32;

const LABEL_HEADER_MAC: &[u8] = b"keywarden KENV1 header MAC\0";
const LABEL_BODY_KEY: &[u8] = b"keywarden KENV1 body key\0";

/// The two keys of one file. Derived from the data key; neither leaves this crate.
pub(crate) struct FileKeys {
    mac_key: hmac::Key,
    body: LessSafeKey,
}

impl FileKeys {
    /// Derives `K_hdr` and `K_body` from the data key and the header parameters.
    pub(crate) fn derive(
        data_key: &DataKey,
        seg_log2: u8,
        salt: &[u8; SALT_LEN],
        context_bytes: &[u8],
    ) -> Result<Self> {
        let ec_len = u16::try_from(context_bytes.len())
            .map_err(|_| Error::InvalidArgument("encryption context too large".into()))?
            .to_be_bytes();
        let params = [VERSION, SUITE_AES256GCM_HKDF_SHA256, seg_log2, 0];
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(data_key.expose_secret());
        let failed = |_| Error::Internal("HKDF expand failed");
        let mac_key = hmac::Key::from(
            prk.expand(
                &[LABEL_HEADER_MAC, &params, &ec_len, context_bytes],
                hmac::HMAC_SHA256,
            )
            .map_err(failed)?,
        );
        let body_info = [LABEL_BODY_KEY, &params, &ec_len, context_bytes];
        let body_okm = prk.expand(&body_info, &AES_256_GCM).map_err(failed)?;
        let body = LessSafeKey::new(UnboundKey::from(body_okm));
        Ok(Self { mac_key, body })
    }

    /// Derives the keys for a parsed header.
    pub(crate) fn for_header(data_key: &DataKey, header: &Header) -> Result<Self> {
        Self::derive(
            data_key,
            header.seg_log2(),
            header.salt(),
            header.context_bytes(),
        )
    }

    /// HMAC-SHA-256 of the header bytes before the MAC.
    pub(crate) fn header_mac(&self, mac_input: &[u8]) -> [u8; MAC_LEN] {
        let tag = hmac::sign(&self.mac_key, mac_input);
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Verifies a header's MAC in constant time.
    pub(crate) fn verify_header(&self, header: &Header) -> bool {
        hmac::verify(&self.mac_key, header.mac_input(), header.mac()).is_ok()
    }

    /// The body key.
    pub(crate) fn body(&self) -> &LessSafeKey {
        &self.body
    }
}

/// `0x000000 || u64be(index) || final`.
pub(crate) fn nonce(index: u64, last: bool) -> Nonce {
    let mut bytes = [0u8; aead::NONCE_LEN];
    let (counter, flag) = bytes.split_at_mut(aead::NONCE_LEN - 1);
    counter[3..].copy_from_slice(&index.to_be_bytes());
    flag[0] = u8::from(last);
    Nonce::assume_unique_for_key(bytes)
}

/// Seals segment `index` in place: `slot` holds the plaintext in its first `len` bytes and
/// receives the tag right after it (`slot.len() >= len + TAG_LEN`).
pub(crate) fn seal_segment(
    key: &LessSafeKey,
    index: u64,
    last: bool,
    slot: &mut [u8],
    len: usize,
) -> Result<()> {
    let (data, rest) = slot.split_at_mut(len);
    let tag = key
        .seal_in_place_separate_tag(nonce(index, last), Aad::empty(), data)
        .map_err(|_| Error::Internal("AES-GCM seal failed"))?;
    rest.get_mut(..TAG_LEN)
        .ok_or(Error::Internal("segment slot too small"))?
        .copy_from_slice(tag.as_ref());
    Ok(())
}

/// Opens segment `index` in place (`chunk` = ciphertext || tag) and returns the plaintext
/// length. Any failure is [`Error::Tampered`].
pub(crate) fn open_segment(
    key: &LessSafeKey,
    index: u64,
    last: bool,
    chunk: &mut [u8],
) -> Result<usize> {
    key.open_in_place(nonce(index, last), Aad::empty(), chunk)
        .map(|plain| plain.len())
        .map_err(|_| Error::Tampered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(dk: u8, seg_log2: u8, salt: u8, ec: &[u8]) -> FileKeys {
        FileKeys::derive(&DataKey::from_array([dk; 32]), seg_log2, &[salt; 32], ec).unwrap()
    }

    #[test]
    fn nonce_layout() {
        let n = nonce(0x0102_0304_0506_0708, true);
        assert_eq!(n.as_ref(), &[0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1]);
        assert_eq!(nonce(0, false).as_ref(), &[0u8; 12]);
    }

    #[test]
    fn every_input_changes_the_keys() {
        let base = keys(1, 20, 2, b"");
        let mac = base.header_mac(b"x");
        for other in [
            keys(9, 20, 2, b""),
            keys(1, 16, 2, b""),
            keys(1, 20, 9, b""),
            keys(1, 20, 2, b"\0\0"),
        ] {
            assert_ne!(other.header_mac(b"x"), mac);
        }
    }

    #[test]
    fn seal_open_round_trip_and_flag_binding() {
        let k = keys(1, 12, 2, b"");
        let mut slot = vec![0u8; 100 + TAG_LEN];
        slot[..100].fill(0xab);
        seal_segment(k.body(), 5, false, &mut slot, 100).unwrap();
        let mut copy = slot.clone();
        assert!(matches!(
            open_segment(k.body(), 5, true, &mut copy),
            Err(Error::Tampered)
        ));
        let mut copy = slot.clone();
        assert!(matches!(
            open_segment(k.body(), 6, false, &mut copy),
            Err(Error::Tampered)
        ));
        assert_eq!(open_segment(k.body(), 5, false, &mut slot).unwrap(), 100);
        assert!(slot[..100].iter().all(|&b| b == 0xab));
    }
}
