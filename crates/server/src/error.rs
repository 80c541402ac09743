//! Every way an API call can fail, as one enum whose HTTP status and wire code are functions of
//! the variant ([`ApiError::status`], [`ApiError::code`]); never derived from message text.
//! 5xx answers carry a generic message; the detail goes to the log only.

pub mod ram;

use axum::http::StatusCode;
use keywarden_core::lifecycle::Refusal;
use keywarden_core::model::KeyState;

/// An API error, rendered as `{"RequestId","HostId","Code","Message","Recommend"}`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A required parameter is absent or empty.
    #[error("The parameter \"{0}\" is needed but not provided.")]
    MissingParameter(&'static str),
    /// A parameter has a value outside its rules.
    #[error("The specified parameter \"{name}\" is not valid: {reason}")]
    InvalidParameter {
        /// The parameter name.
        name: &'static str,
        /// What is wrong, for the caller.
        reason: String,
    },
    /// The query or body is not valid url-encoding, or a parameter appears twice.
    #[error("Server parse parameters exception: {0}")]
    ParseParameters(String),
    /// The signature fields are incomplete or inconsistent.
    #[error("The request signature does not conform to Alibaba Cloud standards: {0}")]
    IncompleteSignature(String),
    /// The signature does not verify; carries the server's string-to-sign.
    #[error(
        "Specified signature is not matched with our calculation. server string to sign is:{0}"
    )]
    SignatureDoesNotMatch(String),
    /// No Timestamp / x-acs-date, or not parseable.
    #[error(
        "The input parameter \"Timestamp\" that is mandatory for processing this request is not supplied or malformed."
    )]
    IllegalTimestamp,
    /// The timestamp is outside the accepted window.
    #[error("Specified time stamp or date value is expired.")]
    TimestampExpired,
    /// The signature nonce was seen within the window.
    #[error("Specified signature nonce was used already.")]
    NonceUsed,
    /// The API version is not 2016-01-20.
    #[error("Specified parameter Version is not valid.")]
    InvalidVersion,
    /// Unknown action.
    #[error("Specified api is not found, please check your url and method.")]
    ActionNotFound,
    /// The request body is larger than the server accepts.
    #[error("The request body is larger than {0} bytes.")]
    BodyTooLarge(usize),
    /// HTTP method other than GET/POST.
    #[error("This http method is not supported.")]
    UnsupportedMethod,
    /// Unknown AccessKeyId.
    #[error("Specified access key is not found.")]
    AccessKeyNotFound,
    /// The access key is inactive.
    #[error("This AccessKey is not enabled.")]
    AccessKeyInactive,
    /// The caller may not perform this action.
    #[error("This operation is forbidden by permission system.")]
    NoPermission,
    /// No key with this id (or the alias's key is gone).
    #[error("The specified Key is not found.")]
    KeyNotFound,
    /// No such key version.
    #[error("The specified Key version is not found.")]
    KeyVersionNotFound,
    /// No such alias.
    #[error("The specified Alias is not found.")]
    AliasNotFound,
    /// The alias name is taken.
    #[error("AliasName Already Exists.")]
    AliasAlreadyExists,
    /// The key's state forbids the operation.
    #[error("The request was rejected because the key state is {0}.")]
    KeyStateRejected(KeyState),
    /// The state transition is not allowed from the current state.
    #[error("Keystate modified failed.")]
    StateModifiedFailed,
    /// Deletion protection is on: the key cannot be scheduled for deletion. The service does
    /// not document this code; keywarden answers it in the style of the other `Rejected.*`.
    #[error("The request was rejected because deletion protection is enabled for the key.")]
    DeletionProtected,
    /// The operation does not apply to this key (e.g. an unsupported key spec).
    #[error("Unsupported operation: {0}")]
    UnsupportedOperation(String),
    /// The ciphertext does not open: altered, from another KMS, or a different EncryptionContext.
    #[error(
        "The specified parameter \"CiphertextBlob\" is not valid: it was not produced by this KMS, was altered, or the EncryptionContext differs from the one used to encrypt it."
    )]
    InvalidCiphertext,
    /// DryRun: the call would have succeeded.
    #[error("The request would have succeeded, but the DryRun parameter was set.")]
    DryRun,
    /// Too many requests from one access key (answered with `x-acs-retry-after`).
    #[error("Request was denied due to request throttling.")]
    Throttling {
        /// Milliseconds until a retry would be admitted (at least 1).
        retry_after_ms: u64,
    },
    /// The request is not HTTP/1.1 the server can read: a bad request line, header or
    /// framing (answered below the API, by [`crate::wire`]).
    #[error("The request is not well-formed HTTP: {0}.")]
    MalformedRequest(&'static str),
    /// The request target is longer than the server reads.
    #[error("The request URI is longer than the server accepts.")]
    UriTooLong,
    /// The request line and headers are larger, or more, than the server reads.
    #[error("The request headers are larger or more numerous than the server accepts.")]
    HeadersTooLarge,
    /// The request body did not arrive within the body read timeout.
    #[error("The request body was not received in time.")]
    RequestTimeout,
    /// An error of a RAM action (`InvalidParameter.*`, `EntityNotExist.*`, ...): status and
    /// code come from [`ram::RamError`].
    #[error(transparent)]
    Ram(ram::RamError),
    /// The call was not run, or its change was not made, for a reason that may pass: the
    /// audit trail cannot be written (no call runs unaudited), or the store is out of space
    /// or unreachable. Retry later. Detail is logged, not sent.
    #[error("The service is temporarily unavailable; nothing was changed. Retry later.")]
    ServiceUnavailable(Unavailable),
    /// Anything the caller cannot fix; detail is logged, not sent.
    #[error("Internal Failure.")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            MissingParameter(_)
            | InvalidParameter { .. }
            | ParseParameters(_)
            | IncompleteSignature(_)
            | SignatureDoesNotMatch(_)
            | IllegalTimestamp
            | TimestampExpired
            | NonceUsed
            | InvalidVersion
            | AliasAlreadyExists
            | UnsupportedOperation(_)
            | InvalidCiphertext
            | DryRun
            | MalformedRequest(_)
            | Throttling { .. } => StatusCode::BAD_REQUEST,
            UriTooLong => StatusCode::URI_TOO_LONG,
            HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            UnsupportedMethod | AccessKeyInactive | NoPermission => StatusCode::FORBIDDEN,
            BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ActionNotFound | AccessKeyNotFound | KeyNotFound | KeyVersionNotFound
            | AliasNotFound => StatusCode::NOT_FOUND,
            KeyStateRejected(_) | StateModifiedFailed | DeletionProtected => StatusCode::CONFLICT,
            Ram(e) => e.status(),
            ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable wire code of this error.
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            MissingParameter(_) => "MissingParameter",
            InvalidParameter { .. } | InvalidCiphertext => "InvalidParameter",
            ParseParameters(_) => "ParseRequestParameterException",
            IncompleteSignature(_) => "IncompleteSignature",
            SignatureDoesNotMatch(_) => "SignatureDoesNotMatch",
            IllegalTimestamp => "IllegalTimestamp",
            TimestampExpired => "InvalidTimeStamp.Expired",
            NonceUsed => "SignatureNonceUsed",
            InvalidVersion => "InvalidVersion",
            ActionNotFound => "InvalidAction.NotFound",
            UnsupportedMethod => "UnsupportedHTTPMethod",
            BodyTooLarge(_) => "RequestEntityTooLarge",
            AccessKeyNotFound => "InvalidAccessKeyId.NotFound",
            AccessKeyInactive => "Forbidden.AccessKey",
            NoPermission => "Forbidden.NoPermission",
            KeyNotFound => "Forbidden.KeyNotFound",
            KeyVersionNotFound => "Forbidden.KeyVersionNotFound",
            AliasNotFound => "Forbidden.AliasNotFound",
            AliasAlreadyExists => "AliasAlreadyExists",
            KeyStateRejected(KeyState::Enabled) => "Rejected.Enabled",
            KeyStateRejected(KeyState::Disabled) => "Rejected.Disabled",
            KeyStateRejected(KeyState::PendingDeletion) => "Rejected.PendingDeletion",
            KeyStateRejected(KeyState::PendingImport) => "Rejected.PendingImport",
            StateModifiedFailed => "Rejected.StateModifiedFailed",
            DeletionProtected => "Rejected.DeletionProtection",
            UnsupportedOperation(_) => "Rejected.UnsupportedOperation",
            DryRun => "DryRunOperationError",
            Throttling { .. } => "Throttling",
            RequestTimeout => "RequestTimeout",
            MalformedRequest(_) => "MalformedRequest",
            UriTooLong => "RequestURITooLong",
            HeadersTooLarge => "RequestHeaderFieldsTooLarge",
            Ram(e) => e.code(),
            ServiceUnavailable(_) => "ServiceUnavailableTemporary",
            Internal(_) => "InternalFailure",
        }
    }

    /// Shorthand for an invalid parameter.
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        ApiError::InvalidParameter {
            name,
            reason: reason.into(),
        }
    }

    /// Wraps an internal failure.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(e))
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Rejected(state) => ApiError::KeyStateRejected(state),
            Refusal::StateModifiedFailed => ApiError::StateModifiedFailed,
        }
    }
}

