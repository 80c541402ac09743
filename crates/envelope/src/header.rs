//! The KENV1 header: constants, the strict parser and the canonical encoder
//! (`docs/FORMAT.md` §2 and §5 list every rule enforced here, in the same order).
//!
//! ```text
//! off  len  field
//! 0    8    magic        89 4B 45 4E 56 0D 0A 1A   ("\x89KENV\r\n\x1a")
//! 8    1    version      0x01
//! 9    1    suite        0x01 (AES-256-GCM body, HKDF-SHA-256, HMAC-SHA-256 header MAC)
//! 10   1    seg_log2     12..=24: plaintext segment size S = 2^seg_log2
//! 11   1    flags        0x00
//! 12   4    header_len   u32 BE, offset of the first body byte, 90..=1 MiB
//! 16   32   salt
//! 48   2    ec_len       u16 BE, then ec_len bytes of encryption context
//! ..   2    edk_count    u16 BE, 1..=16, then per key: u16 klen, key_id, u16 blen, blob
//! ..   ..   padding      zero bytes up to header_len - 32
//! hl-32 32  header_mac   HMAC-SHA-256(K_hdr, header[0 .. header_len-32])
//! ```

use std::collections::BTreeSet;
use std::io::Read;

use crate::error::{Error, Result, read_error};
use crate::keys::{EncryptionContext, WrappedKey};

/// The 8 magic bytes. The first is not a base64 character, so a KENV file can never be taken
/// for a 4-line seed file; CR LF and ^Z catch text-mode mangling (the PNG trick).
pub const MAGIC: [u8; 8] = [0x89, b'K', b'E', b'N', b'V', b'\r', b'\n', 0x1a];
/// The format version this crate reads and writes.
pub const VERSION: u8 = 1;
/// Suite 1: AES-256-GCM segments, HKDF-SHA-256 key schedule, HMAC-SHA-256 header MAC.
pub const SUITE_AES256GCM_HKDF_SHA256: u8 = 1;
/// Smallest segment size exponent (4 KiB).
pub const MIN_SEGMENT_LOG2: u8 = 12;
/// Largest segment size exponent (16 MiB).
pub const MAX_SEGMENT_LOG2: u8 = 24;
/// Default segment size exponent (1 MiB).
pub const DEFAULT_SEGMENT_LOG2: u8 = 20;
/// Length of the per-file salt.
pub const SALT_LEN: usize = 32;
/// Length of the header MAC.
pub const MAC_LEN: usize = 32;
/// Bytes before the salt: magic, version, suite, seg_log2, flags, header_len.
pub const PREFIX_LEN: usize = 16;
/// Bytes through the salt.
const FIXED_LEN: usize = PREFIX_LEN + SALT_LEN;
/// The smallest possible header: empty context, one wrapped key with 1-byte id and blob.
pub const MIN_HEADER_LEN: u32 = (FIXED_LEN + 2 + 2 + 2 + 1 + 2 + 1 + MAC_LEN) as u32;
/// The largest header a reader accepts.
pub const MAX_HEADER_LEN: u32 = 1 << 20;
/// Most wrapped keys in one header.
pub const MAX_WRAPPED_KEYS: usize = 16;
/// Longest CMK id, in bytes.
pub const MAX_KEY_ID_LEN: usize = 2048;
/// Longest wrapped-key blob, in bytes.
pub const MAX_BLOB_LEN: usize = 8192;
/// Longest encoded encryption context, in bytes (the `ec_len` field is a u16).
pub const MAX_CONTEXT_LEN: usize = u16::MAX as usize;
/// The writer pads headers to a multiple of this by default, so rewrap fits in place.
pub const DEFAULT_HEADER_ALIGN: u32 = 4096;

/// A parsed header. Parsing checks structure only; the MAC is verified when a data key is
/// unwrapped ([`decrypt`](crate::decrypt), [`RangeReader`](crate::RangeReader),
/// [`rewrap_header`](crate::rewrap_header)). Until then every field is *unauthenticated*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    raw: Vec<u8>,
    seg_log2: u8,
    salt: [u8; SALT_LEN],
    context: EncryptionContext,
    context_bytes: Vec<u8>,
    wrapped_keys: Vec<WrappedKey>,
    mac: [u8; MAC_LEN],
}

