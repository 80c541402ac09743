//! The server's shared state, [`Kms`]: the store, the root key, the realm, the clock, and the
//! hot-path caches. Operations (`ops/`) call it to resolve key references, check states, and get
//! ready-to-use ciphers for CMK versions.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use keywarden_core::blob::CmkCipher;
use keywarden_core::lifecycle::Requirement;
use keywarden_core::model::{KeyRef, KeySpec, Realm};
use keywarden_core::secret::{SecretBytes, SecretString};
use keywarden_core::wrap::{RootKey, access_key_aad, material_aad};
use keywarden_store::{
    AccessKeyRecord, AliasRecord, Change, KeyRecord, KeyStore, StoreError, VersionRecord,
};

use crate::cache::TtlCache;
use crate::error::ApiError;

/// Where the current time comes from; tests may move it.
pub trait Clock: Send + Sync + 'static {
    /// Unix seconds now.
    fn now(&self) -> i64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        keywarden_core::dates::now_unix()
    }
}

/// A clock that only moves when told to: for tests of deletion windows and rotation schedules.
/// Share it (`Arc<ManualClock>`) between the test and the [`Kms`] it drives.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock standing at `now` (unix seconds).
    pub fn new(now: i64) -> Self {
        Self(AtomicI64::new(now))
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Moves the clock forward by `secs` (backward if negative).
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// An unwrapped CMK version, ready to seal and open.
pub struct VersionCipher {
    /// Owning key.
    pub key_id: String,
    /// Its version id.
    pub version_id: String,
    /// The expanded material.
    pub cipher: CmkCipher,
}

/// An access key with its secret unwrapped.
pub struct Credential {
    /// The stored record (secret still sealed inside).
    pub record: AccessKeyRecord,
    /// The secret, for signature verification.
    pub secret: SecretString,
    /// The RPC v1 HMAC key derived from the secret (derived once, not per request).
    pub rpc_v1_key: aws_lc_rs::hmac::Key,
}

/// Tunables of [`Kms`].
#[derive(Debug, Clone, Copy)]
pub struct KmsOptions {
    /// How long cached key records, aliases and access keys are trusted.
    pub cache_ttl: Duration,
}

impl Default for KmsOptions {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(2),
        }
    }
}

/// Unknown access key ids remembered at most (the negative cache is cleared when full).
const UNKNOWN_ACCESS_KEYS_CACHED: usize = 4096;

/// Shared server state.
pub struct Kms {
    /// Durable state.
    pub store: Arc<dyn KeyStore>,
    /// Region and account for ARNs.
    pub realm: Realm,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Callers' effective policies (authorization), cached per user.
    pub authz: crate::authz::Authz,
    /// Keys' own policies, parsed and cached per key.
    pub key_policies: crate::key_policy::KeyPolicies,
    root: RootKey,
    keys: TtlCache<String, KeyRecord>,
    aliases: TtlCache<String, String>,
    versions: TtlCache<String, VersionCipher>,
    credentials: TtlCache<String, Credential>,
    /// Access key ids the store did not have: a repeat costs no store read for a TTL.
    unknown_access_keys: TtlCache<String, ()>,
}

impl Kms {
    /// Assembles the state.
    pub fn new(
        store: Arc<dyn KeyStore>,
        root: RootKey,
        realm: Realm,
        clock: Arc<dyn Clock>,
        opts: KmsOptions,
    ) -> Self {
        Self {
            store,
            realm,
            clock,
            authz: crate::authz::Authz::new(opts.cache_ttl),
            key_policies: crate::key_policy::KeyPolicies::new(opts.cache_ttl),
            root,
            keys: TtlCache::new(opts.cache_ttl, 100_000),
            aliases: TtlCache::new(opts.cache_ttl, 100_000),
            // Versions never change once written; key state is checked separately.
            versions: TtlCache::new(Duration::from_secs(3600), 100_000),
            credentials: TtlCache::new(opts.cache_ttl, 10_000),
            unknown_access_keys: TtlCache::new(opts.cache_ttl, UNKNOWN_ACCESS_KEYS_CACHED),
        }
    }

