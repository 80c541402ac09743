//! The 4-line "seed" format from Alibaba Cloud's documented envelope-encryption example
//! (`docs/FORMAT.md` §8), read and written byte-compatibly with pycryptodome `AES.MODE_EAX`.
//!
//! ```text
//! line 1: base64(CiphertextBlob)     the wrapped data key, as KMS GenerateDataKey returned it
//! line 2: base64(nonce)              16 random bytes
//! line 3: base64(ciphertext)         AES-EAX of the whole file, no associated data
//! line 4: base64(tag)                16 bytes
//! ```
//! The key is the data key itself (the base64-decoded `Plaintext` of `GenerateDataKey`): 16, 24
//! or 32 bytes select AES-128, -192 or -256. The documented example passes no
//! `EncryptionContext`.
//!
//! # Unverified plaintext
//!
//! The only tag comes after the whole ciphertext. [`decrypt`] is one pass: it writes plaintext
//! **before** the tag is checked, so its output is unverified until it returns `Ok`; the caller
//! must write to a temporary file and rename it only on `Ok` (deleting it otherwise), and must
//! not stream it to a consumer that acts on it. [`decrypt_verified`] needs a seekable input and
//! makes two passes: the first checks the tag and writes nothing, the second decrypts.
//!
//! Memory is bounded (about 3 MiB) whatever the file size: line 3 is decoded incrementally.

mod cipher;
mod lines;

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use self::cipher::{EaxDecrypt, EaxEncrypt};
use self::lines::{decode_line, expect_end, read_line, stream_line};
use crate::error::{Error, Result};
use crate::io_util::read_full;
use crate::keys::{DataKey, fill_random};

/// EAX nonce length (pycryptodome's default).
pub const NONCE_LEN: usize = 16;
/// EAX tag length (pycryptodome's default).
pub const TAG_LEN: usize = 16;
/// Longest base64 line 1 (the wrapped key) a reader accepts.
pub const MAX_BLOB_LINE: usize = 16 * 1024;

/// Plaintext bytes encrypted and encoded per step (a multiple of 3, so only the last piece of
/// line 3 has padding).
const PLAIN_CHUNK: usize = 768 << 10;
/// Longest line 2 or 4 accepted (base64 of 16 bytes is 24 characters; allow whitespace).
const MAX_SHORT_LINE: usize = 256;

/// An AES key for the seed format: 16, 24 or 32 bytes. Zeroized on drop; no `Debug`/`Clone`.
pub struct SeedKey(Zeroizing<Vec<u8>>);

impl SeedKey {
    /// Copies a 16-, 24- or 32-byte key; anything else is [`Error::InvalidArgument`].
    pub fn new(bytes: &[u8]) -> Result<Self> {
        match bytes.len() {
            16 | 24 | 32 => Ok(Self(Zeroizing::new(bytes.to_vec()))),
            n => Err(Error::InvalidArgument(format!(
                "seed key must be 16, 24 or 32 bytes, got {n}"
            ))),
        }
    }

    /// The AES key size in bits.
    pub fn bits(&self) -> usize {
        self.0.len() * 8
    }

    fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl From<&DataKey> for SeedKey {
    fn from(key: &DataKey) -> Self {
        Self(Zeroizing::new(key.expose_secret().to_vec()))
    }
}

/// Whether `prefix` (the first bytes of a file, any length) looks like a seed file: a
/// non-empty first line of base64 characters. Never true for a KENV file, whose first byte is
/// 0x89.
pub fn is_seed(prefix: &[u8]) -> bool {
    let line = prefix.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    !line.is_empty()
        && line
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

/// Encrypts `input` (to its end) into a 4-line seed file on `output`; `blob` is the wrapped
/// key written on line 1 and `key` the plaintext data key. Each line ends with `\n`. Returns
/// the plaintext length.
pub fn encrypt<R: Read, W: Write>(blob: &[u8], key: &SeedKey, input: R, output: W) -> Result<u64> {
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    encrypt_with_nonce(blob, key, &nonce, input, output)
}

/// [`encrypt`] with a given nonce (known-answer tests only: a repeated nonce breaks EAX).
pub(crate) fn encrypt_with_nonce<R: Read, W: Write>(
    blob: &[u8],
    key: &SeedKey,
    nonce: &[u8; NONCE_LEN],
    mut input: R,
    mut output: W,
) -> Result<u64> {
    if blob.is_empty() || blob.len().div_ceil(3) * 4 > MAX_BLOB_LINE {
        return Err(Error::InvalidArgument(
            "wrapped key empty or too long for line 1".into(),
        ));
    }
    write_line(&mut output, blob)?;
    write_line(&mut output, nonce)?;
    let mut cipher = EaxEncrypt::new(key, nonce)?;
    let mut plain = vec![0u8; PLAIN_CHUNK];
    let mut text = vec![0u8; PLAIN_CHUNK / 3 * 4];
    let mut total = 0u64;
    loop {
        let got = read_full(&mut input, &mut plain)?;
        let piece = plain.get_mut(..got).unwrap_or_default();
        cipher.apply(piece);
        let n = STANDARD
            .encode_slice(&*piece, &mut text)
            .map_err(|_| Error::Internal("base64 buffer too small"))?;
        output.write_all(text.get(..n).unwrap_or_default())?;
        total += got as u64;
        if got < PLAIN_CHUNK {
            break;
        }
    }
    output.write_all(b"\n")?;
    write_line(&mut output, &cipher.finish())?;
    output.flush()?;
    Ok(total)
}

/// Decrypts a seed file in one pass. `unwrap` receives the decoded line 1 (the wrapped key) and
/// returns the data key, typically by calling KMS `Decrypt` and base64-decoding its `Plaintext`.
///
/// **The output is unverified until this returns `Ok`** (module docs). Errors: not a seed file
/// ([`Error::NotEnvelope`]), bad lines ([`Error::Malformed`]), missing lines
/// ([`Error::Truncated`]), tag mismatch ([`Error::Tampered`]), non-whitespace after line 4
/// ([`Error::TrailingData`]), and whatever `unwrap` returns.
pub fn decrypt<R: BufRead, W: Write, F>(mut input: R, mut output: W, unwrap: F) -> Result<u64>
where
    F: FnOnce(&[u8]) -> Result<SeedKey>,
{
    let (blob, nonce) = read_preamble(&mut input)?;
    let key = unwrap(&blob)?;
    let mut cipher = EaxDecrypt::new(&key, &nonce)?;
    let total = stream_line(&mut input, |piece| {
        cipher.apply(piece);
        Ok(output.write_all(piece)?)
    })?;
    let tag = read_tag(&mut input)?;
    cipher.finish(&tag)?;
    expect_end(&mut input)?;
    output.flush()?;
    Ok(total)
}

/// Decrypts a seed file in two passes over a seekable input: the first verifies the tag and
/// writes nothing, the second decrypts to `output`. No byte reaches `output` unless the tag
/// verified. (The tag is checked again after the second pass; if the file changed in between,
/// the error comes after some output, so file output should still use a temporary file.)
pub fn decrypt_verified<R: Read + Seek, W: Write, F>(
    input: R,
    mut output: W,
    unwrap: F,
) -> Result<u64>
where
    F: FnOnce(&[u8]) -> Result<SeedKey>,
{
    let mut input = BufReader::with_capacity(1 << 20, input);
    let (blob, nonce) = read_preamble(&mut input)?;
    let key = unwrap(&blob)?;
    let body_start = input.stream_position()?;
    let mut cipher = EaxDecrypt::new(&key, &nonce)?;
    stream_line(&mut input, |scratch| {
        cipher.apply(scratch);
        Ok(())
    })?;
    let tag = read_tag(&mut input)?;
    cipher.finish(&tag)?;
    expect_end(&mut input)?;

    input.seek(SeekFrom::Start(body_start))?;
    let mut cipher = EaxDecrypt::new(&key, &nonce)?;
    let total = stream_line(&mut input, |piece| {
        cipher.apply(piece);
        Ok(output.write_all(piece)?)
    })?;
    cipher.finish(&tag)?;
    output.flush()?;
    Ok(total)
}

/// Reads lines 1 and 2: the wrapped key and the nonce.
fn read_preamble<R: BufRead>(input: &mut R) -> Result<(Vec<u8>, [u8; NONCE_LEN])> {
    let (line1, ended) = read_line(input, MAX_BLOB_LINE).map_err(|e| match e {
        Error::Malformed(_) => Error::NotEnvelope,
        other => other,
    })?;
    if !is_seed(&line1) {
        return Err(Error::NotEnvelope);
    }
    if !ended {
        return Err(Error::Truncated);
    }
    let blob = decode_line(&line1, "line 1 is not base64")?;
    let (line2, ended) = read_line(input, MAX_SHORT_LINE)?;
    if !ended {
        return Err(Error::Truncated);
    }
    let nonce = decode_line(&line2, "line 2 is not base64")?
        .try_into()
        .map_err(|_| Error::Malformed("line 2 is not a 16-byte nonce"))?;
    Ok((blob, nonce))
}

/// Reads line 4 (its newline is optional): the tag.
fn read_tag<R: BufRead>(input: &mut R) -> Result<[u8; TAG_LEN]> {
    let (line4, _) = read_line(input, MAX_SHORT_LINE)?;
    if line4.trim_ascii().is_empty() {
        return Err(Error::Truncated);
    }
    decode_line(&line4, "line 4 is not base64")?
        .try_into()
        .map_err(|_| Error::Malformed("line 4 is not a 16-byte tag"))
}

fn write_line<W: Write>(output: &mut W, bytes: &[u8]) -> Result<()> {
    output.write_all(STANDARD.encode(bytes).as_bytes())?;
    output.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
mod tests;
