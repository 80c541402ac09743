//! Writing envelopes: [`encrypt`], [`EnvelopeKey`] (one data key for many files),
//! [`EncryptOptions`] and the [`Summary`] every operation returns.

use std::io::{Read, Write};

use crate::error::{Error, Result};
use crate::header::{
    self, DEFAULT_HEADER_ALIGN, DEFAULT_SEGMENT_LOG2, MAC_LEN, MAX_HEADER_LEN, MAX_SEGMENT_LOG2,
    MAX_WRAPPED_KEYS, MIN_SEGMENT_LOG2, SALT_LEN,
};
use crate::keys::{DataKey, EncryptionContext, KeyWrapper, WrappedKey, fill_random};
use crate::schedule::FileKeys;
use crate::stream;

/// Largest header alignment a writer may ask for.
pub const MAX_HEADER_ALIGN: u32 = 1 << 16;

/// Parameters of a new envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncryptOptions {
    /// Plaintext bytes per segment: a power of two from 4 KiB to 16 MiB. Default 1 MiB.
    pub segment_size: u32,
    /// The header is zero-padded to a multiple of this many bytes: a power of two from 1 to
    /// 64 KiB. The default, 4096, leaves room for more or longer wrapped keys so that
    /// [`rewrap_header`](crate::rewrap_header) can usually rewrite the header in place with one
    /// page-sized write; 1 gives the most compact file.
    pub header_align: u32,
}

impl Default for EncryptOptions {
    fn default() -> Self {
        Self {
            segment_size: 1 << DEFAULT_SEGMENT_LOG2,
            header_align: DEFAULT_HEADER_ALIGN,
        }
    }
}

impl EncryptOptions {
    /// Checks the options; returns `log2(segment_size)`.
    fn validate(&self) -> Result<u8> {
        let seg = self.segment_size;
        let range = (1u32 << MIN_SEGMENT_LOG2)..=(1u32 << MAX_SEGMENT_LOG2);
        if !seg.is_power_of_two() || !range.contains(&seg) {
            return Err(Error::InvalidArgument(format!(
                "segment size must be a power of two from 4 KiB to 16 MiB, got {seg}"
            )));
        }
        let align = self.header_align;
        if !align.is_power_of_two() || align > MAX_HEADER_ALIGN {
            return Err(Error::InvalidArgument(format!(
                "header alignment must be a power of two up to {MAX_HEADER_ALIGN}, got {align}"
            )));
        }
        u8::try_from(seg.trailing_zeros())
            .map_err(|_| Error::InvalidArgument("segment size".into()))
    }
}

/// What an operation did. For [`encrypt`], `key_id` is the first CMK; for
/// [`decrypt`](crate::decrypt), the CMK whose wrapped key opened the file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// The CMK id (see above).
    pub key_id: String,
    /// Header length in bytes.
    pub header_len: u32,
    /// Plaintext bytes per segment.
    pub segment_size: u32,
    /// Number of segments, including the final (possibly empty) one.
    pub segments: u64,
    /// Plaintext bytes.
    pub plaintext_len: u64,
    /// Envelope bytes: header plus body.
    pub ciphertext_len: u64,
}

/// A data key with its wrapped forms and context: everything needed to write envelopes
/// without calling the key service again. Each [`encrypt`](Self::encrypt) draws a fresh
/// 32-byte salt, so every file gets its own body key and one `EnvelopeKey` can safely seal
/// many files (a directory, a batch of small objects).
pub struct EnvelopeKey {
    pub(crate) data_key: DataKey,
    wrapped: Vec<WrappedKey>,
    context: EncryptionContext,
    pub(crate) context_bytes: Vec<u8>,
}

impl EnvelopeKey {
    /// Generates a data key under `key_ids[0]` and wraps it under every other id (1 to 16
    /// distinct ids), all with `context`.
    pub fn generate(
        wrapper: &(impl KeyWrapper + ?Sized),
        key_ids: &[impl AsRef<str>],
        context: &EncryptionContext,
    ) -> Result<Self> {
        let context_bytes = header::encode_context(context)?;
        header::check_key_ids(key_ids.iter().map(AsRef::as_ref))?;
        let Some((first, rest)) = key_ids.split_first() else {
            return Err(Error::InvalidArgument(format!(
                "need 1 to {MAX_WRAPPED_KEYS} key ids"
            )));
        };
        let (data_key, wrapped_first) = wrapper.generate_data_key(first.as_ref(), context)?;
        let mut wrapped = vec![wrapped_first];
        for other in rest {
            wrapped.push(wrapper.wrap_data_key(other.as_ref(), &data_key, context)?);
        }
        header::check_wrapped_keys(&wrapped)?;
        if header::min_header_len(&context_bytes, &wrapped) > MAX_HEADER_LEN as usize {
            return Err(Error::InvalidArgument("header would exceed 1 MiB".into()));
        }
        Ok(Self {
            data_key,
            wrapped,
            context: context.clone(),
            context_bytes,
        })
    }

