//! Durable state of keywarden behind one trait, [`KeyStore`], so that callers never know which
//! database holds it. Backends: [`sqlite`] (embedded, the default; one server process) and
//! [`postgres`] (shared by any number of server nodes). Every backend must pass the same
//! `conformance` suite (feature `conformance`).
//!
//! The store holds no secret in plaintext: CMK material and access-key secrets arrive already
//! sealed under the root key (see `keywarden_core::wrap`) and are stored as opaque bytes.
//!
//! Layout rules that keep the later backends possible: one row per key version (never a list
//! that grows inside a key row), paging everywhere a list can grow, and optimistic concurrency on
//! key rows (`revision`) so several stateless servers can share one database.

use async_trait::async_trait;
use keywarden_core::model::{
    AccessKeyStatus, AutomaticRotation, KeySpec, KeyState, KeyUsage, Origin, ProtectionLevel,
};

pub mod audit;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod identity;
mod instance;
pub mod migrate;
pub mod postgres;
pub mod sqlite;

pub use audit::{AuditHead, AuditPruned, AuditRecord, ChainedRecord};
pub use identity::{
    AttachmentRecord, POLICY_CUSTOM, POLICY_SYSTEM, PRINCIPAL_USER, PolicyRecord,
    PolicyVersionRecord, UserRecord, VersionOptions,
};
pub use instance::InstanceRecord;

/// The fixed-size form in which a signature nonce is remembered: 16 bytes of a hash of the
/// access key id and the nonce (the server computes it), whatever the nonce's length.
pub type NonceDigest = [u8; 16];

/// What a store operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The row to change does not exist.
    #[error("not found")]
    NotFound,
    /// A row with the same unique name already exists.
    #[error("already exists")]
    AlreadyExists,
    /// The row changed since it was read (its `revision` moved on), or it is still in use
    /// where the operation needs it unused.
    #[error("concurrent modification or still in use")]
    Conflict,
    /// A per-owner limit would be exceeded (access keys per user, versions per policy).
    #[error("limit exceeded")]
    LimitExceeded,
    /// The database cannot take the operation now, for a reason that may pass (its disk is
    /// full, it is unreachable): a retry later can succeed. Nothing was changed.
    #[error("storage temporarily unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database failed.
    #[error("storage backend failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A change to state that servers cache, announced by a store that several servers share
/// ([`KeyStore::changes`]): each server forgets what it cached of the thing named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Change {
    /// A key row, its versions, tags or key policy (by key id).
    Key(String),
    /// An alias (by name).
    Alias(String),
    /// An access key (by id): created, status changed, deleted, or moved to a renamed user.
    AccessKey(String),
    /// A user's attachments, or the user itself (by name).
    User(String),
    /// A custom policy or its versions (by name): every caller's policies may change.
    Policy(String),
    /// Changes may have been missed (the store's notification channel was lost and is back):
    /// forget everything cached.
    All,
}

impl Change {
    /// The compact text form sent between nodes: a one-letter kind, `:`, the name.
    pub fn encode(&self) -> String {
        match self {
            Change::Key(id) => format!("k:{id}"),
            Change::Alias(name) => format!("a:{name}"),
            Change::AccessKey(id) => format!("c:{id}"),
            Change::User(name) => format!("u:{name}"),
            Change::Policy(name) => format!("p:{name}"),
            Change::All => "*".to_owned(),
        }
    }

    /// The change [`Change::encode`] wrote; text it cannot have written is [`Change::All`], so a
    /// garbled notification costs a cache flush, never a missed invalidation.
    pub fn decode(text: &str) -> Change {
        let Some((kind, name)) = text.split_once(':') else {
            return Change::All;
        };
        let name = name.to_owned();
        match kind {
            "k" => Change::Key(name),
            "a" => Change::Alias(name),
            "c" => Change::AccessKey(name),
            "u" => Change::User(name),
            "p" => Change::Policy(name),
            _ => Change::All,
        }
    }
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// A page request: `offset` rows skipped, at most `limit` returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: u64,
    /// Most rows to return.
    pub limit: u64,
}

