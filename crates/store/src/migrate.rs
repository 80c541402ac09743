//! Copying an installation from one store to another (`keywarden store migrate`): the part
//! that does not depend on the backends.
//!
//! [`Inventory::read`] reads everything but the audit trail from any [`KeyStore`], in pages,
//! through the trait alone; [`AuditPages`] streams the trail page by page (it can be long).
//! [`Summary::of`] reduces one store to a count and a SHA-256 checksum per [`Kind`] over a
//! canonical serialization of what the trait returns (every field, lengths prefixed, in the
//! store's own order), so the source and the copy can be compared without holding both in
//! memory; [`Summary::differences`] names the kinds that differ.
//!
//! One value the trait does not expose is carried alongside: a custom policy's `last_version`
//! (the highest version number it ever had, so that a deleted `v<n>` is never reused). Each
//! backend reads it directly ([`sqlite_last_versions`], `PgStore::policy_last_versions`) and
//! the caller passes it to [`Inventory::read`]; it is part of the policies' checksum.
//!
//! [`sqlite_to_postgres`] is the whole migration: it copies into an empty PostgreSQL store
//! (`PgStore::import`, one transaction) and verifies the copy; against a store that already
//! holds exactly the source's data it writes nothing and says so; against any other data it
//! refuses, naming the kinds that differ, and writes nothing.
//!
//! Not copied: the signature nonce window (replay protection for requests of the last minutes,
//! which nobody can replay to the new store once the old one is stopped).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::{
    AccessKeyRecord, AliasRecord, AttachmentRecord, AuditHead, ChainedRecord, InstanceRecord,
    KeyFilter, KeyPolicyRecord, KeyRecord, KeyStore, KeyTag, PRINCIPAL_USER, Page, PolicyRecord,
    PolicyVersionRecord, StoreError, StoreResult, TagCursor, TagQuery, UserRecord, VersionRecord,
};

/// Rows read per page.
pub const PAGE: u64 = 500;

/// Each custom policy's `last_version`, by policy name.
pub type LastVersions = BTreeMap<String, i64>;

/// Everything a store holds except the audit records: read into memory by [`Inventory::read`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// The installation's identity.
    pub instance: Option<InstanceRecord>,
    /// Keys, by creation date then id.
    pub keys: Vec<KeyRecord>,
    /// Every key's versions, key by key in `keys` order, each key's oldest first.
    pub versions: Vec<VersionRecord>,
    /// Aliases by name.
    pub aliases: Vec<AliasRecord>,
    /// Tags by key id then tag key.
    pub tags: Vec<KeyTag>,
    /// Key policies, in `keys` order.
    pub key_policies: Vec<KeyPolicyRecord>,
    /// RAM users by name.
    pub users: Vec<UserRecord>,
    /// Access keys, user by user in `users` order, each user's oldest first.
    pub access_keys: Vec<AccessKeyRecord>,
    /// Custom policies by name.
    pub policies: Vec<PolicyRecord>,
    /// Each policy's `last_version` (see the module docs).
    pub last_versions: LastVersions,
    /// Every policy's versions, policy by policy in `policies` order, each oldest first.
    pub policy_versions: Vec<PolicyVersionRecord>,
    /// Attachments to users, user by user in `users` order, each oldest first.
    pub attachments: Vec<AttachmentRecord>,
    /// The audit retention anchor (the last pruned record), if any.
    pub audit_anchor: Option<AuditHead>,
}

