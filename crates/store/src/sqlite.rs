//! The SQLite backend: keywarden's embedded, default store.
//!
//! One file holds everything (the `schema` module lists the tables). The file runs in WAL mode
//! with `synchronous=FULL`, so a call that returned `Ok` has reached stable storage and survives
//! SIGKILL and power loss. Foreign keys are enforced; `busy_timeout` is 5 s.
//!
//! Concurrency: all writes go through one connection, each in an immediate transaction; reads use
//! a small pool of read-only connections that never wait for the writer (module `pool`).
//! rusqlite is synchronous, so database work runs on tokio's blocking pool.
//!
//! **One process per file.** The SQLite store serves a single server process. Several processes
//! on one file would stay consistent (SQLite locks the file, and key updates, rotations and
//! destructions are compare-and-set inside immediate transactions, so lifecycle work happens
//! exactly once whichever process does it), but signature nonces are checked in this process's
//! memory (module `nonces`, backed by the side directory `<db>-nonces/` so the window survives a
//! restart), which is the whole nonce window only when one process serves the API. Deployments
//! with several server nodes use a shared networked store.
//!
//! **Audit trail.** `audit_log` is append-only (triggers refuse UPDATE, and DELETE beyond the
//! retention anchor in `audit_anchor`, which only `prune_audit` moves); an append reads
//! the chain head and inserts in the same immediate transaction, so processes sharing the file
//! extend one chain. [`AuditLogReader`] reads it from a read-only connection.
//!
//! **Crypto-shredding.** Connections run with `secure_delete`, so a destroyed key's rows are
//! overwritten with zeros in the file, and `destroy_key` then checkpoints and truncates the
//! write-ahead log: the sealed material of a destroyed key does not survive in either file.

mod access_keys;
mod aliases;
mod audit;
mod error;
mod instance;
mod key_policies;
mod keys;
mod lifecycle;
mod nonces;
mod policies;
mod pool;
mod query;
mod schema;
mod tags;
mod users;
mod versions;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use keywarden_core::model::AccessKeyStatus;
use rusqlite::{Connection, Params};

pub use self::audit::AuditLogReader;
use self::error::SqlResultExt;
pub use self::error::SqliteStoreError;
use self::nonces::NonceWindow;
use self::pool::Pool;
use crate::{
    AccessKeyRecord, AliasRecord, AttachmentRecord, AuditHead, AuditPruned, AuditRecord,
    ChainedRecord, InstanceRecord, KeyFilter, KeyPolicyRecord, KeyRecord, KeyStore, KeyTag, Page,
    Paged, PolicyRecord, PolicyVersionRecord, StoreResult, TagCursor, TagQuery, TagRecord,
    UserRecord, VersionOptions, VersionRecord,
};

/// The schema version this build creates (SQLite's `PRAGMA user_version` of a migrated file).
pub const SCHEMA_VERSION: i64 = schema::CURRENT_VERSION;

