//! Parameters of the RAM actions and their rules (RAM's documented limits), refused with
//! `InvalidParameter.<Field>.{InvalidChars,Length,Format}`.

use keywarden_core::policy::{MAX_POLICY_CHARS, Policy};
use keywarden_store::{POLICY_CUSTOM, POLICY_SYSTEM};

use crate::error::ApiError;
use crate::error::ram::{Problem, RamError};
use crate::request::{ApiRequest, text_problem};

/// Longest user name.
pub const MAX_USER_NAME: usize = 64;
/// Longest display name.
pub const MAX_DISPLAY_NAME: usize = 128;
/// Longest comment.
pub const MAX_COMMENTS: usize = 128;
/// Longest email address.
pub const MAX_EMAIL: usize = 128;
/// Longest policy name.
pub const MAX_POLICY_NAME: usize = 128;
/// Longest policy description.
pub const MAX_DESCRIPTION: usize = 1024;
/// Most `MaxItems`, and its default.
pub const MAX_ITEMS: (i64, u64) = (1000, 100);

/// A user name (`field`): 1 to 64 letters, digits, `.`, `-`, `_`.
pub fn check_user_name(field: &'static str, name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name.chars().count() > MAX_USER_NAME {
        return Err(RamError::invalid(
            field,
            Problem::Length,
            format!("must have 1 to {MAX_USER_NAME} characters"),
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        return Err(RamError::invalid(
            field,
            Problem::InvalidChars,
            "may only contain letters, digits, '.', '-' and '_'",
        ));
    }
    Ok(())
}

/// The required user name parameter `field`.
pub fn user_name<'r>(req: &'r ApiRequest, field: &'static str) -> Result<&'r str, ApiError> {
    let name = req.required(field)?;
    check_user_name(field, name)?;
    Ok(name)
}

/// The optional `UserName` (the access-key actions default it to the caller, in `resolve`).
pub fn optional_user_name(req: &ApiRequest) -> Result<Option<String>, ApiError> {
    let Some(name) = req.optional("UserName") else {
        return Ok(None);
    };
    check_user_name("UserName", name)?;
    Ok(Some(name.to_owned()))
}

/// An optional free-text parameter of at most `max` characters, plain text
/// (`request::text_problem`: no control or bidirectional formatting characters).
pub fn text(req: &ApiRequest, field: &'static str, max: usize) -> Result<Option<String>, ApiError> {
    let Some(value) = req.param(field) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(RamError::invalid(
            field,
            Problem::Length,
            format!("must have at most {max} characters"),
        ));
    }
    if let Some(reason) = text_problem(value) {
        return Err(RamError::invalid(field, Problem::InvalidChars, reason));
    }
    Ok(Some(value.to_owned()))
}

/// An optional email address: `local@domain`, no spaces, at most 128 characters.
pub fn email(req: &ApiRequest, field: &'static str) -> Result<Option<String>, ApiError> {
    let Some(value) = text(req, field, MAX_EMAIL)? else {
        return Ok(None);
    };
    let valid = value.is_empty()
        || matches!(value.split_once('@'), Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
                && !domain.ends_with('.') && !domain.contains('@'))
            && !value.chars().any(char::is_whitespace);
    if !valid {
        return Err(RamError::invalid(
            field,
            Problem::Format,
            "must be an email address",
        ));
    }
    Ok(Some(value))
}

/// An optional mobile phone number: `<country code>-<number>`, digits only (`86-18600008888`).
pub fn mobile_phone(req: &ApiRequest, field: &'static str) -> Result<Option<String>, ApiError> {
    let Some(value) = req.param(field) else {
        return Ok(None);
    };
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    let valid = value.is_empty()
        || matches!(value.split_once('-'), Some((cc, n)) if digits(cc, 4) && digits(n, 20));
    if !valid {
        return Err(RamError::invalid(
            field,
            Problem::Format,
            "must be <country code>-<number>, e.g. 86-18600008888",
        ));
    }
    Ok(Some(value.to_owned()))
}

/// A user's profile fields, each optional: display name, mobile phone, email, comments
/// (validated in that order).
pub struct Profile {
    /// The display name.
    pub display_name: Option<String>,
    /// The mobile phone number.
    pub mobile_phone: Option<String>,
    /// The email address.
    pub email: Option<String>,
    /// The comments.
    pub comments: Option<String>,
}