impl Inventory {
    /// Reads everything but the audit records from `store`, in pages; `last_versions` is what
    /// the backend holds for each policy (see the module docs).
    pub async fn read(store: &dyn KeyStore, last_versions: LastVersions) -> StoreResult<Self> {
        let keys = read_keys(store).await?;
        let mut versions = Vec::new();
        for key in &keys {
            versions.extend(read_versions(store, &key.key_id).await?);
        }
        let mut key_policies = Vec::new();
        for chunk in keys.chunks(usize::try_from(PAGE).unwrap_or(500)) {
            let ids: Vec<String> = chunk.iter().map(|k| k.key_id.clone()).collect();
            let mut found: BTreeMap<String, KeyPolicyRecord> = store
                .get_key_policies(&ids)
                .await?
                .into_iter()
                .map(|p| (p.key_id.clone(), p))
                .collect();
            key_policies.extend(ids.iter().filter_map(|id| found.remove(id)));
        }
        let users = read_users(store).await?;
        let mut access_keys = Vec::new();
        let mut attachments = Vec::new();
        for user in &users {
            access_keys.extend(store.list_access_keys(&user.user_name).await?);
            attachments.extend(
                store
                    .list_attachments(PRINCIPAL_USER, &user.user_name)
                    .await?,
            );
        }
        let policies = read_policies(store).await?;
        let mut policy_versions = Vec::new();
        for policy in &policies {
            policy_versions.extend(store.list_policy_versions(&policy.policy_name).await?);
        }
        Ok(Inventory {
            instance: store.instance().await?,
            keys,
            versions,
            aliases: read_aliases(store).await?,
            tags: read_tags(store).await?,
            key_policies,
            users,
            access_keys,
            policies,
            last_versions,
            policy_versions,
            attachments,
            audit_anchor: store.audit_anchor().await?,
        })
    }

    /// True when the store holds nothing at all (no identity, no rows, no anchor).
    pub fn is_empty(&self) -> bool {
        *self == Inventory::default()
    }
}

/// Every key, in pages.
async fn read_keys(store: &dyn KeyStore) -> StoreResult<Vec<KeyRecord>> {
    let filter = KeyFilter::default();
    let mut out = Vec::new();
    loop {
        let page = Page {
            offset: out.len() as u64,
            limit: PAGE,
        };
        let got = store.list_keys(&filter, page).await?;
        let done = got.items.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
        out.extend(got.items);
        if done {
            return Ok(out);
        }
    }
}

/// One key's versions, in pages.
async fn read_versions(store: &dyn KeyStore, key_id: &str) -> StoreResult<Vec<VersionRecord>> {
    let mut out = Vec::new();
    loop {
        let page = Page {
            offset: out.len() as u64,
            limit: PAGE,
        };
        let got = store.list_versions(key_id, page).await?;
        let done = got.items.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
        out.extend(got.items);
        if done {
            return Ok(out);
        }
    }
}

/// Every alias, in pages.
async fn read_aliases(store: &dyn KeyStore) -> StoreResult<Vec<AliasRecord>> {
    let mut out = Vec::new();
    loop {
        let page = Page {
            offset: out.len() as u64,
            limit: PAGE,
        };
        let got = store.list_aliases(None, page).await?;
        let done = got.items.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
        out.extend(got.items);
        if done {
            return Ok(out);
        }
    }
}

/// Every tag of every key, in keyset pages.
async fn read_tags(store: &dyn KeyStore) -> StoreResult<Vec<KeyTag>> {
    let query = TagQuery::default();
    let mut out: Vec<KeyTag> = Vec::new();
    loop {
        let after = out.last().map(|t| TagCursor {
            key_id: t.key_id.clone(),
            tag_key: t.tag_key.clone(),
        });
        let got = store
            .list_tag_resources(&query, after.as_ref(), PAGE)
            .await?;
        let done = got.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
        out.extend(got);
        if done {
            return Ok(out);
        }
    }
}

/// Every RAM user, in keyset pages.
async fn read_users(store: &dyn KeyStore) -> StoreResult<Vec<UserRecord>> {
    let mut out: Vec<UserRecord> = Vec::new();
    loop {
        let after = out.last().map(|u| u.user_name.clone());
        let got = store.list_users(after.as_deref(), PAGE).await?;
        let done = got.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
        out.extend(got);
        if done {
            return Ok(out);
        }
    }
}