impl Header {
    /// Parses a header from the start of `bytes`, which may continue with the body. Checks every
    /// structural rule (not the MAC).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let header_len = check_prefix(bytes)?;
        let raw = bytes.get(..header_len).ok_or(Error::Truncated)?;
        parse_checked(raw.to_vec())
    }

    /// Format version (always [`VERSION`] for a parsed header).
    pub fn version(&self) -> u8 {
        VERSION
    }

    /// Cipher suite (always [`SUITE_AES256GCM_HKDF_SHA256`] for a parsed header).
    pub fn suite(&self) -> u8 {
        SUITE_AES256GCM_HKDF_SHA256
    }

    /// Plaintext bytes per segment.
    pub fn segment_size(&self) -> u32 {
        1u32 << self.seg_log2
    }

    /// Header length in bytes: the offset of the first body byte.
    pub fn header_len(&self) -> u32 {
        // The parser caps the length at MAX_HEADER_LEN, so it fits.
        u32::try_from(self.raw.len()).unwrap_or(u32::MAX)
    }

    /// The per-file salt, also usable as a file id.
    pub fn salt(&self) -> &[u8; SALT_LEN] {
        &self.salt
    }

    /// The encryption context (unauthenticated until the MAC is verified).
    pub fn context(&self) -> &EncryptionContext {
        &self.context
    }

    /// The wrapped data keys, in header order.
    pub fn wrapped_keys(&self) -> &[WrappedKey] {
        &self.wrapped_keys
    }

    /// The CMK ids of the wrapped keys, in header order.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.wrapped_keys.iter().map(|k| k.key_id.as_str())
    }

    /// The stored header MAC.
    pub fn mac(&self) -> &[u8; MAC_LEN] {
        &self.mac
    }

    /// The header bytes exactly as read (`header_len` bytes).
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// Re-encodes the header from its fields. Equal to [`as_bytes`](Self::as_bytes) for every
    /// header the parser accepts (the encoding is canonical).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = encode_unsigned(
            self.seg_log2,
            &self.salt,
            &self.context_bytes,
            &self.wrapped_keys,
            self.raw.len(),
        );
        if let Some(tail) = out
            .len()
            .checked_sub(MAC_LEN)
            .and_then(|at| out.get_mut(at..))
        {
            tail.copy_from_slice(&self.mac);
        }
        out
    }

    pub(crate) fn seg_log2(&self) -> u8 {
        self.seg_log2
    }

    pub(crate) fn context_bytes(&self) -> &[u8] {
        &self.context_bytes
    }

    /// The MAC input: every header byte before the MAC.
    pub(crate) fn mac_input(&self) -> &[u8] {
        self.raw
            .get(..self.raw.len().saturating_sub(MAC_LEN))
            .unwrap_or_default()
    }
}

/// Reads exactly one header from `input` (and nothing after it) and checks its structure. The
/// MAC is not verified: use this for `inspect`, and treat what it shows as unauthenticated.
pub fn read_header<R: Read>(mut input: R) -> Result<Header> {
    let mut prefix = [0u8; PREFIX_LEN];
    let got = crate::io_util::read_full(&mut input, &mut prefix)?;
    let header_len = check_prefix(prefix.get(..got).unwrap_or_default())?;
    let mut raw = vec![0u8; header_len];
    let (head, rest) = raw.split_at_mut(PREFIX_LEN);
    head.copy_from_slice(&prefix);
    input.read_exact(rest).map_err(read_error)?;
    parse_checked(raw)
}

/// Checks the fixed 16-byte prefix and returns `header_len`. Rules 1–7 of FORMAT.md §5.
pub(crate) fn check_prefix(bytes: &[u8]) -> Result<usize> {
    let n = bytes.len().min(MAGIC.len());
    if bytes.is_empty() || bytes.get(..n) != MAGIC.get(..n) {
        return Err(Error::NotEnvelope);
    }
    let Some(prefix) = bytes.get(..PREFIX_LEN) else {
        return Err(Error::Truncated);
    };
    let &[.., version, suite, seg_log2, flags, l0, l1, l2, l3] = prefix else {
        return Err(Error::Truncated);
    };
    if version != VERSION {
        return Err(Error::UnsupportedVersion(version));
    }
    if suite != SUITE_AES256GCM_HKDF_SHA256 {
        return Err(Error::UnsupportedSuite(suite));
    }
    if !(MIN_SEGMENT_LOG2..=MAX_SEGMENT_LOG2).contains(&seg_log2) {
        return Err(Error::Malformed("segment size out of range"));
    }
    if flags != 0 {
        return Err(Error::Malformed("unknown flags"));
    }
    let header_len = u32::from_be_bytes([l0, l1, l2, l3]);
    if !(MIN_HEADER_LEN..=MAX_HEADER_LEN).contains(&header_len) {
        return Err(Error::Malformed("header length out of range"));
    }
    usize::try_from(header_len).map_err(|_| Error::Malformed("header length out of range"))
}