/// One page of rows and the total number of rows across all pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Rows in all pages.
    pub total: u64,
}

/// A customer master key's metadata. Its enumerations are typed here; backends store them as
/// their wire strings (`as_str`) and refuse, as [`StoreError::Backend`], a stored string that
/// names no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// Key id (UUID).
    pub key_id: String,
    /// Free text, up to 8192 characters.
    pub description: String,
    /// `Aliyun_AES_256`, ...
    pub key_spec: KeySpec,
    /// `ENCRYPT/DECRYPT` or `SIGN/VERIFY`.
    pub key_usage: KeyUsage,
    /// `Aliyun_KMS` or `EXTERNAL`.
    pub origin: Origin,
    /// `SOFTWARE` or `HSM`.
    pub protection_level: ProtectionLevel,
    /// `Enabled`, `Disabled`, `PendingDeletion`, `PendingImport`.
    pub state: KeyState,
    /// Who created it (account id).
    pub creator: String,
    /// Unix seconds.
    pub creation_date: i64,
    /// The version Encrypt and GenerateDataKey use.
    pub primary_version_id: String,
    /// Unix seconds of the last rotation (the creation date for a new key).
    pub last_rotation_date: i64,
    /// `Enabled`, `Disabled`, `Suspended`.
    pub automatic_rotation: AutomaticRotation,
    /// Seconds between automatic rotations, when configured.
    pub rotation_interval: Option<i64>,
    /// Unix seconds of the next automatic rotation, when enabled.
    pub next_rotation_date: Option<i64>,
    /// Unix seconds at which a pending deletion happens.
    pub delete_date: Option<i64>,
    /// Deletion protection on.
    pub deletion_protection: bool,
    /// Why deletion protection is on.
    pub deletion_protection_description: String,
    /// Unix seconds when imported material expires, if any.
    pub material_expire_time: Option<i64>,
    /// Bumped by every update; [`KeyStore::update_key`] compares it.
    pub revision: i64,
}

/// One version of a CMK's material, sealed under the root key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    /// Owning key.
    pub key_id: String,
    /// Version id (UUID, globally unique: Decrypt finds the version from it alone).
    pub version_id: String,
    /// Unix seconds.
    pub creation_date: i64,
    /// `RootKey::seal(material_aad(key_id, version_id), material)`; empty once destroyed.
    pub sealed_material: Vec<u8>,
}

/// An alias bound to a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasRecord {
    /// `alias/...`, unique.
    pub alias_name: String,
    /// The key it names.
    pub key_id: String,
    /// Unix seconds.
    pub creation_date: i64,
}

/// A tag on a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRecord {
    /// Tag key (unique per key).
    pub tag_key: String,
    /// Tag value.
    pub tag_value: String,
}

/// Which keys [`KeyStore::list_keys`] returns. Each field is one filter dimension: an empty list
/// does not constrain, a non-empty one keeps keys matching *any* of its values (OR), and all
/// dimensions must match (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFilter {
    /// Key states (`Enabled`, ...).
    pub states: Vec<KeyState>,
    /// Key specs (`Aliyun_AES_256`, ...).
    pub specs: Vec<KeySpec>,
    /// Key usages (`ENCRYPT/DECRYPT`, ...).
    pub usages: Vec<KeyUsage>,
    /// Protection levels (`SOFTWARE`, `HSM`).
    pub protection_levels: Vec<ProtectionLevel>,
    /// Creators (account ids).
    pub creators: Vec<String>,
    /// Key ids.
    pub key_ids: Vec<String>,
    /// Keys with an alias of one of these names.
    pub alias_names: Vec<String>,
    /// Keys with a tag whose key is one of these.
    pub tag_keys: Vec<String>,
    /// Keys with a tag whose value is one of these (independently of `tag_keys`).
    pub tag_values: Vec<String>,
}

impl KeyFilter {
    /// True when no dimension constrains.
    pub fn is_empty(&self) -> bool {
        *self == KeyFilter::default()
    }
}