/// The parameter names of the profile fields, in [`Profile`]'s order.
pub type ProfileFields = [&'static str; 4];

/// CreateUser's profile fields.
pub const PROFILE: ProfileFields = ["DisplayName", "MobilePhone", "Email", "Comments"];

/// UpdateUser's profile fields (the new values).
pub const NEW_PROFILE: ProfileFields = [
    "NewDisplayName",
    "NewMobilePhone",
    "NewEmail",
    "NewComments",
];

impl Profile {
    /// The profile fields of `req`, named by `fields`.
    pub fn parse(req: &ApiRequest, fields: ProfileFields) -> Result<Self, ApiError> {
        let [display_name, phone, mail, comments] = fields;
        Ok(Profile {
            display_name: text(req, display_name, MAX_DISPLAY_NAME)?,
            mobile_phone: mobile_phone(req, phone)?,
            email: email(req, mail)?,
            comments: text(req, comments, MAX_COMMENTS)?,
        })
    }
}

/// The required `PolicyName`: 1 to 128 letters, digits and `-`.
pub fn policy_name(req: &ApiRequest) -> Result<&str, ApiError> {
    let name = req.required("PolicyName")?;
    if name.chars().count() > MAX_POLICY_NAME {
        return Err(RamError::invalid(
            "PolicyName",
            Problem::Length,
            format!("must have 1 to {MAX_POLICY_NAME} characters"),
        ));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(RamError::invalid(
            "PolicyName",
            Problem::InvalidChars,
            "may only contain letters, digits and '-'",
        ));
    }
    Ok(name)
}

/// `System` or `Custom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    /// Built in.
    System,
    /// Created with CreatePolicy.
    Custom,
}

impl PolicyType {
    /// The wire (and stored) name.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::System => POLICY_SYSTEM,
            PolicyType::Custom => POLICY_CUSTOM,
        }
    }

    fn parse(text: &str) -> Result<Self, ApiError> {
        match text {
            POLICY_SYSTEM => Ok(PolicyType::System),
            POLICY_CUSTOM => Ok(PolicyType::Custom),
            _ => Err(RamError::invalid(
                "PolicyType",
                Problem::Format,
                "must be System or Custom",
            )),
        }
    }
}

/// The required `PolicyType`.
pub fn policy_type(req: &ApiRequest) -> Result<PolicyType, ApiError> {
    PolicyType::parse(req.required("PolicyType")?)
}

/// The optional `PolicyType`.
pub fn optional_policy_type(req: &ApiRequest) -> Result<Option<PolicyType>, ApiError> {
    req.optional("PolicyType")
        .map(PolicyType::parse)
        .transpose()
}

/// The required `PolicyDocument`, parsed and validated (at most 6,144 characters).
pub fn policy_document(req: &ApiRequest) -> Result<&str, ApiError> {
    let document = req.required("PolicyDocument")?;
    if document.chars().count() > MAX_POLICY_CHARS {
        return Err(RamError::invalid(
            "PolicyDocument",
            Problem::Length,
            format!("must have at most {MAX_POLICY_CHARS} characters"),
        ));
    }
    Policy::parse(document).map_err(|e| RamError::MalformedPolicyDocument(e.to_string()))?;
    Ok(document)
}

/// A required `VersionId` (`v<n>`).
pub fn version_id(req: &ApiRequest) -> Result<&str, ApiError> {
    let id = req.required("VersionId")?;
    let valid = id
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.len() <= 9 && n.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return Err(RamError::invalid(
            "VersionId",
            Problem::Format,
            "must be v<number>, e.g. v1",
        ));
    }
    Ok(id)
}

/// A policy named by `PolicyName` and `PolicyType` (validated in that order).
pub struct PolicyRef {
    /// `PolicyName`.
    pub name: String,
    /// `PolicyType`.
    pub kind: PolicyType,
}

impl PolicyRef {
    /// The policy of `req`.
    pub fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        Ok(PolicyRef {
            name: policy_name(req)?.to_owned(),
            kind: policy_type(req)?,
        })
    }
}