    /// Unix seconds now.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Resolves a `KeyId` parameter (id, alias or ARN) to the key record.
    pub async fn resolve(&self, key_ref: &str) -> Result<Arc<KeyRecord>, ApiError> {
        if !self.realm.owns_arn(key_ref) {
            return Err(ApiError::KeyNotFound);
        }
        match KeyRef::parse(key_ref) {
            KeyRef::Id(id) => self.key(&id).await,
            KeyRef::Alias(name) => {
                let key_id = self.alias_target(&name).await?;
                self.key(&key_id).await
            }
        }
    }

    /// The key record with this id.
    pub async fn key(&self, key_id: &str) -> Result<Arc<KeyRecord>, ApiError> {
        self.keys
            .get_or_load(key_id, async {
                self.store
                    .get_key(key_id)
                    .await?
                    .ok_or(ApiError::KeyNotFound)
            })
            .await
    }

    /// The key id alias `name` names (cached), or `AliasNotFound`.
    pub async fn alias_target(&self, name: &str) -> Result<String, ApiError> {
        let target = self
            .aliases
            .get_or_load(name, async {
                let alias = self.store.get_alias(name).await?;
                Ok::<_, ApiError>(alias.ok_or(ApiError::AliasNotFound)?.key_id)
            })
            .await?;
        Ok(target.as_ref().clone())
    }

    /// The policies in force for `user_name` (cached; see `authz`).
    pub async fn policies_of(
        &self,
        user_name: &str,
    ) -> Result<Arc<Vec<keywarden_core::policy::Policy>>, ApiError> {
        self.authz.policies_of(self.store.as_ref(), user_name).await
    }

    /// The policy of `key_id` (cached; `None`: the default policy).
    pub async fn key_policy(&self, key_id: &str) -> Result<crate::key_policy::Effective, ApiError> {
        self.key_policies.get(self.store.as_ref(), key_id).await
    }

    /// Stores a key's policy and forgets the cached one.
    pub async fn set_key_policy(
        &self,
        policy: &keywarden_store::KeyPolicyRecord,
    ) -> Result<(), ApiError> {
        let result = self.store.set_key_policy(policy).await;
        self.key_policies.invalidate(&policy.key_id);
        result.map_err(|e| match e {
            StoreError::NotFound => ApiError::KeyNotFound,
            other => other.into(),
        })
    }