/// One tag of one key (a row of [`KeyStore::list_tag_resources`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTag {
    /// The tagged key.
    pub key_id: String,
    /// Tag key.
    pub tag_key: String,
    /// Tag value.
    pub tag_value: String,
}

/// A tag a key must carry: this tag key, with this value when `tag_value` is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagMatch {
    /// Tag key.
    pub tag_key: String,
    /// Tag value, or any value.
    pub tag_value: Option<String>,
}

/// Which tags [`KeyStore::list_tag_resources`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagQuery {
    /// Only tags of these keys (all keys when empty).
    pub key_ids: Vec<String>,
    /// Only keys carrying every one of these tags, and of them only these tags (no constraint
    /// when empty).
    pub tags: Vec<TagMatch>,
}

/// Where a [`KeyStore::list_tag_resources`] page starts: after this (key id, tag key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCursor {
    /// Key id of the last row of the previous page.
    pub key_id: String,
    /// Tag key of the last row of the previous page.
    pub tag_key: String,
}

/// A key's own policy (`CreateKey Policy`, `SetKeyPolicy`), stored as given. A key without one
/// has the default key policy, which the server derives from the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPolicyRecord {
    /// The key.
    pub key_id: String,
    /// The document, as the caller sent it (JSON, at most 32,768 bytes, checked by the server).
    pub document: String,
    /// Unix seconds of the last change.
    pub update_date: i64,
}

/// An access key (the credential that signs requests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyRecord {
    /// The public id.
    pub access_key_id: String,
    /// `RootKey::seal(access_key_aad(id), secret)`.
    pub sealed_secret: Vec<u8>,
    /// Whether it may sign requests.
    pub status: AccessKeyStatus,
    /// The user it belongs to.
    pub user_name: String,
    /// Unix seconds.
    pub creation_date: i64,
}

