//! Records of identity and access (the RAM API): users, custom policies and their versions, and
//! policy attachments. Access keys ([`crate::AccessKeyRecord`]) belong to users by name.
//!
//! Principals are typed (`principal_type`), so groups and roles can hold attachments later
//! without a new table: today the only type is [`PRINCIPAL_USER`]. System policies are built
//! into the server and never stored; attachments name them by type and name like custom ones.

/// `principal_type` of a RAM user.
pub const PRINCIPAL_USER: &str = "User";

/// `policy_type` of a built-in policy.
pub const POLICY_SYSTEM: &str = "System";

/// `policy_type` of a policy created with `CreatePolicy`.
pub const POLICY_CUSTOM: &str = "Custom";

/// A RAM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Unique name (the key every other record uses).
    pub user_name: String,
    /// Unique, immutable id.
    pub user_id: String,
    /// Display name.
    pub display_name: String,
    /// Mobile phone, `<country code>-<number>`.
    pub mobile_phone: String,
    /// Email address.
    pub email: String,
    /// Free text.
    pub comments: String,
    /// Unix seconds.
    pub create_date: i64,
    /// Unix seconds of the last change.
    pub update_date: i64,
}

/// A custom policy (its documents are in [`PolicyVersionRecord`]s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    /// Unique name.
    pub policy_name: String,
    /// Free text.
    pub description: String,
    /// The version that is in force (`v1`, `v2`, ...).
    pub default_version: String,
    /// Unix seconds.
    pub create_date: i64,
    /// Unix seconds of the last change (a new default version).
    pub update_date: i64,
}

/// One version of a custom policy's document. Version ids are `v<n>`: the first is `v1`, and
/// each later one is numbered after the highest the policy ever had (ids are never reused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersionRecord {
    /// The policy.
    pub policy_name: String,
    /// `v<n>`.
    pub version_id: String,
    /// The policy document (JSON text, as given).
    pub document: String,
    /// Unix seconds.
    pub create_date: i64,
}

/// How [`crate::KeyStore::add_policy_version`] adds a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionOptions {
    /// Make the new version the default.
    pub set_default: bool,
    /// At the limit, delete the oldest non-default version instead of refusing.
    pub rotate: bool,
    /// Most versions a policy may have.
    pub max_versions: u64,
}

/// A policy attached to a principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRecord {
    /// [`PRINCIPAL_USER`] (groups and roles later).
    pub principal_type: String,
    /// The principal's name.
    pub principal_name: String,
    /// [`POLICY_SYSTEM`] or [`POLICY_CUSTOM`].
    pub policy_type: String,
    /// The policy's name.
    pub policy_name: String,
    /// Unix seconds.
    pub attach_date: i64,
}