/// Parses `raw`, which is exactly `header_len` bytes with a valid prefix. Rules 8–14.
fn parse_checked(raw: Vec<u8>) -> Result<Header> {
    check_prefix(&raw)?;
    let content_len = raw.len().saturating_sub(MAC_LEN);
    let (content, mac) = raw.split_at(content_len);
    let mut cur = Cursor {
        buf: content,
        pos: PREFIX_LEN,
    };
    let salt: [u8; SALT_LEN] = cur.array()?;
    let ec_len = usize::from(cur.u16()?);
    let context_bytes = cur.take(ec_len)?.to_vec();
    let context = decode_context(&context_bytes)?;
    let wrapped_keys = parse_wrapped_keys(&mut cur)?;
    if cur.rest().iter().any(|&b| b != 0) {
        return Err(Error::Malformed("non-zero header padding"));
    }
    let mac: [u8; MAC_LEN] = mac.try_into().map_err(|_| Error::Truncated)?;
    let seg_log2 = *raw.get(10).ok_or(Error::Truncated)?;
    Ok(Header {
        raw,
        seg_log2,
        salt,
        context,
        context_bytes,
        wrapped_keys,
        mac,
    })
}

fn parse_wrapped_keys(cur: &mut Cursor<'_>) -> Result<Vec<WrappedKey>> {
    let count = usize::from(cur.u16()?);
    if !(1..=MAX_WRAPPED_KEYS).contains(&count) {
        return Err(Error::Malformed("wrapped key count out of range"));
    }
    let mut keys = Vec::with_capacity(count);
    let mut seen = BTreeSet::new();
    for _ in 0..count {
        let klen = usize::from(cur.u16()?);
        if !(1..=MAX_KEY_ID_LEN).contains(&klen) {
            return Err(Error::Malformed("key id length out of range"));
        }
        let key_id = utf8(cur.take(klen)?)?;
        let blen = usize::from(cur.u16()?);
        if !(1..=MAX_BLOB_LEN).contains(&blen) {
            return Err(Error::Malformed("wrapped key length out of range"));
        }
        let blob = cur.take(blen)?.to_vec();
        if !seen.insert(key_id.clone()) {
            return Err(Error::Malformed("duplicate key id"));
        }
        keys.push(WrappedKey { key_id, blob });
    }
    Ok(keys)
}

/// Canonical binary encoding of a context: empty for no pairs, else u16 count, then per pair
/// u16 key length, key, u16 value length, value, in key order.
pub(crate) fn encode_context(context: &EncryptionContext) -> Result<Vec<u8>> {
    if context.is_empty() {
        return Ok(Vec::new());
    }
    let too_long = || Error::InvalidArgument("encryption context too large".into());
    let mut out = Vec::new();
    out.extend_from_slice(
        &u16::try_from(context.len())
            .map_err(|_| too_long())?
            .to_be_bytes(),
    );
    for (key, value) in context {
        for field in [key.as_bytes(), value.as_bytes()] {
            out.extend_from_slice(
                &u16::try_from(field.len())
                    .map_err(|_| too_long())?
                    .to_be_bytes(),
            );
            out.extend_from_slice(field);
        }
    }
    if out.len() > MAX_CONTEXT_LEN {
        return Err(too_long());
    }
    Ok(out)
}