/// Durable state of keywarden. Implementations are cheap to clone behind an `Arc` and safe to
/// call from many tasks at once. Every method that returns `Ok` has committed durably.
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Inserts a key and its first version atomically. `AlreadyExists` if the key id is taken.
    async fn create_key(&self, key: &KeyRecord, first_version: &VersionRecord) -> StoreResult<()>;

    /// [`KeyStore::create_key`] with the key's own policy `document` (dated at the key's
    /// creation), in the same transaction: a key never exists without the policy it was
    /// created with.
    async fn create_key_with_policy(
        &self,
        key: &KeyRecord,
        first_version: &VersionRecord,
        document: &str,
    ) -> StoreResult<()>;

    /// Sets (inserts or replaces) a key's policy. `NotFound` if the key is absent.
    async fn set_key_policy(&self, policy: &KeyPolicyRecord) -> StoreResult<()>;

    /// A key's own policy; `None` when it has none (the default applies) or the key is absent.
    async fn get_key_policy(&self, key_id: &str) -> StoreResult<Option<KeyPolicyRecord>>;

    /// The policies of those of `key_ids` that have one, in any order (for list filtering:
    /// one read for a page of keys).
    async fn get_key_policies(&self, key_ids: &[String]) -> StoreResult<Vec<KeyPolicyRecord>>;

    /// The key with this id.
    async fn get_key(&self, key_id: &str) -> StoreResult<Option<KeyRecord>>;

    /// Keys matching `filter`, ordered by creation date then key id.
    async fn list_keys(&self, filter: &KeyFilter, page: Page) -> StoreResult<Paged<KeyRecord>>;

    /// Replaces a key row if its stored revision equals `key.revision`, storing `key.revision + 1`.
    /// `NotFound` if absent, `Conflict` if the revision moved on.
    async fn update_key(&self, key: &KeyRecord) -> StoreResult<()>;

    /// Rotation: adds `new_version` and replaces the key row (compare-and-set on
    /// `key.revision`, as [`KeyStore::update_key`]) in one transaction, so the version exists
    /// exactly when the key row that names it does. `NotFound` if the key is absent, `Conflict`
    /// if its revision moved on, `AlreadyExists` if the version id is taken; then nothing changed.
    async fn rotate_key(&self, key: &KeyRecord, new_version: &VersionRecord) -> StoreResult<()>;

    /// Crypto-shredding: deletes the key row, every version (its sealed material), its aliases,
    /// its tags and its policy in one transaction, if the key's revision is still `expected_revision`.
    /// `NotFound` if the key is absent (already destroyed), `Conflict` if the revision moved on;
    /// then nothing changed. Backends should not leave the deleted material readable in free
    /// space they control.
    async fn destroy_key(&self, key_id: &str, expected_revision: i64) -> StoreResult<()>;

    /// Up to `limit` keys in state `PendingDeletion` whose `delete_date <= now`, soonest first.
    async fn due_deletions(&self, now: i64, limit: u64) -> StoreResult<Vec<KeyRecord>>;

    /// Up to `limit` `Enabled` keys with automatic rotation `Enabled` whose
    /// `next_rotation_date <= now`, soonest first.
    async fn due_rotations(&self, now: i64, limit: u64) -> StoreResult<Vec<KeyRecord>>;

    /// Adds a version to an existing key. `NotFound` if the key is absent, `AlreadyExists` if the
    /// version id is taken. Does not change the primary version (use `update_key`).
    async fn add_version(&self, version: &VersionRecord) -> StoreResult<()>;

    /// The version with this id, whatever its key.
    async fn get_version(&self, version_id: &str) -> StoreResult<Option<VersionRecord>>;

    /// A key's versions in the order they were added (oldest first). Backends keep this cheap
    /// for keys with any number of versions (no scan of the key's versions per page).
    async fn list_versions(&self, key_id: &str, page: Page) -> StoreResult<Paged<VersionRecord>>;

    /// Creates an alias. `AlreadyExists` if the name is taken, `NotFound` if the key is absent.
    async fn create_alias(&self, alias: &AliasRecord) -> StoreResult<()>;

    /// Points an existing alias at another key. `NotFound` if the alias or key is absent.
    /// Compare-and-set: only while the alias still names `expected` (the key the caller was
    /// authorized against), else `Conflict` and nothing changed.
    async fn update_alias(&self, alias_name: &str, key_id: &str, expected: &str)
    -> StoreResult<()>;

    /// Deletes an alias. `NotFound` if absent.
    /// Compare-and-set: only while the alias still names `expected`, else `Conflict`.
    async fn delete_alias(&self, alias_name: &str, expected: &str) -> StoreResult<()>;

    /// The alias with this name.
    async fn get_alias(&self, alias_name: &str) -> StoreResult<Option<AliasRecord>>;

    /// Aliases ordered by name; only those of `key_id` when given.
    async fn list_aliases(
        &self,
        key_id: Option<&str>,
        page: Page,
    ) -> StoreResult<Paged<AliasRecord>>;

    /// Sets tags on a key (insert or replace by tag key). `NotFound` if the key is absent.
    async fn put_tags(&self, key_id: &str, tags: &[TagRecord]) -> StoreResult<()>;

    /// Removes these tag keys from a key (absent ones are ignored).
    async fn delete_tags(&self, key_id: &str, tag_keys: &[String]) -> StoreResult<()>;

    /// A key's tags ordered by tag key.
    async fn list_tags(&self, key_id: &str) -> StoreResult<Vec<TagRecord>>;

    /// Up to `limit` tags matching `query`, ordered by key id then tag key, starting after
    /// `after` (keyset paging: stable while rows are added or removed elsewhere).
    async fn list_tag_resources(
        &self,
        query: &TagQuery,
        after: Option<&TagCursor>,
        limit: u64,
    ) -> StoreResult<Vec<KeyTag>>;

    /// Inserts or replaces an access key.
    async fn put_access_key(&self, key: &AccessKeyRecord) -> StoreResult<()>;

    /// The access key with this id.
    async fn get_access_key(&self, access_key_id: &str) -> StoreResult<Option<AccessKeyRecord>>;

    // ---- Identity and access (the RAM API): users, access keys by user, custom policies and
    // their versions, policy attachments. Names are case-sensitive. ----

    /// Creates a user. `AlreadyExists` if the name or the id is taken.
    async fn create_user(&self, user: &UserRecord) -> StoreResult<()>;

    /// The user with this name.
    async fn get_user(&self, user_name: &str) -> StoreResult<Option<UserRecord>>;

    /// Up to `limit` users ordered by name, starting after the name `after` (keyset paging).
    async fn list_users(&self, after: Option<&str>, limit: u64) -> StoreResult<Vec<UserRecord>>;

    /// Replaces the user called `user_name` with `user`, which may carry a new name: a rename
    /// also moves the user's access keys and attachments, in the same transaction. `NotFound` if
    /// absent, `AlreadyExists` if the new name is taken.
    async fn update_user(&self, user_name: &str, user: &UserRecord) -> StoreResult<()>;

    /// Deletes a user that has no access key and no attached policy. `NotFound` if absent,
    /// `Conflict` (nothing changed) if it still has either.
    async fn delete_user(&self, user_name: &str) -> StoreResult<()>;

    /// Adds an access key for an existing user that has fewer than `max_per_user` keys, in one
    /// transaction. `NotFound` if the user is absent, `LimitExceeded` at the limit,
    /// `AlreadyExists` if the id is taken.
    async fn create_access_key(&self, key: &AccessKeyRecord, max_per_user: u64) -> StoreResult<()>;

    /// A user's access keys, oldest first.
    async fn list_access_keys(&self, user_name: &str) -> StoreResult<Vec<AccessKeyRecord>>;

    /// Sets an access key's status. `NotFound` if absent.
    async fn set_access_key_status(
        &self,
        access_key_id: &str,
        status: AccessKeyStatus,
    ) -> StoreResult<()>;

    /// Deletes an access key. `NotFound` if absent.
    async fn delete_access_key(&self, access_key_id: &str) -> StoreResult<()>;

    /// Creates a custom policy with its first version (`policy.default_version` names it, and
    /// it is numbered 1). `AlreadyExists` if the name is taken.
    async fn create_policy(
        &self,
        policy: &PolicyRecord,
        first_version: &PolicyVersionRecord,
    ) -> StoreResult<()>;

    /// The custom policy with this name.
    async fn get_policy(&self, policy_name: &str) -> StoreResult<Option<PolicyRecord>>;

    /// Up to `limit` custom policies ordered by name, starting after the name `after`.
    async fn list_policies(
        &self,
        after: Option<&str>,
        limit: u64,
    ) -> StoreResult<Vec<PolicyRecord>>;

    /// Deletes a custom policy and its versions; with `cascade` also its attachments. Without
    /// `cascade`, `Conflict` (nothing changed) if it is attached to any principal or has a
    /// version besides the default. `NotFound` if absent.
    async fn delete_policy(&self, policy_name: &str, cascade: bool) -> StoreResult<()>;

    /// Adds a version `v<n>` (numbered after the highest the policy ever had) with this
    /// document, making it the default when asked. At `options.max_versions`: with
    /// `options.rotate` the oldest non-default version is deleted first, else `LimitExceeded`.
    /// `NotFound` if the policy is absent. Returns the new version.
    async fn add_policy_version(
        &self,
        policy_name: &str,
        document: &str,
        create_date: i64,
        options: VersionOptions,
    ) -> StoreResult<PolicyVersionRecord>;

    /// One version of a custom policy.
    async fn get_policy_version(
        &self,
        policy_name: &str,
        version_id: &str,
    ) -> StoreResult<Option<PolicyVersionRecord>>;

    /// A custom policy's versions, oldest first (empty if the policy is absent).
    async fn list_policy_versions(
        &self,
        policy_name: &str,
    ) -> StoreResult<Vec<PolicyVersionRecord>>;

    /// Makes a version the default. `NotFound` if the policy or the version is absent.
    async fn set_default_policy_version(
        &self,
        policy_name: &str,
        version_id: &str,
        update_date: i64,
    ) -> StoreResult<()>;

    /// Deletes a non-default version. `NotFound` if absent, `Conflict` if it is the default.
    async fn delete_policy_version(&self, policy_name: &str, version_id: &str) -> StoreResult<()>;

    /// Attaches a policy to a principal. `AlreadyExists` if attached; `NotFound` if the
    /// principal (a user) is absent, or the policy when it is a custom one (system policies are
    /// not stored: the caller checks their names).
    async fn attach_policy(&self, attachment: &AttachmentRecord) -> StoreResult<()>;

    /// Detaches a policy from a principal. `NotFound` if it was not attached.
    async fn detach_policy(
        &self,
        principal_type: &str,
        principal_name: &str,
        policy_type: &str,
        policy_name: &str,
    ) -> StoreResult<()>;

    /// The policies attached to a principal, oldest attachment first.
    async fn list_attachments(
        &self,
        principal_type: &str,
        principal_name: &str,
    ) -> StoreResult<Vec<AttachmentRecord>>;

    /// How many principals a policy is attached to.
    async fn count_attachments(&self, policy_type: &str, policy_name: &str) -> StoreResult<u64>;

    // ---- Signature nonces ----

    /// Records a signature nonce (its digest) until `expires_at` (unix seconds, inclusive).
    /// Returns `false` if the same digest is already recorded and `now <= ` its `expires_at` (a
    /// replay). Expired nonces may be forgotten, and are within
    /// `conformance::NONCE_FORGET_WITHIN` seconds after their expiry.
    async fn remember_nonce(
        &self,
        digest: &NonceDigest,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool>;

    // ---- Audit trail: append-only and hash-chained (`keywarden_core::audit`). There is no
    // method to change a record; old ones leave only by `prune_audit`. ----

    /// Appends `records`, in order, after the current head, in one transaction: each gets the
    /// next `seq` (the `seq` given is ignored) and is linked to its predecessor with
    /// `keywarden_core::audit::chain`. Reading the head and inserting happen in the same write
    /// transaction, so appends from any number of tasks or servers sharing the store form one
    /// chain. Returns the head after the append (`None` only for an empty log and no records).
    async fn append_audit(&self, records: &[AuditRecord]) -> StoreResult<Option<AuditHead>>;

    /// Up to `limit` records with `seq > after_seq`, in `seq` order; with `since_ms`, only those
    /// with `time_ms >= since_ms`. To read a contiguous run from a time, find its first record
    /// with `since_ms` and `limit` 1, then page on `after_seq` without `since_ms` (record times
    /// need not be monotonic in `seq`).
    async fn list_audit(
        &self,
        since_ms: Option<i64>,
        after_seq: u64,
        limit: u64,
    ) -> StoreResult<Vec<ChainedRecord>>;

    /// The last record's `seq` and `hash`, or `None` while the log is empty.
    async fn audit_head(&self) -> StoreResult<Option<AuditHead>>;

    /// Retention: removes every record before the first one with `time_ms >= before_ms`, but
    /// never the last record, after moving the anchor ([`KeyStore::audit_anchor`]) to the last
    /// one removed, in one transaction. `None` when nothing was old enough. The only way a
    /// record ever leaves the trail.
    async fn prune_audit(&self, before_ms: i64, now_ms: i64) -> StoreResult<Option<AuditPruned>>;

    /// The last pruned record's `seq` and `hash` (verification of the trail starts after it),
    /// or `None` if nothing was ever pruned.
    async fn audit_anchor(&self) -> StoreResult<Option<AuditHead>>;

    /// The installation's identity, or `None` before [`KeyStore::init_instance`].
    async fn instance(&self) -> StoreResult<Option<InstanceRecord>>;

    /// Records `record` unless an identity is recorded already, and returns the recorded one:
    /// of several servers initializing one store at once, the first wins and every one gets
    /// its record.
    async fn init_instance(&self, record: &InstanceRecord) -> StoreResult<InstanceRecord>;

    // ---- Several servers on one store ----

    /// For a store that several servers share: the changes any of them commits (this one's
    /// included), announced promptly after the commit, for cache invalidation. A receiver that
    /// lags behind, or a lost channel to the database, yields [`Change::All`]. `None` for a store
    /// that only one server uses (SQLite).
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        None
    }
}