    /// The wrapped data keys, in header order.
    pub fn wrapped_keys(&self) -> &[WrappedKey] {
        &self.wrapped
    }

    /// The encryption context.
    pub fn context(&self) -> &EncryptionContext {
        &self.context
    }

    /// Encrypts `input` (read to its end) into `output` as one envelope. Memory stays bounded
    /// (three batches of about 4 MiB, or of one segment if larger) and segments are sealed on
    /// all cores.
    pub fn encrypt<R: Read, W: Write>(
        &self,
        input: R,
        output: W,
        options: &EncryptOptions,
    ) -> Result<Summary> {
        let mut salt = [0u8; SALT_LEN];
        fill_random(&mut salt)?;
        self.encrypt_with_salt(&salt, input, output, options)
    }

    /// The data key bytes (vector generation).
    #[cfg(test)]
    pub(crate) fn data_key_bytes(&self) -> &[u8; crate::keys::DATA_KEY_LEN] {
        self.data_key.expose_secret()
    }

    /// [`encrypt`](Self::encrypt) with a given salt. Reusing a salt with the same data key
    /// reuses the body key and its nonces, so only the vector generator calls this.
    pub(crate) fn encrypt_with_salt<R: Read, W: Write>(
        &self,
        salt: &[u8; SALT_LEN],
        input: R,
        mut output: W,
        options: &EncryptOptions,
    ) -> Result<Summary> {
        let seg_log2 = options.validate()?;
        let min_len = header::min_header_len(&self.context_bytes, &self.wrapped);
        let header_len = align_up(min_len, options.header_align as usize);
        if header_len > MAX_HEADER_LEN as usize {
            return Err(Error::InvalidArgument("header would exceed 1 MiB".into()));
        }
        let keys = FileKeys::derive(&self.data_key, seg_log2, salt, &self.context_bytes)?;
        let mut raw = header::encode_unsigned(
            seg_log2,
            salt,
            &self.context_bytes,
            &self.wrapped,
            header_len,
        );
        sign_header(&keys, &mut raw);
        output.write_all(&raw)?;
        let segment_size = 1usize << seg_log2;
        let body = stream::encrypt_body(keys.body(), segment_size, input, output)?;
        Ok(Summary {
            key_id: self
                .wrapped
                .first()
                .map(|k| k.key_id.clone())
                .unwrap_or_default(),
            header_len: u32::try_from(header_len).unwrap_or(u32::MAX),
            segment_size: 1 << seg_log2,
            segments: body.segments,
            plaintext_len: body.plaintext_len,
            ciphertext_len: header_len as u64 + body.body_len,
        })
    }
}

/// Encrypts `input` into `output` as one envelope: generates a data key under `key_ids[0]`,
/// wraps it under the other ids, writes the header, then the sealed segments. See
/// [`EnvelopeKey`] to seal several files with one data key.
pub fn encrypt<R: Read, W: Write>(
    wrapper: &(impl KeyWrapper + ?Sized),
    key_ids: &[impl AsRef<str>],
    context: &EncryptionContext,
    input: R,
    output: W,
    options: &EncryptOptions,
) -> Result<Summary> {
    options.validate()?;
    EnvelopeKey::generate(wrapper, key_ids, context)?.encrypt(input, output, options)
}

/// Writes the header MAC into the last 32 bytes of `raw`.
pub(crate) fn sign_header(keys: &FileKeys, raw: &mut [u8]) {
    let split = raw.len().saturating_sub(MAC_LEN);
    let (content, mac) = raw.split_at_mut(split);
    mac.copy_from_slice(&keys.header_mac(content));
}

/// Rounds `len` up to a multiple of `align` (a power of two).
pub(crate) fn align_up(len: usize, align: usize) -> usize {
    let align = align.max(1);
    len.div_ceil(align) * align
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_validation() {
        let mut o = EncryptOptions::default();
        assert_eq!(o.validate().unwrap(), 20);
        o.segment_size = 4096;
        assert_eq!(o.validate().unwrap(), 12);
        for bad in [0, 2048, 4097, 1 << 25, 3 << 20] {
            o.segment_size = bad;
            assert!(
                matches!(o.validate(), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
        o.segment_size = 4096;
        for bad in [0, 3, 1 << 17] {
            o.header_align = bad;
            assert!(
                matches!(o.validate(), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn align_up_rounds() {
        assert_eq!(align_up(90, 4096), 4096);
        assert_eq!(align_up(4096, 4096), 4096);
        assert_eq!(align_up(4097, 4096), 8192);
        assert_eq!(align_up(90, 1), 90);
    }
}
