//! Who made an authenticated request: established by `auth`, read by authorization, the
//! operations and the audit record.

/// Who made an authenticated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The access key that signed it.
    pub access_key_id: String,
    /// The user owning that key.
    pub user_name: String,
}
