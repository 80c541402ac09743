//! Exit codes and error reporting. Scripts rely on these codes:
//!
//! | code | meaning |
//! |---|---|
//! | 1 | other error |
//! | 2 | usage error (bad arguments) |
//! | 3 | missing or wrong credentials / configuration |
//! | 4 | KMS unreachable |
//! | 5 | the KMS refused: key disabled, pending deletion, not found, or not allowed |
//! | 6 | API error of another kind (bad parameter, ...) |
//! | 7 | not an envelope file (or an unsupported version) |
//! | 8 | tampered: a MAC or tag did not verify, or the wrapped key does not open |
//! | 9 | truncated, or data after the end |
//! | 10 | `keywarden audit`: the audit trail failed verification (a record altered, removed or inserted, or the log truncated or rewritten) |

use keywarden_client::ClientError;
use keywarden_envelope::{Error as EnvError, WrapErrorKind};

/// Exit code: other error.
pub const OTHER: u8 = 1;
/// Exit code: usage error.
pub const USAGE: u8 = 2;
/// Exit code: credentials or configuration.
pub const CREDENTIALS: u8 = 3;
/// Exit code: KMS unreachable.
pub const UNREACHABLE: u8 = 4;
/// Exit code: key refused (disabled, not found, forbidden).
pub const KEY_REFUSED: u8 = 5;
/// Exit code: other API error.
pub const API: u8 = 6;

/// Exit code: not an envelope file.
pub const NOT_ENVELOPE: u8 = 7;
/// Exit code: tampered.
pub const TAMPERED: u8 = 8;
/// Exit code: truncated.
pub const TRUNCATED: u8 = 9;

/// Exit code: the audit trail failed verification.
pub const AUDIT_TAMPERED: u8 = 10;

/// The exit code for an envelope error.
pub fn envelope_code(e: &EnvError) -> u8 {
    match e {
        EnvError::NotEnvelope
        | EnvError::UnsupportedVersion(_)
        | EnvError::UnsupportedSuite(_)
        | EnvError::Malformed(_) => NOT_ENVELOPE,
        EnvError::Tampered => TAMPERED,
        EnvError::Truncated | EnvError::TrailingData => TRUNCATED,
        EnvError::InvalidArgument(_) => USAGE,
        EnvError::Wrap(w) => match w.kind() {
            WrapErrorKind::Unauthorized => CREDENTIALS,
            WrapErrorKind::Unreachable => UNREACHABLE,
            WrapErrorKind::KeyDisabled | WrapErrorKind::NotFound => KEY_REFUSED,
            WrapErrorKind::InvalidCiphertext => TAMPERED,
            _ => API,
        },
        _ => OTHER,
    }
}

/// An error that carries its exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CodedError {
    /// Exit code.
    pub code: u8,
    /// What to print.
    pub message: String,
}

/// Shorthand to fail with a code.
pub fn fail(code: u8, message: impl Into<String>) -> anyhow::Error {
    CodedError {
        code,
        message: message.into(),
    }
    .into()
}

/// The exit code for a client error.
pub fn client_code(e: &ClientError) -> u8 {
    match e {
        ClientError::Unreachable { .. } => UNREACHABLE,
        ClientError::Config(_) => CREDENTIALS,
        ClientError::Api { code, .. } => api_code(code),
        _ => OTHER,
    }
}

fn api_code(code: &str) -> u8 {
    if code.starts_with("InvalidAccessKeyId")
        || code.starts_with("SignatureDoesNotMatch")
        || code.starts_with("Forbidden.AccessKey")
        || code.starts_with("IncompleteSignature")
    {
        CREDENTIALS
    } else if code.starts_with("Rejected.") || code.starts_with("Forbidden.") {
        KEY_REFUSED
    } else {
        API
    }
}

/// The exit code for `e`: the first error in its chain that has one.
fn code_of(e: &anyhow::Error) -> u8 {
    if let Some(c) = e.downcast_ref::<CodedError>() {
        return c.code;
    }
    if let Some(c) = e.downcast_ref::<EnvError>() {
        return envelope_code(c);
    }
    if let Some(c) = e.downcast_ref::<ClientError>() {
        return client_code(c);
    }
    if e.downcast_ref::<keywarden_client::settings::SettingsError>()
        .is_some()
    {
        return CREDENTIALS;
    }
    OTHER
}

/// Prints `e` (with its causes) to stderr and picks the exit code.
pub fn report(e: &anyhow::Error) -> std::process::ExitCode {
    let code = code_of(e);
    eprintln!("keywarden: error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    std::process::ExitCode::from(code)
}
