//! [`ErrorClass`]: what a failed call means for the caller, derived from a [`ClientError`] in one
//! place ([`ErrorClass::of`]). The envelope wrapper (`WrapErrorKind`) and the CLI (exit codes)
//! both map from this classification, so one wire code means one thing everywhere.
//!
//! Every code the server sends (`server/src/error.rs` and `server/src/ram/error.rs`) is listed
//! in [`api_class`]; a code this table does not know is classified by its HTTP status
//! ([`status_class`]).
//!
//! | class | wire codes |
//! |---|---|
//! | `Credentials` | `InvalidAccessKeyId.NotFound`, `Forbidden.AccessKey`, `SignatureDoesNotMatch`, `IncompleteSignature`, `IllegalTimestamp`, `InvalidTimeStamp.Expired`, `SignatureNonceUsed`; unknown 401 |
//! | `Refused(NotAllowed)` | `Forbidden.NoPermission`; unknown 403 |
//! | `Refused(NotFound)` | `Forbidden.KeyNotFound`, `Forbidden.KeyVersionNotFound`, `Forbidden.AliasNotFound`, `EntityNotExist.*`; unknown 404 |
//! | `Refused(Unusable)` | `Rejected.<State>`, `Rejected.StateModifiedFailed`, `Rejected.DeletionProtection`, `Rejected.UnsupportedOperation`, `DeleteConflict.*`; unknown 409 |
//! | `InvalidCiphertext` | `InvalidParameter` in answer to `Decrypt` or `ReEncrypt` (the server's answer to a blob that does not open) |
//! | `BadRequest` | `InvalidParameter` (other actions), `InvalidParameter.*`, `MissingParameter`, `ParseRequestParameterException`, `InvalidVersion`, `InvalidAction.NotFound`, `UnsupportedHTTPMethod`, `RequestEntityTooLarge`, `AliasAlreadyExists`, `DryRunOperationError`, `MalformedPolicyDocument`, `EntityAlreadyExists.*`, `LimitExceeded.*`; other unknown 4xx |
//! | `Throttled` | `Throttling` (still refused after the client's retries); unknown 429 |
//! | `Unreachable` | no answer (network, TLS, timeout); `RequestTimeout` (408: the body did not arrive in time) |
//! | `Server` | `InternalFailure`; unknown 5xx |
//! | `Protocol` | an answer that is not the API's JSON; an unknown code with a status outside 4xx/5xx |
//! | `Config` | local configuration (endpoint syntax, CA file) |

use crate::client::ClientError;

/// What a failed call means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The request was not authenticated: unknown, inactive or wrong access key, a signature
    /// that does not verify, a timestamp outside the window, a reused nonce.
    Credentials,
    /// The KMS refused this key or this action.
    Refused(Refusal),
    /// The ciphertext blob does not open: altered, from another KMS, for a destroyed key, or a
    /// different encryption context.
    InvalidCiphertext,
    /// Another client error of the request (a bad or missing parameter, a name already taken,
    /// a limit reached, ...).
    BadRequest,
    /// The server's rate limit refused the call, also after the client's retries.
    Throttled,
    /// The KMS could not be reached, or the request did not reach it in time.
    Unreachable,
    /// The KMS failed (HTTP 5xx).
    Server,
    /// The answer is not the API's (not JSON, a field missing, an unexpected status).
    Protocol,
    /// Local configuration: endpoint syntax, CA file.
    Config,
}

/// Why the KMS refused: the caller acts differently on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// The caller is authenticated but its policies do not allow the action on the resource.
    NotAllowed,
    /// No such key, key version, alias (or RAM entity).
    NotFound,
    /// The key (or entity) exists but its state or kind forbids the action: disabled, pending
    /// deletion or import, deletion protection, an unsupported key spec, ...
    Unusable,
}

impl ErrorClass {
    /// The class of `e`: the one classification of client errors.
    pub fn of(e: &ClientError) -> Self {
        match e {
            ClientError::Api {
                action,
                code,
                status,
                ..
            } => api_class(action, code).unwrap_or_else(|| status_class(*status)),
            ClientError::Unreachable { .. } => Self::Unreachable,
            ClientError::Protocol(_) => Self::Protocol,
            ClientError::Config(_) => Self::Config,
        }
    }
}

/// Actions whose `InvalidParameter` answer means the `CiphertextBlob` does not open: the server
/// answers a foreign or altered blob with that code, as the service does.
const BLOB_ACTIONS: [&str; 2] = ["Decrypt", "ReEncrypt"];