/// Strict inverse of [`encode_context`]: keys strictly increasing, UTF-8, exact length.
pub(crate) fn decode_context(bytes: &[u8]) -> Result<EncryptionContext> {
    let mut context = EncryptionContext::new();
    if bytes.is_empty() {
        return Ok(context);
    }
    let mut cur = Cursor { buf: bytes, pos: 0 };
    let count = cur.u16()?;
    if count == 0 {
        return Err(Error::Malformed("non-canonical empty encryption context"));
    }
    for _ in 0..count {
        let klen = usize::from(cur.u16()?);
        let key = utf8(cur.take(klen)?)?;
        let vlen = usize::from(cur.u16()?);
        let value = utf8(cur.take(vlen)?)?;
        if context
            .last_key_value()
            .is_some_and(|(last, _)| *last >= key)
        {
            return Err(Error::Malformed(
                "encryption context keys not sorted and unique",
            ));
        }
        context.insert(key, value);
    }
    if !cur.rest().is_empty() {
        return Err(Error::Malformed("encryption context length mismatch"));
    }
    Ok(context)
}

/// Bytes needed for a header with these fields (before padding).
pub(crate) fn min_header_len(context_bytes: &[u8], wrapped: &[WrappedKey]) -> usize {
    let keys: usize = wrapped
        .iter()
        .map(|k| 4 + k.key_id.len() + k.blob.len())
        .sum();
    FIXED_LEN + 2 + context_bytes.len() + 2 + keys + MAC_LEN
}

/// Encodes a header of exactly `header_len` bytes (>= [`min_header_len`]) with a zero MAC.
/// Callers validate the field limits first ([`check_wrapped_keys`]).
pub(crate) fn encode_unsigned(
    seg_log2: u8,
    salt: &[u8; SALT_LEN],
    context_bytes: &[u8],
    wrapped: &[WrappedKey],
    header_len: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(header_len);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[VERSION, SUITE_AES256GCM_HKDF_SHA256, seg_log2, 0]);
    out.extend_from_slice(&u32::try_from(header_len).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(salt);
    push_u16_len(&mut out, context_bytes.len());
    out.extend_from_slice(context_bytes);
    push_u16_len(&mut out, wrapped.len());
    for key in wrapped {
        push_u16_len(&mut out, key.key_id.len());
        out.extend_from_slice(key.key_id.as_bytes());
        push_u16_len(&mut out, key.blob.len());
        out.extend_from_slice(&key.blob);
    }
    out.resize(header_len, 0);
    out
}

/// Checks a list of CMK ids: 1 to [`MAX_WRAPPED_KEYS`] distinct ids of 1 to
/// [`MAX_KEY_ID_LEN`] bytes.
pub(crate) fn check_key_ids<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> Result<()> {
    if !(1..=MAX_WRAPPED_KEYS).contains(&ids.len()) {
        return Err(Error::InvalidArgument(format!(
            "need 1 to {MAX_WRAPPED_KEYS} key ids, got {}",
            ids.len()
        )));
    }
    let mut seen = BTreeSet::new();
    for id in ids {
        if !(1..=MAX_KEY_ID_LEN).contains(&id.len()) {
            return Err(Error::InvalidArgument(format!(
                "key id must be 1 to {MAX_KEY_ID_LEN} bytes: {id:?}"
            )));
        }
        if !seen.insert(id) {
            return Err(Error::InvalidArgument(format!("duplicate key id {id:?}")));
        }
    }
    Ok(())
}

/// Checks the wrapped-key list against the reader's limits (count, lengths, unique ids).
pub(crate) fn check_wrapped_keys(wrapped: &[WrappedKey]) -> Result<()> {
    check_key_ids(wrapped.iter().map(|k| k.key_id.as_str()))?;
    match wrapped
        .iter()
        .find(|k| !(1..=MAX_BLOB_LEN).contains(&k.blob.len()))
    {
        Some(key) => Err(Error::InvalidArgument(format!(
            "wrapped key for {:?} must be 1 to {MAX_BLOB_LEN} bytes",
            key.key_id
        ))),
        None => Ok(()),
    }
}

fn push_u16_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
}

fn utf8(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::Malformed("string is not UTF-8"))
}

/// A bounds-checked reader over header bytes.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(Error::Malformed("length overflow"))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or(Error::Malformed("field overruns the header"))?;
        self.pos = end;
        Ok(out)
    }

    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.take(N)?
            .try_into()
            .map_err(|_| Error::Malformed("field overruns the header"))
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
