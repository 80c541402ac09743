//! The PostgreSQL backend: one database shared by any number of stateless keywarden nodes.
//!
//! Tables mirror the SQLite backend's (module `schema`). Every method that returns `Ok` has
//! committed (with the server's `synchronous_commit`, which should stay `on`): an acknowledged
//! write survives the loss of the node and of the database server.
//!
//! **Connections.** A pool of at most [`PgOptions::max_connections`] connections per node;
//! a call that waits longer than [`PgOptions::acquire_timeout`] for one, or whose statement runs
//! longer than [`PgOptions::statement_timeout`], fails with [`StoreError::Unavailable`], as
//! does every call while the database is unreachable: the server answers a retryable 503
//! rather than hanging. Broken connections are dropped from the pool, so the node recovers by
//! itself once the database is back.
//!
//! **Several nodes.** Writes that change what servers cache announce it in their transaction
//! (`pg_notify` on channel [`CHANNEL`], delivered at commit); each store keeps one listening
//! connection and hands what arrives to [`KeyStore::changes`] (module `listen`). When that
//! connection is lost, [`Change::All`] tells every subscriber to forget everything, once when
//! it is lost and once when it is back (notifications in between are lost). Key updates,
//! rotations, destructions and alias changes are compare-and-set, unique names are
//! constraints, so each of those happens once whichever node does it. The nonce window
//! (`nonces`) and the audit chain (appends serialized by an advisory lock) are shared.

mod connect;
mod error;
mod import;
mod instance;
mod listen;
mod nonces;
mod schema;
mod sql;
#[cfg(any(test, feature = "conformance"))]
pub mod testing;

mod access_keys;
mod aliases;
mod audit;
mod key_policies;
mod keys;
mod lifecycle;
mod policies;
mod tags;
mod users;
mod versions;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use keywarden_core::model::AccessKeyStatus;
use tokio::sync::broadcast;

pub use self::connect::{is_postgres_url, redacted};
pub use self::error::PgStoreError;
use self::error::{PgResultExt, pool_failed};
pub use self::import::{ImportError, Imported};
pub use self::listen::APPLICATION_NAME as LISTENER_APPLICATION_NAME;
use crate::{
    AccessKeyRecord, AliasRecord, AttachmentRecord, AuditHead, AuditPruned, AuditRecord,
    ChainedRecord, Change, InstanceRecord, KeyFilter, KeyPolicyRecord, KeyRecord, KeyStore, KeyTag,
    Page, Paged, PolicyRecord, PolicyVersionRecord, StoreError, StoreResult, TagCursor, TagQuery,
    TagRecord, UserRecord, VersionOptions, VersionRecord,
};

/// The schema version this build creates (the row of `keywarden_schema`).
pub const SCHEMA_VERSION: i64 = schema::CURRENT_VERSION;

/// The notification channel on which writes announce [`Change`]s.
pub const CHANNEL: &str = "keywarden_changes";

/// Tunables of a [`PgStore`].
#[derive(Debug, Clone, Copy)]
pub struct PgOptions {
    /// Connections this node opens at most (besides its listening connection).
    pub max_connections: usize,
    /// How long a call waits for a connection (or for a new one to open) before it fails
    /// with `Unavailable`.
    pub acquire_timeout: Duration,
    /// The longest a statement may run (PostgreSQL's `statement_timeout`) before it is
    /// cancelled and the call fails with `Unavailable`.
    pub statement_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 32,
            acquire_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// A [`KeyStore`] in a PostgreSQL database.
pub struct PgStore {
    pool: Pool,
    /// For nonces only: its connections do not wait for the WAL flush (module `nonces`).
    nonce_pool: Pool,
    url: String,
    changes: broadcast::Sender<Change>,
    /// Gathers concurrent calls' nonces into one statement (none for a reader).
    nonce_batcher: Option<nonces::Batcher>,
    /// The latest time callers of `remember_nonce` gave (the janitor prunes by it).
    nonce_clock: Arc<nonces::Clock>,
    /// The listening connection and the nonce janitor (none for a reader).
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Changes a subscriber may fall behind by before it is told [`Change::All`] instead.
const CHANGES_BUFFERED: usize = 4096;

impl PgStore {
    /// Connects to the database at `url` (a `postgres://` URL, see module `connect`), brings its
    /// schema up to date (one node at a time) and starts listening for changes. Fails, without
    /// leaving anything behind, when the database is unreachable, refuses the credentials, or
    /// belongs to a newer keywarden.
    pub async fn connect(url: &str, options: PgOptions) -> StoreResult<PgStore> {
        PgStore::open(url, options, true).await
    }

