//! The installation's identity, kept in the store beside the data it names: the account and
//! region of every ARN, and the check value of the root key that seals the store's secrets.
//! Recorded once, when the store is initialized; a server refuses to start when its root key
//! or its `instance.json` disagrees with it.

/// One installation's identity (one row per store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRecord {
    /// The account id in ARNs (16 digits).
    pub account_id: String,
    /// The region id in ARNs.
    pub region_id: String,
    /// `keywarden_core::wrap::RootKey::check_value` of the root key (not secret).
    pub root_key_check: Vec<u8>,
    /// When the store was initialized (Unix milliseconds).
    pub created_ms: i64,
}
