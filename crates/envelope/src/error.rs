//! Errors: [`Error`] for every operation of this crate, [`WrapError`] for what a
//! [`KeyWrapper`](crate::KeyWrapper) reports about the key service.
//!
//! The variants are deliberately coarse where detail would help an attacker (every MAC or tag
//! failure is [`Error::Tampered`]) and distinct where a caller must act differently (a missing
//! final segment, an unknown version, a key service that said no).

use std::fmt;
use std::io;

/// Everything that can go wrong while reading, writing or rewrapping an envelope.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input does not start with the KENV magic (nor, for the seed reader, with a 4-line seed
    /// file).
    #[error("not a keywarden envelope (unknown magic bytes)")]
    NotEnvelope,
    /// The magic is right but the format version is not one this build reads.
    #[error("unsupported envelope format version {0}")]
    UnsupportedVersion(u8),
    /// The version is known but the cipher suite is not.
    #[error("unsupported envelope cipher suite {0}")]
    UnsupportedSuite(u8),
    /// The header (or a seed file) breaks a structural rule of `docs/FORMAT.md`: a length out of
    /// range, a non-canonical encryption context, non-zero padding or flags, bad base64, ...
    #[error("malformed envelope: {0}")]
    Malformed(&'static str),
    /// A header MAC, segment tag or seed tag did not verify: the bytes were modified, a segment
    /// was cut short, moved or appended, or the unwrapped data key is not the one the file was
    /// written with. Deliberately one coarse error.
    #[error("authentication failed: the file was modified or is not the one the key belongs to")]
    Tampered,
    /// The input ended early: inside the header, before the final segment, or (seed) before the
    /// fourth line.
    #[error("the encrypted file is truncated")]
    Truncated,
    /// Bytes follow the end of the encrypted content (seed files: anything but whitespace after
    /// the fourth line).
    #[error("unexpected data after the end of the encrypted content")]
    TrailingData,
    /// The input needs more segments than the format allows (2^32).
    #[error("input too large for the envelope format")]
    TooLarge,
    /// A caller-supplied parameter is unusable (segment size, key ids, context too large, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The key service refused or failed to generate, wrap or unwrap a data key.
    #[error("key service: {0}")]
    Wrap(#[from] WrapError),
    /// Reading the input or writing the output failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The cryptographic library failed where it cannot fail on valid input (random generator
    /// or key setup). Not caused by the file's contents.
    #[error("cryptographic library failure: {0}")]
    Internal(&'static str),
}

/// Convenience alias for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of refusal or failure a key service reported; the CLI maps these to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WrapErrorKind {
    /// The caller is not authenticated or not allowed to use the key.
    Unauthorized,
    /// The key exists but is disabled, pending deletion or otherwise unusable.
    KeyDisabled,
    /// No such key (or alias).
    NotFound,
    /// The wrapped blob was rejected: corrupt, for another key, or a different encryption
    /// context.
    InvalidCiphertext,
    /// The key service could not be reached (network, TLS, timeout, 5xx).
    Unreachable,
    /// Anything else.
    Other,
}

impl fmt::Display for WrapErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unauthorized => "unauthorized",
            Self::KeyDisabled => "key disabled",
            Self::NotFound => "key not found",
            Self::InvalidCiphertext => "invalid wrapped key",
            Self::Unreachable => "key service unreachable",
            Self::Other => "key service error",
        })
    }
}

/// An error from a [`KeyWrapper`](crate::KeyWrapper): a typed kind, a human message, and
/// optionally the underlying error.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct WrapError {
    kind: WrapErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl WrapError {
    /// An error of `kind` with a message (say which key and what the service answered).
    pub fn new(kind: WrapErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> WrapErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Maps an I/O error from reading a header or body: an early end of input is [`Error::Truncated`].
pub(crate) fn read_error(err: io::Error) -> Error {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        Error::Truncated
    } else {
        Error::Io(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_error_keeps_kind_message_and_source() {
        let err = WrapError::new(WrapErrorKind::KeyDisabled, "key k1 is disabled")
            .with_source(io::Error::other("inner"));
        assert_eq!(err.kind(), WrapErrorKind::KeyDisabled);
        assert_eq!(err.message(), "key k1 is disabled");
        assert_eq!(err.to_string(), "key disabled: key k1 is disabled");
        assert!(std::error::Error::source(&err).is_some());
        let top = Error::from(err);
        assert!(matches!(top, Error::Wrap(ref w) if w.kind() == WrapErrorKind::KeyDisabled));
    }

    #[test]
    fn unexpected_eof_is_truncated() {
        assert!(matches!(
            read_error(io::ErrorKind::UnexpectedEof.into()),
            Error::Truncated
        ));
        assert!(matches!(
            read_error(io::ErrorKind::BrokenPipe.into()),
            Error::Io(_)
        ));
    }
}