    /// Opens an existing store for reading (`keywarden audit`): no migration (a schema of
    /// another version is refused), no listening connection, no nonce janitor.
    pub async fn connect_reader(url: &str) -> StoreResult<PgStore> {
        let options = PgOptions {
            max_connections: 2,
            ..PgOptions::default()
        };
        PgStore::open(url, options, false).await
    }

    async fn open(url: &str, options: PgOptions, serve: bool) -> StoreResult<PgStore> {
        let mut target = connect::target(url)?;
        target
            .config
            .connect_timeout(options.acquire_timeout)
            .keepalives_idle(Duration::from_secs(10))
            .tcp_user_timeout(Duration::from_secs(10))
            .options(format!(
                "-c statement_timeout={} -c idle_in_transaction_session_timeout=30000",
                options.statement_timeout.as_millis()
            ));
        let pool = pool(&target, options.max_connections, options)?;
        let mut nonce_config = target.config.clone();
        nonce_config.options(format!(
            "-c statement_timeout={} -c synchronous_commit=off",
            options.statement_timeout.as_millis()
        ));
        let nonce_pool = pool_of(
            nonce_config,
            &target,
            (options.max_connections / 2).max(1),
            options,
        )?;
        let mut client = pool.get().await.map_err(pool_failed)?;
        if serve {
            schema::migrate(&mut client).await?;
        } else {
            schema::require_current(&client).await?;
        }
        drop(client);
        let (changes, _) = broadcast::channel(CHANGES_BUFFERED);
        let nonce_clock = Arc::new(nonces::Clock::default());
        let mut tasks = Vec::new();
        let mut nonce_batcher = None;
        if serve {
            tasks.push(tokio::spawn(listen::run(target, changes.clone())));
            tasks.push(tokio::spawn(nonces::janitor(
                nonce_pool.clone(),
                Arc::clone(&nonce_clock),
            )));
            let (batcher, task) = nonces::Batcher::start(nonce_pool.clone());
            nonce_batcher = Some(batcher);
            tasks.push(task);
        }
        Ok(PgStore {
            pool,
            nonce_pool,
            url: redacted(url),
            changes,
            tasks,
            nonce_batcher,
            nonce_clock,
        })
    }

    /// The store URL, its password redacted.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A pooled connection.
    async fn conn(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_failed)
    }
}

/// A pool of at most `size` connections to `target`.
fn pool(target: &connect::Target, size: usize, options: PgOptions) -> StoreResult<Pool> {
    pool_of(target.config.clone(), target, size, options)
}

/// A pool of at most `size` connections made with `config` and `target`'s TLS.
fn pool_of(
    config: tokio_postgres::Config,
    target: &connect::Target,
    size: usize,
    options: PgOptions,
) -> StoreResult<Pool> {
    let manager = Manager::from_config(
        config,
        target.tls.clone(),
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(options.acquire_timeout))
        .create_timeout(Some(options.acquire_timeout))
        .recycle_timeout(Some(options.acquire_timeout))
        .build()
        .map_err(|e| PgStoreError::BadUrl(e.to_string()).into())
}

/// Announces `changes` to every node, at the commit of the transaction `tx` (nothing if it
/// rolls back).
pub(super) async fn announce(tx: &impl GenericClient, changes: &[Change]) -> StoreResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let payloads: Vec<String> = changes.iter().map(Change::encode).collect();
    tx.execute(
        "SELECT pg_notify($1, c) FROM unnest($2::text[]) AS c",
        &[&CHANNEL, &payloads],
    )
    .await
    .db()?;
    Ok(())
}

/// `LIMIT` and `OFFSET` of a page, clamped to what PostgreSQL takes.
pub(super) fn limit_offset(page: Page) -> (i64, i64) {
    (clamp(page.limit), clamp(page.offset))
}

/// A count or limit as a `BIGINT`.
pub(super) fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `BIGINT` count as `u64` (a negative count is 0).
pub(super) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Runs `$body` in a transaction on a pooled connection, announcing the changes it returns
/// alongside its value, then commits. `$body` is an async block over `tx` returning
/// `StoreResult<(T, Vec<Change>)>`.
macro_rules! write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut conn = $store.conn().await?;
        let $tx = conn.transaction().await.db()?;
        let (value, changes) = $body.await?;
        announce(&$tx, &changes).await?;
        $tx.commit().await.db()?;
        Ok(value)
    }};
}