/// Why a call answered [`ApiError::ServiceUnavailable`] (logged, never sent).
#[derive(Debug)]
#[non_exhaustive]
pub enum Unavailable {
    /// The audit trail cannot be written, so no call is run.
    AuditTrail,
    /// The store refused for a passing reason.
    Store(keywarden_store::StoreError),
}

impl From<keywarden_store::StoreError> for ApiError {
    fn from(e: keywarden_store::StoreError) -> Self {
        match e {
            keywarden_store::StoreError::Unavailable(_) => {
                ApiError::ServiceUnavailable(Unavailable::Store(e))
            }
            e => ApiError::internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_code_are_functions_of_the_variant() {
        assert_eq!(ApiError::KeyNotFound.status(), StatusCode::NOT_FOUND);
        assert_eq!(ApiError::KeyNotFound.code(), "Forbidden.KeyNotFound");
        let e = ApiError::KeyStateRejected(KeyState::Disabled);
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::CONFLICT, "Rejected.Disabled")
        );
        assert_eq!(
            e.to_string(),
            "The request was rejected because the key state is Disabled."
        );
        let protected = ApiError::DeletionProtected;
        assert_eq!(
            (protected.status(), protected.code()),
            (StatusCode::CONFLICT, "Rejected.DeletionProtection")
        );
        let refused = ApiError::from(Refusal::Rejected(KeyState::PendingDeletion));
        assert_eq!(refused.code(), "Rejected.PendingDeletion");
        let refused = ApiError::from(Refusal::StateModifiedFailed);
        assert_eq!(
            (refused.status(), refused.code()),
            (StatusCode::CONFLICT, "Rejected.StateModifiedFailed")
        );
        let sig = ApiError::SignatureDoesNotMatch("POST&%2F&a".into());
        // The old SDK splits the message on ':' and compares field 1 with its string-to-sign.
        assert_eq!(sig.to_string().split(':').nth(1), Some("POST&%2F&a"));
        assert_eq!(
            ApiError::internal(std::io::Error::other("disk")).to_string(),
            "Internal Failure."
        );
    }
}