/// The class of a wire code the server sends, or `None` for a code it does not send.
fn api_class(action: &str, code: &str) -> Option<ErrorClass> {
    use ErrorClass::*;
    let class = match code {
        "InvalidAccessKeyId.NotFound"
        | "Forbidden.AccessKey"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "IllegalTimestamp"
        | "InvalidTimeStamp.Expired"
        | "SignatureNonceUsed" => Credentials,
        "Forbidden.NoPermission" => Refused(Refusal::NotAllowed),
        "Forbidden.KeyNotFound" | "Forbidden.KeyVersionNotFound" | "Forbidden.AliasNotFound" => {
            Refused(Refusal::NotFound)
        }
        "Rejected.Enabled"
        | "Rejected.Disabled"
        | "Rejected.PendingDeletion"
        | "Rejected.PendingImport"
        | "Rejected.StateModifiedFailed"
        | "Rejected.DeletionProtection"
        | "Rejected.UnsupportedOperation" => Refused(Refusal::Unusable),
        "InvalidParameter" if BLOB_ACTIONS.contains(&action) => InvalidCiphertext,
        "InvalidParameter"
        | "MissingParameter"
        | "ParseRequestParameterException"
        | "InvalidVersion"
        | "InvalidAction.NotFound"
        | "UnsupportedHTTPMethod"
        | "RequestEntityTooLarge"
        | "AliasAlreadyExists"
        | "DryRunOperationError"
        | "MalformedPolicyDocument" => BadRequest,
        "Throttling" => Throttled,
        "RequestTimeout" => Unreachable,
        "InternalFailure" => Server,
        _ => return ram_family(code),
    };
    Some(class)
}

/// The RAM code families (`<Family>.<Entity>...`, `server/src/ram/error.rs`).
fn ram_family(code: &str) -> Option<ErrorClass> {
    let (family, _) = code.split_once('.')?;
    match family {
        "EntityNotExist" => Some(ErrorClass::Refused(Refusal::NotFound)),
        "DeleteConflict" => Some(ErrorClass::Refused(Refusal::Unusable)),
        "InvalidParameter" | "EntityAlreadyExists" | "LimitExceeded" => {
            Some(ErrorClass::BadRequest)
        }
        _ => None,
    }
}

/// The class of a code this client does not know, by HTTP status.
fn status_class(status: u16) -> ErrorClass {
    use ErrorClass::*;
    match status {
        401 => Credentials,
        403 => Refused(Refusal::NotAllowed),
        404 => Refused(Refusal::NotFound),
        408 => Unreachable,
        409 => Refused(Refusal::Unusable),
        429 => Throttled,
        400..=499 => BadRequest,
        500..=599 => Server,
        _ => Protocol,
    }
}

#[cfg(test)]
mod tests {
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

    /// Every code `server/src/error.rs` and `server/src/ram/error.rs` send, with its status.
    const SERVER_CODES: &[(&str, u16, ErrorClass)] = {
        use ErrorClass::*;
        use Refusal::*;
        &[
            ("MissingParameter", 400, BadRequest),
            ("InvalidParameter", 400, BadRequest),
            ("ParseRequestParameterException", 400, BadRequest),
            ("IncompleteSignature", 400, Credentials),
            ("SignatureDoesNotMatch", 400, Credentials),
            ("IllegalTimestamp", 400, Credentials),
            ("InvalidTimeStamp.Expired", 400, Credentials),
            ("SignatureNonceUsed", 400, Credentials),
            ("InvalidVersion", 400, BadRequest),
            ("InvalidAction.NotFound", 404, BadRequest),
            ("UnsupportedHTTPMethod", 403, BadRequest),
            ("RequestEntityTooLarge", 413, BadRequest),
            ("InvalidAccessKeyId.NotFound", 404, Credentials),
            ("Forbidden.AccessKey", 403, Credentials),
            ("Forbidden.NoPermission", 403, Refused(NotAllowed)),
            ("Forbidden.KeyNotFound", 404, Refused(NotFound)),
            ("Forbidden.KeyVersionNotFound", 404, Refused(NotFound)),
            ("Forbidden.AliasNotFound", 404, Refused(NotFound)),
            ("AliasAlreadyExists", 400, BadRequest),
            ("Rejected.Enabled", 409, Refused(Unusable)),
            ("Rejected.Disabled", 409, Refused(Unusable)),
            ("Rejected.PendingDeletion", 409, Refused(Unusable)),
            ("Rejected.PendingImport", 409, Refused(Unusable)),
            ("Rejected.StateModifiedFailed", 409, Refused(Unusable)),
            ("Rejected.DeletionProtection", 409, Refused(Unusable)),
            ("Rejected.UnsupportedOperation", 400, Refused(Unusable)),
            ("DryRunOperationError", 400, BadRequest),
            ("Throttling", 400, Throttled),
            ("RequestTimeout", 408, Unreachable),
            ("InternalFailure", 500, Server),
            // RAM
            ("InvalidParameter.UserName.InvalidChars", 400, BadRequest),
            ("InvalidParameter.NewEmail.Format", 400, BadRequest),
            ("MalformedPolicyDocument", 400, BadRequest),
            ("EntityNotExist.User", 404, Refused(NotFound)),
            ("EntityNotExist.User.AccessKey", 404, Refused(NotFound)),
            ("EntityNotExist.User.Policy", 404, Refused(NotFound)),
            ("EntityNotExist.Policy", 404, Refused(NotFound)),
            ("EntityNotExist.Policy.Version", 404, Refused(NotFound)),
            ("EntityAlreadyExists.User", 409, BadRequest),
            ("EntityAlreadyExists.Policy", 409, BadRequest),
            ("EntityAlreadyExists.User.Policy", 409, BadRequest),
            ("DeleteConflict.User.AccessKey", 409, Refused(Unusable)),
            ("DeleteConflict.User.Policy", 409, Refused(Unusable)),
            ("DeleteConflict.Policy.User", 409, Refused(Unusable)),
            ("DeleteConflict.Policy.Version", 409, Refused(Unusable)),
            (
                "DeleteConflict.Policy.Version.Default",
                409,
                Refused(Unusable),
            ),
            ("LimitExceeded.User.AccessKey", 409, BadRequest),
            ("LimitExceeded.Policy.Version", 409, BadRequest),
        ]
    };