#[async_trait]
impl KeyStore for PgStore {
    async fn create_key(&self, key: &KeyRecord, first_version: &VersionRecord) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            keys::create(&tx, key, first_version).await?;
            Ok::<_, StoreError>(((), vec![Change::Key(key.key_id.clone())]))
        })
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
        write_tx!(self, |tx| async {
            keys::create(&tx, key, first_version).await?;
            key_policies::put(&tx, &policy).await?;
            Ok::<_, StoreError>(((), vec![Change::Key(key.key_id.clone())]))
        })
    }

    async fn set_key_policy(&self, policy: &KeyPolicyRecord) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            key_policies::put(&tx, policy).await?;
            Ok::<_, StoreError>(((), vec![Change::Key(policy.key_id.clone())]))
        })
    }

    async fn get_key_policy(&self, key_id: &str) -> StoreResult<Option<KeyPolicyRecord>> {
        key_policies::get(&self.conn().await?, key_id).await
    }

    async fn get_key_policies(&self, key_ids: &[String]) -> StoreResult<Vec<KeyPolicyRecord>> {
        key_policies::get_many(&self.conn().await?, key_ids).await
    }

    async fn get_key(&self, key_id: &str) -> StoreResult<Option<KeyRecord>> {
        keys::get(&self.conn().await?, key_id).await
    }

    async fn list_keys(&self, filter: &KeyFilter, page: Page) -> StoreResult<Paged<KeyRecord>> {
        keys::list(&self.conn().await?, filter, page).await
    }

    async fn update_key(&self, key: &KeyRecord) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            keys::update(&tx, key).await?;
            Ok::<_, StoreError>(((), vec![Change::Key(key.key_id.clone())]))
        })
    }

    async fn rotate_key(&self, key: &KeyRecord, new_version: &VersionRecord) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            lifecycle::rotate(&tx, key, new_version).await?;
            Ok::<_, StoreError>(((), vec![Change::Key(key.key_id.clone())]))
        })
    }

    async fn destroy_key(&self, key_id: &str, expected_revision: i64) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            let aliases = lifecycle::destroy(&tx, key_id, expected_revision).await?;
            let mut changes = vec![Change::Key(key_id.to_owned())];
            changes.extend(aliases.into_iter().map(Change::Alias));
            Ok::<_, StoreError>(((), changes))
        })
    }

    async fn due_deletions(&self, now: i64, limit: u64) -> StoreResult<Vec<KeyRecord>> {
        lifecycle::due_deletions(&self.conn().await?, now, clamp(limit)).await
    }

    async fn due_rotations(&self, now: i64, limit: u64) -> StoreResult<Vec<KeyRecord>> {
        lifecycle::due_rotations(&self.conn().await?, now, clamp(limit)).await
    }

    async fn add_version(&self, version: &VersionRecord) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            versions::insert(&tx, version).await?;
            Ok::<_, StoreError>(((), vec![Change::Key(version.key_id.clone())]))
        })
    }

    async fn get_version(&self, version_id: &str) -> StoreResult<Option<VersionRecord>> {
        versions::get(&self.conn().await?, version_id).await
    }

    async fn list_versions(&self, key_id: &str, page: Page) -> StoreResult<Paged<VersionRecord>> {
        versions::list(&self.conn().await?, key_id, page).await
    }

    async fn create_alias(&self, alias: &AliasRecord) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            aliases::insert(&tx, alias).await?;
            Ok::<_, StoreError>(((), vec![Change::Alias(alias.alias_name.clone())]))
        })
    }

    async fn update_alias(
        &self,
        alias_name: &str,
        key_id: &str,
        expected: &str,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            aliases::repoint(&tx, alias_name, key_id, expected).await?;
            Ok::<_, StoreError>(((), vec![Change::Alias(alias_name.to_owned())]))
        })
    }

    async fn delete_alias(&self, alias_name: &str, expected: &str) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            aliases::delete(&tx, alias_name, expected).await?;
            Ok::<_, StoreError>(((), vec![Change::Alias(alias_name.to_owned())]))
        })
    }

    async fn get_alias(&self, alias_name: &str) -> StoreResult<Option<AliasRecord>> {
        aliases::get(&self.conn().await?, alias_name).await
    }

    async fn list_aliases(
        &self,
        key_id: Option<&str>,
        page: Page,
    ) -> StoreResult<Paged<AliasRecord>> {
        aliases::list(&self.conn().await?, key_id, page).await
    }

    async fn put_tags(&self, key_id: &str, tags: &[TagRecord]) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            tags::put(&tx, key_id, tags).await?;
            Ok::<_, StoreError>(((), vec![Change::Key(key_id.to_owned())]))
        })
    }

    async fn delete_tags(&self, key_id: &str, tag_keys: &[String]) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            tags::delete(&tx, key_id, tag_keys).await?;
            Ok::<_, StoreError>(((), vec![Change::Key(key_id.to_owned())]))
        })
    }

    async fn list_tags(&self, key_id: &str) -> StoreResult<Vec<TagRecord>> {
        tags::list(&self.conn().await?, key_id).await
    }

    async fn list_tag_resources(
        &self,
        query: &TagQuery,
        after: Option<&TagCursor>,
        limit: u64,
    ) -> StoreResult<Vec<KeyTag>> {
        tags::list_resources(&self.conn().await?, query, after, clamp(limit)).await
    }

    async fn put_access_key(&self, key: &AccessKeyRecord) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            access_keys::put(&tx, key).await?;
            Ok::<_, StoreError>(((), vec![Change::AccessKey(key.access_key_id.clone())]))
        })
    }

    async fn get_access_key(&self, access_key_id: &str) -> StoreResult<Option<AccessKeyRecord>> {
        access_keys::get(&self.conn().await?, access_key_id).await
    }

    async fn create_user(&self, user: &UserRecord) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            users::create(&tx, user).await?;
            Ok::<_, StoreError>(((), vec![Change::User(user.user_name.clone())]))
        })
    }

    async fn get_user(&self, user_name: &str) -> StoreResult<Option<UserRecord>> {
        users::get(&self.conn().await?, user_name).await
    }

    async fn list_users(&self, after: Option<&str>, limit: u64) -> StoreResult<Vec<UserRecord>> {
        users::list(&self.conn().await?, after, clamp(limit)).await
    }

    async fn update_user(&self, user_name: &str, user: &UserRecord) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            let moved = users::update(&tx, user_name, user).await?;
            let mut changes = vec![
                Change::User(user_name.to_owned()),
                Change::User(user.user_name.clone()),
            ];
            changes.extend(moved.into_iter().map(Change::AccessKey));
            Ok::<_, StoreError>(((), changes))
        })
    }

    async fn delete_user(&self, user_name: &str) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            users::delete(&tx, user_name).await?;
            Ok::<_, StoreError>(((), vec![Change::User(user_name.to_owned())]))
        })
    }

    async fn create_access_key(&self, key: &AccessKeyRecord, max_per_user: u64) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            access_keys::create(&tx, key, clamp(max_per_user)).await?;
            Ok::<_, StoreError>(((), vec![Change::AccessKey(key.access_key_id.clone())]))
        })
    }

    async fn list_access_keys(&self, user_name: &str) -> StoreResult<Vec<AccessKeyRecord>> {
        access_keys::list_by_user(&self.conn().await?, user_name).await
    }

    async fn set_access_key_status(
        &self,
        access_key_id: &str,
        status: AccessKeyStatus,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            access_keys::set_status(&tx, access_key_id, status).await?;
            Ok::<_, StoreError>(((), vec![Change::AccessKey(access_key_id.to_owned())]))
        })
    }

    async fn delete_access_key(&self, access_key_id: &str) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            access_keys::delete(&tx, access_key_id).await?;
            Ok::<_, StoreError>(((), vec![Change::AccessKey(access_key_id.to_owned())]))
        })
    }

    async fn create_policy(
        &self,
        policy: &PolicyRecord,
        first_version: &PolicyVersionRecord,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            policies::create(&tx, policy, first_version).await?;
            Ok::<_, StoreError>(((), vec![Change::Policy(policy.policy_name.clone())]))
        })
    }

    async fn get_policy(&self, policy_name: &str) -> StoreResult<Option<PolicyRecord>> {
        policies::get(&self.conn().await?, policy_name).await
    }

    async fn list_policies(
        &self,
        after: Option<&str>,
        limit: u64,
    ) -> StoreResult<Vec<PolicyRecord>> {
        policies::list(&self.conn().await?, after, clamp(limit)).await
    }

    async fn delete_policy(&self, policy_name: &str, cascade: bool) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            policies::delete(&tx, policy_name, cascade).await?;
            Ok::<_, StoreError>(((), vec![Change::Policy(policy_name.to_owned())]))
        })
    }

    async fn add_policy_version(
        &self,
        policy_name: &str,
        document: &str,
        create_date: i64,
        options: VersionOptions,
    ) -> StoreResult<PolicyVersionRecord> {
        write_tx!(self, |tx| async {
            let version =
                policies::add_version(&tx, policy_name, document, create_date, options).await?;
            Ok::<_, StoreError>((version, vec![Change::Policy(policy_name.to_owned())]))
        })
    }

    async fn get_policy_version(
        &self,
        policy_name: &str,
        version_id: &str,
    ) -> StoreResult<Option<PolicyVersionRecord>> {
        policies::get_version(&self.conn().await?, policy_name, version_id).await
    }

    async fn list_policy_versions(
        &self,
        policy_name: &str,
    ) -> StoreResult<Vec<PolicyVersionRecord>> {
        policies::list_versions(&self.conn().await?, policy_name).await
    }

    async fn set_default_policy_version(
        &self,
        policy_name: &str,
        version_id: &str,
        update_date: i64,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            policies::set_default_version(&tx, policy_name, version_id, update_date).await?;
            Ok::<_, StoreError>(((), vec![Change::Policy(policy_name.to_owned())]))
        })
    }

    async fn delete_policy_version(&self, policy_name: &str, version_id: &str) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            policies::delete_version(&tx, policy_name, version_id).await?;
            Ok::<_, StoreError>(((), vec![Change::Policy(policy_name.to_owned())]))
        })
    }

    async fn attach_policy(&self, attachment: &AttachmentRecord) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            policies::attach(&tx, attachment).await?;
            Ok::<_, StoreError>(((), vec![Change::User(attachment.principal_name.clone())]))
        })
    }

    async fn detach_policy(
        &self,
        principal_type: &str,
        principal_name: &str,
        policy_type: &str,
        policy_name: &str,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| async {
            policies::detach(
                &tx,
                principal_type,
                principal_name,
                policy_type,
                policy_name,
            )
            .await?;
            Ok::<_, StoreError>(((), vec![Change::User(principal_name.to_owned())]))
        })
    }

    async fn list_attachments(
        &self,
        principal_type: &str,
        principal_name: &str,
    ) -> StoreResult<Vec<AttachmentRecord>> {
        policies::list_attachments(&self.conn().await?, principal_type, principal_name).await
    }

    async fn count_attachments(&self, policy_type: &str, policy_name: &str) -> StoreResult<u64> {
        policies::count_attachments(&self.conn().await?, policy_type, policy_name).await
    }

    async fn remember_nonce(
        &self,
        digest: &crate::NonceDigest,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        self.nonce_clock.saw(now);
        if let Some(batcher) = &self.nonce_batcher {
            return batcher.remember(digest, expires_at, now).await;
        }
        let conn = self.nonce_pool.get().await.map_err(pool_failed)?;
        nonces::remember(&conn, digest, expires_at, now).await
    }

    async fn append_audit(&self, records: &[AuditRecord]) -> StoreResult<Option<AuditHead>> {
        write_tx!(self, |tx| async {
            let head = audit::append(&tx, records).await?;
            Ok::<_, StoreError>((head, Vec::new()))
        })
    }

    async fn list_audit(
        &self,
        since_ms: Option<i64>,
        after_seq: u64,
        limit: u64,
    ) -> StoreResult<Vec<ChainedRecord>> {
        audit::list(&self.conn().await?, since_ms, after_seq, clamp(limit)).await
    }

    async fn audit_head(&self) -> StoreResult<Option<AuditHead>> {
        audit::head(&self.conn().await?).await
    }

    async fn prune_audit(&self, before_ms: i64, now_ms: i64) -> StoreResult<Option<AuditPruned>> {
        write_tx!(self, |tx| async {
            let pruned = audit::prune(&tx, before_ms, now_ms).await?;
            Ok::<_, StoreError>((pruned, Vec::new()))
        })
    }

    async fn audit_anchor(&self) -> StoreResult<Option<AuditHead>> {
        audit::anchor(&self.conn().await?).await
    }

    async fn instance(&self) -> StoreResult<Option<InstanceRecord>> {
        instance::get(&self.conn().await?).await
    }

    async fn init_instance(&self, record: &InstanceRecord) -> StoreResult<InstanceRecord> {
        instance::init(&self.conn().await?, record).await
    }

    fn changes(&self) -> Option<broadcast::Receiver<Change>> {
        Some(self.changes.subscribe())
    }
}