/// Every custom policy, in keyset pages.
async fn read_policies(store: &dyn KeyStore) -> StoreResult<Vec<PolicyRecord>> {
    let mut out: Vec<PolicyRecord> = Vec::new();
    loop {
        let after = out.last().map(|p| p.policy_name.clone());
        let got = store.list_policies(after.as_deref(), PAGE).await?;
        let done = got.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
        out.extend(got);
        if done {
            return Ok(out);
        }
    }
}

/// The audit records after the retention anchor (or from genesis), page by page.
pub struct AuditPages<'a> {
    store: &'a dyn KeyStore,
    after_seq: u64,
    done: bool,
}

impl<'a> AuditPages<'a> {
    /// Pages of `store`'s trail, starting after `anchor` (the store's [`KeyStore::audit_anchor`]).
    pub fn new(store: &'a dyn KeyStore, anchor: Option<AuditHead>) -> Self {
        Self {
            store,
            after_seq: anchor.map_or(0, |a| a.seq),
            done: false,
        }
    }

    /// The next page (at most [`PAGE`] records), or `None` at the end.
    pub async fn next_page(&mut self) -> StoreResult<Option<Vec<ChainedRecord>>> {
        if self.done {
            return Ok(None);
        }
        let page = self.store.list_audit(None, self.after_seq, PAGE).await?;
        self.done = page.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
        match page.last() {
            Some(last) => {
                self.after_seq = last.record.seq;
                Ok(Some(page))
            }
            None => Ok(None),
        }
    }
}

/// What one [`Summary`] line covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// The identity row.
    Instance,
    /// Key rows.
    Keys,
    /// Key versions (sealed material).
    KeyVersions,
    /// Aliases.
    Aliases,
    /// Tags.
    Tags,
    /// Key policies.
    KeyPolicies,
    /// RAM users.
    Users,
    /// Access keys.
    AccessKeys,
    /// Custom policies (with `last_version`).
    Policies,
    /// Custom policy versions.
    PolicyVersions,
    /// Policy attachments.
    Attachments,
    /// The retention anchor.
    AuditAnchor,
    /// Audit records.
    AuditRecords,
}

impl Kind {
    /// Every kind, in the order of a [`Summary`].
    pub const ALL: [Kind; 13] = [
        Kind::Instance,
        Kind::Keys,
        Kind::KeyVersions,
        Kind::Aliases,
        Kind::Tags,
        Kind::KeyPolicies,
        Kind::Users,
        Kind::AccessKeys,
        Kind::Policies,
        Kind::PolicyVersions,
        Kind::Attachments,
        Kind::AuditAnchor,
        Kind::AuditRecords,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Instance => "instance",
            Kind::Keys => "keys",
            Kind::KeyVersions => "key versions",
            Kind::Aliases => "aliases",
            Kind::Tags => "tags",
            Kind::KeyPolicies => "key policies",
            Kind::Users => "users",
            Kind::AccessKeys => "access keys",
            Kind::Policies => "policies",
            Kind::PolicyVersions => "policy versions",
            Kind::Attachments => "attachments",
            Kind::AuditAnchor => "audit anchor",
            Kind::AuditRecords => "audit records",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One kind's row count and checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSummary {
    /// The kind.
    pub kind: Kind,
    /// Rows.
    pub count: u64,
    /// SHA-256 over the rows' canonical serialization, in order.
    pub sha256: [u8; 32],
}

/// A count and checksum per [`Kind`], in [`Kind::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// One line per kind.
    pub kinds: Vec<KindSummary>,
}

