//! keywarden's envelope engine: the KENV1 file format and the legacy 4-line seed format.
//!
//! Pure: no HTTP, no file-system paths, no async runtime. Everything works on `Read`, `Write`
//! and `Seek`; the key service is reached only through the [`KeyWrapper`] trait. The byte
//! layout, key schedule and every reader check are specified in `docs/FORMAT.md`.
//!
//! - [`encrypt`] / [`EnvelopeKey`]: stream any input into an envelope; segments are sealed in
//!   parallel with AES-256-GCM under a per-file key, in constant memory.
//! - [`decrypt`]: stream an envelope back; each segment is verified before it is written, and
//!   a missing final segment is an error. **Write to a temporary file and rename it only after
//!   [`decrypt`] returns `Ok`.**
//! - [`read_header`] / [`Header`]: parse a header without keys (for `inspect`; unauthenticated).
//! - [`RangeReader`] / [`read_range`]: random access, opening only the segments a range
//!   touches.
//! - [`rewrap_header`]: re-wrap the data key under other CMKs; the body is untouched and the
//!   header usually keeps its length, so it can be rewritten in place.
//! - [`seed`]: read and write the 4-line base64 AES-EAX format of Alibaba's documented example.
//! - [`detect`]: tell the two formats apart from a file's first bytes.
//! - `testing::LocalWrapper` (feature `testing`): an in-memory [`KeyWrapper`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod decrypt;
mod encrypt;
mod error;
pub mod header;
mod io_util;
mod keys;
mod pipeline;
mod range;
mod rewrap;
mod schedule;
pub mod seed;
mod stream;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod vectors;

pub use decrypt::decrypt;
pub use encrypt::{EncryptOptions, EnvelopeKey, MAX_HEADER_ALIGN, Summary, encrypt};
pub use error::{Error, Result, WrapError, WrapErrorKind};
pub use header::{Header, read_header};
pub use keys::{DATA_KEY_LEN, DataKey, EncryptionContext, KeyWrapper, WrappedKey};
pub use range::{RangeReader, read_range};
pub use rewrap::rewrap_header;
pub use schedule::{MAX_SEGMENTS, TAG_LEN};

/// The file formats this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// A KENV envelope (starts with [`header::MAGIC`]).
    Kenv,
    /// A 4-line seed file (starts with a base64 line).
    Seed,
}

/// Identifies the format from a file's first bytes (16 or more are best; a KENV prefix shorter
/// than the magic still counts). `None` for anything else, including an empty prefix.
pub fn detect(prefix: &[u8]) -> Option<Format> {
    let n = prefix.len().min(header::MAGIC.len());
    if n > 0 && prefix.get(..n) == header::MAGIC.get(..n) {
        Some(Format::Kenv)
    } else if seed::is_seed(prefix) {
        Some(Format::Seed)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_types_are_thread_safe() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<EnvelopeKey>();
        send_sync::<DataKey>();
        send_sync::<Header>();
        send_sync::<Error>();
        send_sync::<RangeReader<std::io::Cursor<Vec<u8>>>>();
        send_sync::<seed::SeedKey>();
    }

    #[test]
    fn detect_tells_formats_apart() {
        assert_eq!(detect(&header::MAGIC), Some(Format::Kenv));
        assert_eq!(detect(&header::MAGIC[..3]), Some(Format::Kenv));
        assert_eq!(detect(b"QUJD\nAAAA\n"), Some(Format::Seed));
        assert_eq!(detect(b""), None);
        assert_eq!(detect(b"{\"json\": 1}"), None);
    }
}