/// A [`KeyStore`] in one SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    pool: Arc<Pool>,
    nonces: NonceWindow,
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file if it is missing, and brings its schema up
    /// to date. Fails if the file belongs to a newer keywarden (a higher schema version).
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let owned = path.to_path_buf();
        let pool = tokio::task::spawn_blocking(move || Pool::open(&owned))
            .await
            .map_err(error::join_failed)??;
        let db = path.to_path_buf();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or_default();
        let nonces = tokio::task::spawn_blocking(move || NonceWindow::open(&db, now))
            .await
            .map_err(error::join_failed)?
            .map_err(|e| crate::StoreError::Backend(Box::new(e)))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            pool: Arc::new(pool),
            nonces,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn create_key(&self, key: &KeyRecord, first_version: &VersionRecord) -> StoreResult<()> {
        let (key, first) = (key.clone(), first_version.clone());
        self.pool
            .write(move |conn| keys::create(conn, &key, &first))
            .await
    }

    async fn create_key_with_policy(
        &self,
        key: &KeyRecord,
        first_version: &VersionRecord,
        document: &str,
    ) -> StoreResult<()> {
        let policy = KeyPolicyRecord {
            key_id: key.key_id.clone(),
            document: document.to_owned(),
            update_date: key.creation_date,
        };
        let (key, first) = (key.clone(), first_version.clone());
        self.pool
            .write(move |conn| {
                keys::create(conn, &key, &first)?;
                key_policies::put(conn, &policy)
            })
            .await
    }

    async fn set_key_policy(&self, policy: &KeyPolicyRecord) -> StoreResult<()> {
        let policy = policy.clone();
        self.pool
            .write(move |conn| key_policies::put(conn, &policy))
            .await
    }

    async fn get_key_policy(&self, key_id: &str) -> StoreResult<Option<KeyPolicyRecord>> {
        let key_id = key_id.to_owned();
        self.pool
            .read(move |conn| key_policies::get(conn, &key_id))
            .await
    }

    async fn get_key_policies(&self, key_ids: &[String]) -> StoreResult<Vec<KeyPolicyRecord>> {
        let key_ids = key_ids.to_vec();
        self.pool
            .read(move |conn| key_policies::get_many(conn, &key_ids))
            .await
    }

    async fn get_key(&self, key_id: &str) -> StoreResult<Option<KeyRecord>> {
        let key_id = key_id.to_owned();
        self.pool.read(move |conn| keys::get(conn, &key_id)).await
    }

    async fn list_keys(&self, filter: &KeyFilter, page: Page) -> StoreResult<Paged<KeyRecord>> {
        let filter = filter.clone();
        self.pool
            .read(move |conn| keys::list(conn, &filter, page))
            .await
    }

    async fn update_key(&self, key: &KeyRecord) -> StoreResult<()> {
        let key = key.clone();
        self.pool.write(move |conn| keys::update(conn, &key)).await
    }

    async fn rotate_key(&self, key: &KeyRecord, new_version: &VersionRecord) -> StoreResult<()> {
        let (key, version) = (key.clone(), new_version.clone());
        self.pool
            .write(move |conn| lifecycle::rotate(conn, &key, &version))
            .await
    }

    /// Also checkpoints and truncates the write-ahead log afterwards, so that with
    /// `secure_delete` no copy of the destroyed material stays in the file or its log. The
    /// destruction is committed before the checkpoint, which is best effort: its failure (the log
    /// busy, another process checkpointing) does not make the destruction fail.
    async fn destroy_key(&self, key_id: &str, expected_revision: i64) -> StoreResult<()> {
        let key_id = key_id.to_owned();
        self.pool
            .write(move |conn| lifecycle::destroy(conn, &key_id, expected_revision))
            .await?;
        // Best effort by design (see above); SQLite's own checkpoints follow anyway.
        self.pool.checkpoint().await.ok();
        Ok(())
    }

    async fn due_deletions(&self, now: i64, limit: u64) -> StoreResult<Vec<KeyRecord>> {
        let limit = clamp(limit);
        self.pool
            .read(move |conn| lifecycle::due_deletions(conn, now, limit))
            .await
    }

    async fn due_rotations(&self, now: i64, limit: u64) -> StoreResult<Vec<KeyRecord>> {
        let limit = clamp(limit);
        self.pool
            .read(move |conn| lifecycle::due_rotations(conn, now, limit))
            .await
    }

    async fn add_version(&self, version: &VersionRecord) -> StoreResult<()> {
        let version = version.clone();
        self.pool
            .write(move |conn| versions::insert(conn, &version))
            .await
    }

    async fn get_version(&self, version_id: &str) -> StoreResult<Option<VersionRecord>> {
        let version_id = version_id.to_owned();
        self.pool
            .read(move |conn| versions::get(conn, &version_id))
            .await
    }

    async fn list_versions(&self, key_id: &str, page: Page) -> StoreResult<Paged<VersionRecord>> {
        let key_id = key_id.to_owned();
        self.pool
            .read(move |conn| versions::list(conn, &key_id, page))
            .await
    }

    async fn create_alias(&self, alias: &AliasRecord) -> StoreResult<()> {
        let alias = alias.clone();
        self.pool
            .write(move |conn| aliases::insert(conn, &alias))
            .await
    }

    async fn update_alias(
        &self,
        alias_name: &str,
        key_id: &str,
        expected: &str,
    ) -> StoreResult<()> {
        let (alias_name, key_id) = (alias_name.to_owned(), key_id.to_owned());
        let expected = expected.to_owned();
        self.pool
            .write(move |conn| aliases::repoint(conn, &alias_name, &key_id, &expected))
            .await
    }

    async fn delete_alias(&self, alias_name: &str, expected: &str) -> StoreResult<()> {
        let (alias_name, expected) = (alias_name.to_owned(), expected.to_owned());
        self.pool
            .write(move |conn| aliases::delete(conn, &alias_name, &expected))
            .await
    }

    async fn get_alias(&self, alias_name: &str) -> StoreResult<Option<AliasRecord>> {
        let alias_name = alias_name.to_owned();
        self.pool
            .read(move |conn| aliases::get(conn, &alias_name))
            .await
    }

    async fn list_aliases(
        &self,
        key_id: Option<&str>,
        page: Page,
    ) -> StoreResult<Paged<AliasRecord>> {
        let key_id = key_id.map(str::to_owned);
        self.pool
            .read(move |conn| aliases::list(conn, key_id.as_deref(), page))
            .await
    }

    async fn put_tags(&self, key_id: &str, tags: &[TagRecord]) -> StoreResult<()> {
        let (key_id, tags) = (key_id.to_owned(), tags.to_vec());
        self.pool
            .write(move |conn| tags::put(conn, &key_id, &tags))
            .await
    }

    async fn delete_tags(&self, key_id: &str, tag_keys: &[String]) -> StoreResult<()> {
        let (key_id, tag_keys) = (key_id.to_owned(), tag_keys.to_vec());
        self.pool
            .write(move |conn| tags::delete(conn, &key_id, &tag_keys))
            .await
    }

    async fn list_tags(&self, key_id: &str) -> StoreResult<Vec<TagRecord>> {
        let key_id = key_id.to_owned();
        self.pool.read(move |conn| tags::list(conn, &key_id)).await
    }

    async fn list_tag_resources(
        &self,
        query: &TagQuery,
        after: Option<&TagCursor>,
        limit: u64,
    ) -> StoreResult<Vec<KeyTag>> {
        let (query, after, limit) = (query.clone(), after.cloned(), clamp(limit));
        self.pool
            .read(move |conn| tags::list_resources(conn, &query, after.as_ref(), limit))
            .await
    }

    async fn put_access_key(&self, key: &AccessKeyRecord) -> StoreResult<()> {
        let key = key.clone();
        self.pool
            .write(move |conn| access_keys::put(conn, &key))
            .await
    }

    async fn get_access_key(&self, access_key_id: &str) -> StoreResult<Option<AccessKeyRecord>> {
        let access_key_id = access_key_id.to_owned();
        self.pool
            .read(move |conn| access_keys::get(conn, &access_key_id))
            .await
    }

    // ---- Identity and access (RAM) ----

    async fn create_user(&self, user: &UserRecord) -> StoreResult<()> {
        let user = user.clone();
        self.pool
            .write(move |conn| users::insert(conn, &user))
            .await
    }

    async fn get_user(&self, user_name: &str) -> StoreResult<Option<UserRecord>> {
        let user_name = user_name.to_owned();
        self.pool
            .read(move |conn| users::get(conn, &user_name))
            .await
    }

    async fn list_users(&self, after: Option<&str>, limit: u64) -> StoreResult<Vec<UserRecord>> {
        let (after, limit) = (after.map(str::to_owned), clamp(limit));
        self.pool
            .read(move |conn| users::list(conn, after.as_deref(), limit))
            .await
    }

    async fn update_user(&self, user_name: &str, user: &UserRecord) -> StoreResult<()> {
        let (user_name, user) = (user_name.to_owned(), user.clone());
        self.pool
            .write(move |conn| users::update(conn, &user_name, &user))
            .await
    }

    async fn delete_user(&self, user_name: &str) -> StoreResult<()> {
        let user_name = user_name.to_owned();
        self.pool
            .write(move |conn| users::delete(conn, &user_name))
            .await
    }

    async fn create_access_key(&self, key: &AccessKeyRecord, max_per_user: u64) -> StoreResult<()> {
        let key = key.clone();
        self.pool
            .write(move |conn| users::create_access_key(conn, &key, max_per_user))
            .await
    }

    async fn list_access_keys(&self, user_name: &str) -> StoreResult<Vec<AccessKeyRecord>> {
        let user_name = user_name.to_owned();
        self.pool
            .read(move |conn| access_keys::list_of_user(conn, &user_name))
            .await
    }

    async fn set_access_key_status(
        &self,
        access_key_id: &str,
        status: AccessKeyStatus,
    ) -> StoreResult<()> {
        let id = access_key_id.to_owned();
        self.pool
            .write(move |conn| access_keys::set_status(conn, &id, status))
            .await
    }

    async fn delete_access_key(&self, access_key_id: &str) -> StoreResult<()> {
        let id = access_key_id.to_owned();
        self.pool
            .write(move |conn| access_keys::delete(conn, &id))
            .await
    }

    async fn create_policy(
        &self,
        policy: &PolicyRecord,
        first_version: &PolicyVersionRecord,
    ) -> StoreResult<()> {
        let (policy, first) = (policy.clone(), first_version.clone());
        self.pool
            .write(move |conn| policies::create(conn, &policy, &first))
            .await
    }

    async fn get_policy(&self, policy_name: &str) -> StoreResult<Option<PolicyRecord>> {
        let name = policy_name.to_owned();
        self.pool.read(move |conn| policies::get(conn, &name)).await
    }

    async fn list_policies(
        &self,
        after: Option<&str>,
        limit: u64,
    ) -> StoreResult<Vec<PolicyRecord>> {
        let (after, limit) = (after.map(str::to_owned), clamp(limit));
        self.pool
            .read(move |conn| policies::list(conn, after.as_deref(), limit))
            .await
    }

    async fn delete_policy(&self, policy_name: &str, cascade: bool) -> StoreResult<()> {
        let name = policy_name.to_owned();
        self.pool
            .write(move |conn| policies::delete(conn, &name, cascade))
            .await
    }

    async fn add_policy_version(
        &self,
        policy_name: &str,
        document: &str,
        create_date: i64,
        options: VersionOptions,
    ) -> StoreResult<PolicyVersionRecord> {
        let (name, document) = (policy_name.to_owned(), document.to_owned());
        self.pool
            .write(move |conn| policies::add_version(conn, &name, &document, create_date, options))
            .await
    }

    async fn get_policy_version(
        &self,
        policy_name: &str,
        version_id: &str,
    ) -> StoreResult<Option<PolicyVersionRecord>> {
        let (name, version) = (policy_name.to_owned(), version_id.to_owned());
        self.pool
            .read(move |conn| policies::get_version(conn, &name, &version))
            .await
    }

    async fn list_policy_versions(
        &self,
        policy_name: &str,
    ) -> StoreResult<Vec<PolicyVersionRecord>> {
        let name = policy_name.to_owned();
        self.pool
            .read(move |conn| policies::versions(conn, &name))
            .await
    }

    async fn set_default_policy_version(
        &self,
        policy_name: &str,
        version_id: &str,
        update_date: i64,
    ) -> StoreResult<()> {
        let (name, version) = (policy_name.to_owned(), version_id.to_owned());
        self.pool
            .write(move |conn| policies::set_default(conn, &name, &version, update_date))
            .await
    }

    async fn delete_policy_version(&self, policy_name: &str, version_id: &str) -> StoreResult<()> {
        let (name, version) = (policy_name.to_owned(), version_id.to_owned());
        self.pool
            .write(move |conn| policies::delete_version(conn, &name, &version))
            .await
    }

    async fn attach_policy(&self, attachment: &AttachmentRecord) -> StoreResult<()> {
        let attachment = attachment.clone();
        self.pool
            .write(move |conn| policies::attach(conn, &attachment))
            .await
    }

    async fn detach_policy(
        &self,
        principal_type: &str,
        principal_name: &str,
        policy_type: &str,
        policy_name: &str,
    ) -> StoreResult<()> {
        let args = [principal_type, principal_name, policy_type, policy_name].map(str::to_owned);
        self.pool
            .write(move |conn| {
                let [pt, pn, ty, name] = &args;
                policies::detach(conn, pt, pn, ty, name)
            })
            .await
    }

    async fn list_attachments(
        &self,
        principal_type: &str,
        principal_name: &str,
    ) -> StoreResult<Vec<AttachmentRecord>> {
        let (pt, pn) = (principal_type.to_owned(), principal_name.to_owned());
        self.pool
            .read(move |conn| policies::attachments(conn, &pt, &pn))
            .await
    }

    async fn count_attachments(&self, policy_type: &str, policy_name: &str) -> StoreResult<u64> {
        let (ty, name) = (policy_type.to_owned(), policy_name.to_owned());
        self.pool
            .read(move |conn| policies::count_attachments(conn, &ty, &name))
            .await
    }

    async fn remember_nonce(
        &self,
        digest: &crate::NonceDigest,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        Ok(self.nonces.remember(digest, expires_at, now))
    }

    async fn append_audit(&self, records: &[AuditRecord]) -> StoreResult<Option<AuditHead>> {
        let records = records.to_vec();
        self.pool
            .write(move |conn| audit::append(conn, records))
            .await
    }

    async fn list_audit(
        &self,
        since_ms: Option<i64>,
        after_seq: u64,
        limit: u64,
    ) -> StoreResult<Vec<ChainedRecord>> {
        let limit = clamp(limit);
        self.pool
            .read(move |conn| audit::list(conn, since_ms, after_seq, limit))
            .await
    }

    async fn prune_audit(&self, before_ms: i64, now_ms: i64) -> StoreResult<Option<AuditPruned>> {
        self.pool
            .write(move |conn| audit::prune(conn, before_ms, now_ms))
            .await
    }

    async fn audit_anchor(&self) -> StoreResult<Option<AuditHead>> {
        self.pool.read(audit::anchor).await
    }

    async fn audit_head(&self) -> StoreResult<Option<AuditHead>> {
        self.pool.read(audit::head).await
    }

    async fn instance(&self) -> StoreResult<Option<InstanceRecord>> {
        self.pool.read(instance::get).await
    }

    async fn init_instance(&self, record: &InstanceRecord) -> StoreResult<InstanceRecord> {
        let record = record.clone();
        self.pool
            .write(move |conn| instance::init(conn, &record))
            .await
    }
}

/// SQL `LIMIT` and `OFFSET` for a page. Values beyond `i64::MAX` mean "all" and "past the end",
/// which `i64::MAX` also means (a negative `LIMIT` would mean "no limit" to SQLite).
fn limit_offset(page: Page) -> (i64, i64) {
    (clamp(page.limit), clamp(page.offset))
}

/// A count for SQL: values beyond `i64::MAX` become `i64::MAX`.
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Runs a `SELECT COUNT(*)` query.
fn count_total(conn: &Connection, sql: &str, params: impl Params) -> StoreResult<u64> {
    let count: i64 = conn
        .prepare_cached(sql)
        .db()?
        .query_row(params, |row| row.get(0))
        .db()?;
    Ok(u64::try_from(count).unwrap_or(0))
}