impl Summary {
    /// Summarizes `inventory` and the audit records of `store` after its anchor (read in
    /// pages: the trail is never all in memory). `inventory` must have been read from `store`.
    pub async fn of(inventory: &Inventory, store: &dyn KeyStore) -> StoreResult<Summary> {
        let mut kinds = inventory_summaries(inventory)?;
        let mut audit = Checksum::new()?;
        let mut pages = AuditPages::new(store, inventory.audit_anchor);
        while let Some(page) = pages.next_page().await? {
            for record in &page {
                audit.row(record);
            }
        }
        kinds.push(audit.finish(Kind::AuditRecords));
        Ok(Summary { kinds })
    }

    /// The line of `kind`.
    pub fn get(&self, kind: Kind) -> Option<&KindSummary> {
        self.kinds.iter().find(|k| k.kind == kind)
    }

    /// One sentence per kind that differs between `self` (the source) and `other`.
    pub fn differences(&self, other: &Summary) -> Vec<String> {
        Kind::ALL
            .iter()
            .filter_map(|&kind| match (self.get(kind), other.get(kind)) {
                (Some(a), Some(b)) if a == b => None,
                (Some(a), Some(b)) if a.count != b.count => Some(format!(
                    "{kind}: {} in the source, {} in the target",
                    a.count, b.count
                )),
                (Some(_), Some(_)) => Some(format!(
                    "{kind}: same count, different contents (checksums differ)"
                )),
                _ => Some(format!("{kind}: missing from a summary")),
            })
            .collect()
    }
}

/// The summaries of everything but the audit records.
fn inventory_summaries(inv: &Inventory) -> StoreResult<Vec<KindSummary>> {
    let policies: Vec<(&PolicyRecord, Option<&i64>)> = inv
        .policies
        .iter()
        .map(|p| (p, inv.last_versions.get(&p.policy_name)))
        .collect();
    Ok(vec![
        Checksum::of(Kind::Instance, inv.instance.iter())?,
        Checksum::of(Kind::Keys, &inv.keys)?,
        Checksum::of(Kind::KeyVersions, &inv.versions)?,
        Checksum::of(Kind::Aliases, &inv.aliases)?,
        Checksum::of(Kind::Tags, &inv.tags)?,
        Checksum::of(Kind::KeyPolicies, &inv.key_policies)?,
        Checksum::of(Kind::Users, &inv.users)?,
        Checksum::of(Kind::AccessKeys, &inv.access_keys)?,
        Checksum::of(Kind::Policies, &policies)?,
        Checksum::of(Kind::PolicyVersions, &inv.policy_versions)?,
        Checksum::of(Kind::Attachments, &inv.attachments)?,
        Checksum::of(Kind::AuditAnchor, inv.audit_anchor.iter())?,
    ])
}

/// A running SHA-256 over rows, each serialized canonically: the length (u64 big-endian) of
/// the row's `Debug` form, then that form. `Debug` prints every field of these records (byte
/// strings as their bytes, maps in key order) and is the same for both stores within one run,
/// which is all a comparison needs; it is not a format kept anywhere.
struct Checksum {
    context: Box<dyn rustls::crypto::hash::Context>,
    count: u64,
}

impl Checksum {
    /// An empty checksum. SHA-256 is aws-lc's, reached through rustls (already a dependency).
    fn new() -> StoreResult<Self> {
        let hash = sha256();
        if hash.algorithm() != rustls::crypto::hash::HashAlgorithm::SHA256 {
            return Err(StoreError::Backend(
                "the SHA-256 provider is not SHA-256".into(),
            ));
        }
        Ok(Self {
            context: hash.start(),
            count: 0,
        })
    }

    /// The summary of `rows`.
    fn of<T: fmt::Debug>(
        kind: Kind,
        rows: impl IntoIterator<Item = T>,
    ) -> StoreResult<KindSummary> {
        let mut sum = Checksum::new()?;
        for row in rows {
            sum.row(&row);
        }
        Ok(sum.finish(kind))
    }

    /// Adds one row.
    fn row(&mut self, row: &impl fmt::Debug) {
        let text = format!("{row:?}");
        self.context.update(&(text.len() as u64).to_be_bytes());
        self.context.update(text.as_bytes());
        self.count += 1;
    }

