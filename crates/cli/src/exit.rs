//! Exit codes and error reporting. Scripts rely on these codes:
//!
//! | code | meaning |
//! |---|---|
//! | 1 | other error |
//! | 2 | usage error (bad arguments) |
//! | 3 | missing or wrong credentials / configuration: unknown, inactive or wrong access key, signature, clock (timestamp), endpoint syntax, CA file |
//! | 4 | KMS unreachable or unavailable: network, TLS, timeout, HTTP 5xx, still throttled after the client's retries, an answer that is not the API's |
//! | 5 | the KMS refused: key disabled, pending deletion, not found, or not allowed (`Forbidden.*` but `Forbidden.AccessKey`, `Rejected.*`, RAM `EntityNotExist.*`, `DeleteConflict.*`) |
//! | 6 | API error of another kind (bad or missing parameter, name already taken, limit reached, DryRun, ...) |
//! | 7 | not an envelope file (or an unsupported version) |
//! | 8 | tampered: a MAC or tag did not verify, or the wrapped key does not open (`InvalidParameter` answered to `Decrypt` / `ReEncrypt`) |
//! | 9 | truncated, or data after the end |
//! | 10 | `keywarden audit`: the audit trail failed verification (a record altered, removed or inserted, or the log truncated or rewritten) |
//!
//! Codes 3 to 6 and 8 for KMS answers come from one classification,
//! [`keywarden_client::ErrorClass`] ([`class_code`]), whichever command made the call (`kms`,
//! `ram`, `encrypt`, `decrypt`, `rewrap`): an envelope or wrapper error that carries a
//! [`ClientError`] takes that error's code.

use std::error::Error as StdError;

use keywarden_client::{ClientError, ErrorClass};
use keywarden_envelope::{Error as EnvError, WrapError, WrapErrorKind};

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
        EnvError::Wrap(w) => wrap_code(w),
        _ => OTHER,
    }
}

/// The exit code for a key-service error: its client error's, else by its kind (failures the
/// wrapper found itself, such as an unwrapped key of the wrong length).
pub fn wrap_code(w: &WrapError) -> u8 {
    match StdError::source(w).and_then(|s| s.downcast_ref::<ClientError>()) {
        Some(c) => client_code(c),
        None => kind_code(w.kind()),
    }
}

fn kind_code(kind: WrapErrorKind) -> u8 {
    match kind {
        WrapErrorKind::Unauthorized => CREDENTIALS,
        WrapErrorKind::Unreachable => UNREACHABLE,
        WrapErrorKind::KeyDisabled | WrapErrorKind::NotFound => KEY_REFUSED,
        WrapErrorKind::InvalidCiphertext => TAMPERED,
        _ => API,
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
    class_code(e.class())
}

/// The exit code for a class of client error.
pub fn class_code(class: ErrorClass) -> u8 {
    match class {
        ErrorClass::Credentials | ErrorClass::Config => CREDENTIALS,
        ErrorClass::Refused(_) => KEY_REFUSED,
        ErrorClass::InvalidCiphertext => TAMPERED,
        ErrorClass::Unreachable
        | ErrorClass::Server
        | ErrorClass::Throttled
        | ErrorClass::Protocol => UNREACHABLE,
        // BadRequest, and any class a newer client adds.
        _ => API,
    }
}

/// The exit code for `e`: that of the outermost error in its chain that has one.
fn code_of(e: &anyhow::Error) -> u8 {
    e.chain().find_map(known_code).unwrap_or(OTHER)
}

fn known_code(e: &(dyn StdError + 'static)) -> Option<u8> {
    if let Some(c) = e.downcast_ref::<CodedError>() {
        return Some(c.code);
    }
    if let Some(c) = e.downcast_ref::<EnvError>() {
        return Some(envelope_code(c));
    }
    if let Some(w) = e.downcast_ref::<WrapError>() {
        return Some(wrap_code(w));
    }
    if let Some(c) = e.downcast_ref::<ClientError>() {
        return Some(client_code(c));
    }
    e.downcast_ref::<keywarden_client::settings::SettingsError>()
        .map(|_| CREDENTIALS)
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

#[cfg(test)]
mod tests {
    use keywarden_client::Refusal;

    use super::*;

    fn api(action: &str, code: &str, status: u16) -> ClientError {
        ClientError::Api {
            action: action.into(),
            status,
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
        }
    }

    #[test]
    fn classes_have_the_documented_codes() {
        let cases = [
            (ErrorClass::Credentials, CREDENTIALS),
            (ErrorClass::Config, CREDENTIALS),
            (ErrorClass::Refused(Refusal::NotAllowed), KEY_REFUSED),
            (ErrorClass::Refused(Refusal::NotFound), KEY_REFUSED),
            (ErrorClass::Refused(Refusal::Unusable), KEY_REFUSED),
            (ErrorClass::InvalidCiphertext, TAMPERED),
            (ErrorClass::Unreachable, UNREACHABLE),
            (ErrorClass::Server, UNREACHABLE),
            (ErrorClass::Throttled, UNREACHABLE),
            (ErrorClass::Protocol, UNREACHABLE),
            (ErrorClass::BadRequest, API),
        ];
        for (class, code) in cases {
            assert_eq!(class_code(class), code, "{class:?}");
        }
    }

    /// The same wire code exits the same whether it arrives bare (`kms`), as a wrapper error
    /// (`encrypt --format seed`) or inside an envelope error (`encrypt`, `decrypt`, `rewrap`).
    #[test]
    fn one_code_whatever_the_path() {
        let cases = [
            (
                "GenerateDataKey",
                "Forbidden.NoPermission",
                403,
                KEY_REFUSED,
            ),
            ("GenerateDataKey", "Rejected.Disabled", 409, KEY_REFUSED),
            ("GenerateDataKey", "Forbidden.AccessKey", 403, CREDENTIALS),
            ("GenerateDataKey", "InvalidParameter", 400, API),
            ("Decrypt", "InvalidParameter", 400, TAMPERED),
            ("Decrypt", "InternalFailure", 500, UNREACHABLE),
        ];
        for (action, code, status, exit) in cases {
            let bare = anyhow::Error::from(api(action, code, status));
            let wrapped = anyhow::Error::from(keywarden_client::wrapper::wrap_error(api(
                action, code, status,
            )));
            let enveloped = anyhow::Error::from(EnvError::from(
                keywarden_client::wrapper::wrap_error(api(action, code, status)),
            ));
            for e in [bare, wrapped, enveloped] {
                assert_eq!(code_of(&e), exit, "{action} {code}: {e}");
            }
        }
    }

    #[test]
    fn wrapper_failures_without_a_client_error_go_by_kind() {
        let w = WrapError::new(WrapErrorKind::InvalidCiphertext, "16 bytes, not 32");
        assert_eq!(code_of(&anyhow::Error::from(w)), TAMPERED);
        assert_eq!(code_of(&anyhow::Error::from(EnvError::Tampered)), TAMPERED);
        assert_eq!(code_of(&fail(USAGE, "no")), USAGE);
        assert_eq!(code_of(&anyhow::anyhow!("other")), OTHER);
    }
}