/// A version of a custom policy: `PolicyName` and `VersionId` (validated in that order).
pub struct VersionRef {
    /// `PolicyName`.
    pub policy: String,
    /// `VersionId`.
    pub version_id: String,
}

impl VersionRef {
    /// The version of `req`.
    pub fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        Ok(VersionRef {
            policy: policy_name(req)?.to_owned(),
            version_id: version_id(req)?.to_owned(),
        })
    }
}

/// A policy and the user it is (to be) attached to: `PolicyType`, `PolicyName` and `UserName`
/// (validated in that order).
pub struct AttachmentRef {
    /// `PolicyType`.
    pub kind: PolicyType,
    /// `PolicyName`.
    pub policy: String,
    /// `UserName`.
    pub user: String,
}

impl AttachmentRef {
    /// The attachment of `req`.
    pub fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        Ok(AttachmentRef {
            kind: policy_type(req)?,
            policy: policy_name(req)?.to_owned(),
            user: user_name(req, "UserName")?.to_owned(),
        })
    }
}

/// `Tag` (policy tags) is not supported: refused rather than silently dropped.
pub fn refuse_tags(req: &ApiRequest) -> Result<(), ApiError> {
    match req.optional("Tag") {
        Some(t) if t != "[]" => Err(RamError::invalid(
            "Tag",
            Problem::Format,
            "tags on policies are not supported by keywarden",
        )),
        _ => Ok(()),
    }
}

/// `Marker` (opaque, from a previous page) and `MaxItems` (1 to 1000, default 100).
pub fn page(req: &ApiRequest) -> Result<(Option<String>, u64), ApiError> {
    let max = req
        .int_in("MaxItems", 1..=MAX_ITEMS.0)
        .map_err(|_| {
            RamError::invalid(
                "MaxItems",
                Problem::Format,
                "must be an integer from 1 to 1000",
            )
        })?
        .map_or(MAX_ITEMS.1, i64::unsigned_abs);
    let marker = req.optional("Marker").map(decode_marker).transpose()?;
    Ok((marker, max))
}

/// The opaque `Marker` of the page after `last`.
pub fn encode_marker(last: &str) -> String {
    crate::ops::b64(last.as_bytes())
}

fn decode_marker(marker: &str) -> Result<String, ApiError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(marker.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            RamError::invalid(
                "Marker",
                Problem::Format,
                "is not a marker this server issued",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(q: &str) -> ApiRequest {
        ApiRequest::parse("POST", Some(q), vec![], b"", None).unwrap()
    }

    fn code<T>(r: Result<T, ApiError>) -> &'static str {
        r.map(|_| ()).unwrap_err().code()
    }

    #[test]
    fn rules() {
        assert!(check_user_name("UserName", "alice.b-c_9").is_ok());
        assert_eq!(
            code(check_user_name("UserName", "a b")),
            "InvalidParameter.UserName.InvalidChars"
        );
        assert_eq!(
            code(check_user_name("NewUserName", &"a".repeat(65))),
            "InvalidParameter.NewUserName.Length"
        );
        assert_eq!(
            code(email(&req("Email=nope"), "Email")),
            "InvalidParameter.Email.Format"
        );
        assert!(email(&req("Email=a%40b.com"), "Email").is_ok());
        assert!(mobile_phone(&req("MobilePhone=86-18600008888"), "MobilePhone").is_ok());
        assert_eq!(
            code(mobile_phone(&req("MobilePhone=18600008888"), "MobilePhone")),
            "InvalidParameter.MobilePhone.Format"
        );
        assert_eq!(
            code(policy_name(&req("PolicyName=a_b"))),
            "InvalidParameter.PolicyName.InvalidChars"
        );
        assert_eq!(
            code(policy_document(&req("PolicyDocument=%7B%7D"))),
            "MalformedPolicyDocument"
        );
        assert_eq!(
            code(version_id(&req("VersionId=1"))),
            "InvalidParameter.VersionId.Format"
        );
        assert_eq!(
            code(page(&req("MaxItems=1001"))),
            "InvalidParameter.MaxItems.Format"
        );
        let (marker, max) =
            page(&req(&format!("Marker={}&MaxItems=5", encode_marker("bob")))).unwrap();
        assert_eq!((marker.as_deref(), max), (Some("bob"), 5));
    }
}