    /// The summary so far, as `kind`.
    fn finish(self, kind: Kind) -> KindSummary {
        let mut sha256 = [0u8; 32];
        let out = self.context.finish();
        let bytes = out.as_ref();
        let n = bytes.len().min(32);
        sha256[..n].copy_from_slice(&bytes[..n]);
        KindSummary {
            kind,
            count: self.count,
            sha256,
        }
    }
}

/// aws-lc's SHA-256, as the hash of a TLS suite named after it.
fn sha256() -> &'static dyn rustls::crypto::hash::Hash {
    use rustls::SupportedCipherSuite;
    match rustls::crypto::aws_lc_rs::cipher_suite::TLS13_AES_128_GCM_SHA256 {
        SupportedCipherSuite::Tls13(suite) => suite.common.hash_provider,
        SupportedCipherSuite::Tls12(suite) => suite.common.hash_provider,
    }
}

/// Each custom policy's `last_version` in the SQLite database at `path`, read from a read-only
/// connection (the one value of a store that the [`KeyStore`] trait does not expose).
pub fn sqlite_last_versions(path: &Path) -> StoreResult<LastVersions> {
    let backend = |e: rusqlite::Error| StoreError::Backend(Box::new(e));
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(backend)?;
    let mut stmt = conn
        .prepare("SELECT policy_name, last_version FROM ram_policies ORDER BY policy_name")
        .map_err(backend)?;
    let rows = stmt
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })
        .map_err(backend)?;
    rows.collect::<Result<LastVersions, _>>().map_err(backend)
}

/// What [`sqlite_to_postgres`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The target was empty: everything was copied, and reading it back gave `Summary`.
    Copied(Summary),
    /// The target already held exactly the source's data (`Summary`): nothing was written.
    AlreadyMigrated(Summary),
}

/// Why [`sqlite_to_postgres`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The source has no recorded identity (no server of this version ever started on it).
    #[error(
        "the source store has no instance identity: start `keywarden serve` on it once (then stop it) before migrating"
    )]
    SourceUninitialized,
    /// The target holds data other than the source's; nothing was written.
    #[error("the target database holds other data than the source (nothing was written): {}", .0.join("; "))]
    TargetDiffers(Vec<String>),
    /// The copy, read back, differs from the source (it is committed: drop the database).
    #[error("verification failed, the copy differs from the source: {}", .0.join("; "))]
    VerificationFailed(Vec<String>),
}

/// Copies the SQLite store `source` (which no server may be using) into `target` if that is
/// empty, and verifies the copy; see the module docs. `now_ms` dates the copied retention
/// anchor.
pub async fn sqlite_to_postgres(
    source: &SqliteStore,
    target: &PgStore,
    now_ms: i64,
) -> Result<Outcome, MigrateError> {
    let from = Inventory::read(source, sqlite_last_versions(source.path())?).await?;
    if from.instance.is_none() {
        return Err(MigrateError::SourceUninitialized);
    }
    let from_summary = Summary::of(&from, source).await?;
    let to = Inventory::read(target, target.policy_last_versions().await?).await?;
    if !(to.is_empty() && target.audit_head().await?.is_none()) {
        let to_summary = Summary::of(&to, target).await?;
        let differences = from_summary.differences(&to_summary);
        return if differences.is_empty() {
            Ok(Outcome::AlreadyMigrated(to_summary))
        } else {
            Err(MigrateError::TargetDiffers(differences))
        };
    }
    target.import(&from, source, now_ms).await?;
    let copied = Inventory::read(target, target.policy_last_versions().await?).await?;
    let copied_summary = Summary::of(&copied, target).await?;
    let differences = from_summary.differences(&copied_summary);
    if differences.is_empty() {
        Ok(Outcome::Copied(copied_summary))
    } else {
        Err(MigrateError::VerificationFailed(differences))
    }
}
