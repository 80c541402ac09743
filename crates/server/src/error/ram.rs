//! The RAM API's own errors, with the codes the RAM SDKs and RAM's documentation use. They reach
//! the wire as [`ApiError::Ram`]; status and code are functions of the variant.

use axum::http::StatusCode;

use super::ApiError;

/// A parameter problem, as the last part of `InvalidParameter.<Field>.<Problem>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A character outside the allowed set.
    InvalidChars,
    /// Too short or too long.
    Length,
    /// Not in the required format (an email address, a phone number, an enumeration).
    Format,
}

/// An error of a RAM action.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RamError {
    /// A parameter breaks its rules: `InvalidParameter.<Field>.<Problem>`.
    #[error("The parameter \"{field}\" is not valid: {reason}")]
    InvalidParameter {
        /// `UserName`, `PolicyName`, ...
        field: &'static str,
        /// What kind of problem.
        problem: Problem,
        /// What is wrong, for the caller.
        reason: String,
    },
    /// The policy document does not parse or breaks the policy language rules.
    #[error("The policy document is malformed: {0}")]
    MalformedPolicyDocument(String),
    /// No such user.
    #[error("The user does not exist.")]
    UserNotFound,
    /// The user has no such access key.
    #[error("The access key does not exist for this user.")]
    AccessKeyNotFound,
    /// The policy is not attached to the user.
    #[error("The policy is not attached to the user.")]
    NotAttached,
    /// No such policy.
    #[error("The policy does not exist.")]
    PolicyNotFound,
    /// The policy has no such version.
    #[error("The policy version does not exist.")]
    PolicyVersionNotFound,
    /// The user name is taken.
    #[error("The user already exists.")]
    UserExists,
    /// The policy name is taken.
    #[error("The policy already exists.")]
    PolicyExists,
    /// The policy is already attached to the user.
    #[error("The policy is already attached to the user.")]
    AlreadyAttached,
    /// The user still has access keys.
    #[error("The user still has access keys; delete them first.")]
    UserHasAccessKeys,
    /// The user still has attached policies.
    #[error("The user still has attached policies; detach them first.")]
    UserHasPolicies,
    /// The policy is still attached to a principal.
    #[error("The policy is still attached; detach it first or use CascadingDelete.")]
    PolicyAttached,
    /// The policy still has versions besides the default.
    #[error("The policy still has non-default versions; delete them first or use CascadingDelete.")]
    PolicyHasVersions,
    /// The default version cannot be deleted.
    #[error("The default version of a policy cannot be deleted.")]
    DefaultVersion,
    /// The user has the most access keys allowed.
    #[error("The user already has the maximum number of access keys ({0}).")]
    AccessKeyLimit(u64),
    /// The policy has the most versions allowed.
    #[error("The policy already has the maximum number of versions ({0}).")]
    PolicyVersionLimit(u64),
}

impl RamError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        use RamError::*;
        match self {
            InvalidParameter { .. } | MalformedPolicyDocument(_) => StatusCode::BAD_REQUEST,
            UserNotFound
            | AccessKeyNotFound
            | NotAttached
            | PolicyNotFound
            | PolicyVersionNotFound => StatusCode::NOT_FOUND,
            UserExists
            | PolicyExists
            | AlreadyAttached
            | UserHasAccessKeys
            | UserHasPolicies
            | PolicyAttached
            | PolicyHasVersions
            | DefaultVersion
            | AccessKeyLimit(_)
            | PolicyVersionLimit(_) => StatusCode::CONFLICT,
        }
    }

    /// The stable wire code of this error.
    pub fn code(&self) -> &'static str {
        use RamError::*;
        match self {
            InvalidParameter { field, problem, .. } => invalid_code(field, *problem),
            MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            UserNotFound => "EntityNotExist.User",
            AccessKeyNotFound => "EntityNotExist.User.AccessKey",
            NotAttached => "EntityNotExist.User.Policy",
            PolicyNotFound => "EntityNotExist.Policy",
            PolicyVersionNotFound => "EntityNotExist.Policy.Version",
            UserExists => "EntityAlreadyExists.User",
            PolicyExists => "EntityAlreadyExists.Policy",
            AlreadyAttached => "EntityAlreadyExists.User.Policy",
            UserHasAccessKeys => "DeleteConflict.User.AccessKey",
            UserHasPolicies => "DeleteConflict.User.Policy",
            PolicyAttached => "DeleteConflict.Policy.User",
            PolicyHasVersions => "DeleteConflict.Policy.Version",
            DefaultVersion => "DeleteConflict.Policy.Version.Default",
            AccessKeyLimit(_) => "LimitExceeded.User.AccessKey",
            PolicyVersionLimit(_) => "LimitExceeded.Policy.Version",
        }
    }

    /// Shorthand for an invalid parameter.
    pub fn invalid(field: &'static str, problem: Problem, reason: impl Into<String>) -> ApiError {
        ApiError::Ram(RamError::InvalidParameter {
            field,
            problem,
            reason: reason.into(),
        })
    }
}

/// `InvalidParameter.<Field>.<Problem>` for the fields RAM actions validate.
fn invalid_code(field: &str, problem: Problem) -> &'static str {
    use Problem::*;
    macro_rules! codes {
        ($($name:literal),* $(,)?) => {
            match (field, problem) {
                $(
                    ($name, InvalidChars) => concat!("InvalidParameter.", $name, ".InvalidChars"),
                    ($name, Length) => concat!("InvalidParameter.", $name, ".Length"),
                    ($name, Format) => concat!("InvalidParameter.", $name, ".Format"),
                )*
                _ => "InvalidParameter",
            }
        };
    }
    codes!(
        "UserName",
        "NewUserName",
        "DisplayName",
        "NewDisplayName",
        "Comments",
        "NewComments",
        "Email",
        "NewEmail",
        "MobilePhone",
        "NewMobilePhone",
        "PolicyName",
        "PolicyType",
        "PolicyDocument",
        "Description",
        "VersionId",
        "Status",
        "RotateStrategy",
        "Marker",
        "MaxItems",
        "UserAccessKeyId",
        "Tag",
    )
}

impl From<RamError> for ApiError {
    fn from(e: RamError) -> Self {
        ApiError::Ram(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        let e = RamError::invalid("UserName", Problem::InvalidChars, "x");
        assert_eq!(
            (e.status(), e.code()),
            (
                StatusCode::BAD_REQUEST,
                "InvalidParameter.UserName.InvalidChars"
            )
        );
        let e = RamError::invalid("NewEmail", Problem::Format, "x");
        assert_eq!(e.code(), "InvalidParameter.NewEmail.Format");
        let e = ApiError::from(RamError::DefaultVersion);
        assert_eq!(
            (e.status(), e.code()),
            (
                StatusCode::CONFLICT,
                "DeleteConflict.Policy.Version.Default"
            )
        );
        let e = ApiError::from(RamError::UserNotFound);
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::NOT_FOUND, "EntityNotExist.User")
        );
    }
}