    #[test]
    fn every_server_code_is_classified_deliberately() {
        for &(code, status, class) in SERVER_CODES {
            assert_eq!(
                ErrorClass::of(&api("GenerateDataKey", code, status)),
                class,
                "{code}"
            );
            assert!(
                api_class("GenerateDataKey", code).is_some(),
                "{code} is in the table"
            );
        }
    }

    #[test]
    fn the_code_decides_not_the_status() {
        // A known code keeps its class whatever the status says.
        for status in [400, 403, 404, 409, 500] {
            let e = api("Encrypt", "Forbidden.NoPermission", status);
            assert_eq!(ErrorClass::of(&e), ErrorClass::Refused(Refusal::NotAllowed));
        }
    }

    #[test]
    fn invalid_parameter_of_a_blob_action_is_an_invalid_ciphertext() {
        for action in ["Decrypt", "ReEncrypt"] {
            let e = api(action, "InvalidParameter", 400);
            assert_eq!(ErrorClass::of(&e), ErrorClass::InvalidCiphertext);
        }
        let e = api("Decrypt", "MissingParameter", 400);
        assert_eq!(ErrorClass::of(&e), ErrorClass::BadRequest);
        let e = api("Decrypt", "InvalidParameter.UserName.Length", 400);
        assert_eq!(ErrorClass::of(&e), ErrorClass::BadRequest);
    }

    #[test]
    fn unknown_codes_fall_back_by_status() {
        use ErrorClass::*;
        let cases = [
            (401, Credentials),
            (403, Refused(Refusal::NotAllowed)),
            (404, Refused(Refusal::NotFound)),
            (408, Unreachable),
            (409, Refused(Refusal::Unusable)),
            (429, Throttled),
            (400, BadRequest),
            (418, BadRequest),
            (500, Server),
            (503, Server),
            (302, Protocol),
        ];
        for (status, class) in cases {
            assert_eq!(
                ErrorClass::of(&api("Encrypt", "Some.NewCode", status)),
                class
            );
        }
        // An unknown code in a known family keeps the family's class.
        let e = api("CreateUser", "EntityNotExist.Group", 404);
        assert_eq!(ErrorClass::of(&e), Refused(Refusal::NotFound));
        let e = api("Encrypt", "Rejected.Throttling", 429);
        assert_eq!(ErrorClass::of(&e), Throttled);
    }

    #[test]
    fn local_failures() {
        assert_eq!(
            ErrorClass::of(&ClientError::Config("endpoint".into())),
            ErrorClass::Config
        );
        assert_eq!(
            ErrorClass::of(&ClientError::Protocol("not JSON".into())),
            ErrorClass::Protocol
        );
        let e = ClientError::Unreachable {
            endpoint: "https://127.0.0.1:1".into(),
            source: Box::new(ureq::Error::ConnectionFailed),
        };
        assert_eq!(ErrorClass::of(&e), ErrorClass::Unreachable);
    }
}