    /// The key id alias `name` names now, if the alias exists.
    pub async fn alias_current(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.alias_target(name).await {
            Ok(id) => Ok(Some(id)),
            Err(ApiError::AliasNotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates an alias (and forgets what was cached under its name).
    pub async fn create_alias(&self, alias: &AliasRecord) -> Result<(), ApiError> {
        let result = self.store.create_alias(alias).await;
        self.invalidate_alias(&alias.alias_name);
        result.map_err(|e| match e {
            StoreError::AlreadyExists => ApiError::AliasAlreadyExists,
            StoreError::NotFound => ApiError::KeyNotFound,
            other => other.into(),
        })
    }

    /// Points alias `name` at `key_id`, if it still names `expected`.
    pub async fn update_alias(
        &self,
        name: &str,
        key_id: &str,
        expected: &str,
    ) -> Result<(), ApiError> {
        let result = self.store.update_alias(name, key_id, expected).await;
        self.invalidate_alias(name);
        result.map_err(alias_error)
    }

    /// Deletes alias `name`, if it still names `expected`.
    pub async fn delete_alias(&self, name: &str, expected: &str) -> Result<(), ApiError> {
        let result = self.store.delete_alias(name, expected).await;
        self.invalidate_alias(name);
        result.map_err(alias_error)
    }

    /// Writes a key row (compare-and-set on its revision) and forgets the cached one.
    pub async fn update_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        let result = self.store.update_key(key).await;
        self.invalidate_key(&key.key_id);
        result
    }

    /// Rotation: the new version and the key row naming it, in one store transaction; forgets
    /// the cached key row.
    pub async fn rotate_key(
        &self,
        key: &KeyRecord,
        version: &VersionRecord,
    ) -> Result<(), StoreError> {
        let result = self.store.rotate_key(key, version).await;
        self.invalidate_key(&key.key_id);
        result
    }

    /// Crypto-shredding of a key at `revision`; forgets everything cached about it, also when
    /// it was already gone.
    pub async fn destroy_key(&self, key_id: &str, revision: i64) -> Result<(), StoreError> {
        let result = self.store.destroy_key(key_id, revision).await;
        if !matches!(result, Err(StoreError::Conflict)) {
            self.forget_key(key_id);
        }
        result
    }

    /// The key that owns a version. A version cached before its key was destroyed elsewhere is
    /// forgotten here, so destroyed material leaves memory as soon as the key's absence is
    /// seen.
    pub async fn owner(&self, version: &VersionCipher) -> Result<Arc<KeyRecord>, ApiError> {
        match self.key(&version.key_id).await {
            Err(ApiError::KeyNotFound) => {
                self.invalidate_version(&version.version_id);
                Err(ApiError::KeyNotFound)
            }
            other => other,
        }
    }

    /// The cipher of a key version, unwrapping it under the root key on a miss.
    pub async fn version(&self, version_id: &str) -> Result<Arc<VersionCipher>, ApiError> {
        self.versions
            .get_or_load(version_id, async {
                let rec = self
                    .store
                    .get_version(version_id)
                    .await?
                    .ok_or(ApiError::KeyVersionNotFound)?;
                if rec.sealed_material.is_empty() {
                    return Err(ApiError::KeyVersionNotFound);
                }
                let material = self
                    .root
                    .open(
                        &material_aad(&rec.key_id, &rec.version_id),
                        &rec.sealed_material,
                    )
                    .map_err(ApiError::internal)?;
                let cipher = CmkCipher::new(&material).map_err(ApiError::internal)?;
                Ok(VersionCipher {
                    key_id: rec.key_id,
                    version_id: rec.version_id,
                    cipher,
                })
            })
            .await
    }

    /// Fresh material for `spec`, and its sealed form for the store.
    pub fn new_material(
        &self,
        spec: KeySpec,
        key_id: &str,
        version_id: &str,
    ) -> Result<Vec<u8>, ApiError> {
        let len = spec.symmetric_len().ok_or_else(|| {
            ApiError::UnsupportedOperation(format!("KeySpec {spec} is not supported by keywarden"))
        })?;
        let material = SecretBytes::random(len)
            .map_err(|_| ApiError::internal(std::io::Error::other("rng failure")))?;
        self.root
            .seal(&material_aad(key_id, version_id), material.expose_secret())
            .map_err(ApiError::internal)
    }

    /// Seals an access-key secret for the store.
    pub fn seal_secret(&self, access_key_id: &str, secret: &str) -> Result<Vec<u8>, ApiError> {
        self.root
            .seal(&access_key_aad(access_key_id), secret.as_bytes())
            .map_err(ApiError::internal)
    }

    /// The access key with this id and its secret.
    pub async fn credential(&self, access_key_id: &str) -> Result<Arc<Credential>, ApiError> {
        if self.unknown_access_keys.get(access_key_id).is_some() {
            return Err(ApiError::AccessKeyNotFound);
        }
        self.credentials
            .get_or_load(access_key_id, async {
                let record = self
                    .unknown_access_keys
                    .absent_unless(access_key_id, self.store.get_access_key(access_key_id))
                    .await?
                    .ok_or(ApiError::AccessKeyNotFound)?;
                let secret = self
                    .root
                    .open(&access_key_aad(access_key_id), &record.sealed_secret)
                    .map_err(ApiError::internal)?;
                let secret = String::from_utf8(secret.expose_secret().to_vec())
                    .map_err(ApiError::internal)?;
                let rpc_v1_key = keywarden_core::sign::rpc_v1::signing_key(&secret);
                Ok(Credential {
                    record,
                    secret: SecretString::new(secret),
                    rpc_v1_key,
                })
            })
            .await
    }

    /// Forgets a cached key record (after a local change).
    pub fn invalidate_key(&self, key_id: &str) {
        self.keys.remove(key_id);
    }

    /// Forgets a cached alias (after a local change).
    pub fn invalidate_alias(&self, alias_name: &str) {
        self.aliases.remove(alias_name);
    }

    /// Forgets a cached access key (after a local change).
    pub fn invalidate_credential(&self, access_key_id: &str) {
        self.credentials.remove(access_key_id);
        self.unknown_access_keys.remove(access_key_id);
    }

    /// Forgets every cached version of a key (after its material is destroyed).
    pub fn invalidate_versions_of(&self, key_id: &str) {
        self.versions.remove_where(|_, v| v.key_id == key_id);
    }

    /// Forgets one cached version (its key turned out to be gone).
    pub fn invalidate_version(&self, version_id: &str) {
        self.versions.remove(version_id);
    }

    /// Forgets every cached alias that names this key (after the key is destroyed).
    pub fn invalidate_aliases_of(&self, key_id: &str) {
        self.aliases.remove_where(|_, target| target == key_id);
    }

    /// Applies a change announced through a shared store (by any node, this one included):
    /// forgets what is cached of the thing it names. A key's versions stay cached (they never
    /// change; a destroyed key's record is gone, which stops every use of them).
    pub fn apply(&self, change: &Change) {
        match change {
            Change::Key(id) => {
                self.invalidate_key(id);
                self.key_policies.invalidate(id);
            }
            Change::Alias(name) => self.invalidate_alias(name),
            Change::AccessKey(id) => self.invalidate_credential(id),
            Change::User(name) => self.authz.invalidate_user(name),
            Change::Policy(_) => self.authz.invalidate_all(),
            Change::All => self.forget_everything(),
        }
    }

    /// Forgets every cached key, alias, credential and policy (not the versions, see
    /// [`Kms::apply`]).
    pub fn forget_everything(&self) {
        self.keys.clear();
        self.aliases.clear();
        self.credentials.clear();
        self.unknown_access_keys.clear();
        self.key_policies.invalidate_all();
        self.authz.invalidate_all();
    }

    /// On a shared store, a task that applies every announced change ([`Kms::apply`]) until it
    /// is aborted; a subscriber that fell behind forgets everything. `None` on a store only
    /// this process uses.
    pub fn follow_changes(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        use tokio::sync::broadcast::error::RecvError;
        let mut changes = self.store.changes()?;
        let kms = Arc::downgrade(self);
        Some(tokio::spawn(async move {
            loop {
                let change = match changes.recv().await {
                    Ok(change) => change,
                    Err(RecvError::Lagged(_)) => Change::All,
                    Err(RecvError::Closed) => return,
                };
                let Some(kms) = kms.upgrade() else { return };
                kms.apply(&change);
            }
        }))
    }

    /// Forgets everything cached about a destroyed key: its record, versions and aliases.
    pub fn forget_key(&self, key_id: &str) {
        self.invalidate_key(key_id);
        self.invalidate_versions_of(key_id);
        self.invalidate_aliases_of(key_id);
        self.key_policies.invalidate(key_id);
    }
}

/// An alias write that found the alias gone or moved since it was resolved.
fn alias_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::AliasNotFound,
        StoreError::Conflict => ApiError::StateModifiedFailed,
        other => other.into(),
    }
}

/// Fails unless the key is Enabled (the rule of every cryptographic operation).
pub fn require_enabled(key: &KeyRecord) -> Result<(), ApiError> {
    require(key, Requirement::Usable)
}

/// Fails unless the key's state meets `requirement` (the key-state × action matrix).
pub fn require(key: &KeyRecord, requirement: Requirement) -> Result<(), ApiError> {
    Ok(requirement.check(key.state)?)
}
