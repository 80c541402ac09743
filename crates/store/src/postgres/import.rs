//! Importing a whole installation into an empty PostgreSQL store (`keywarden store migrate`).
//!
//! The trait's create methods renumber and re-chain what they are given (policy versions get
//! the next `v<n>`, audit records the next `seq` and a new hash), so the importer writes the
//! exact rows instead: every key field including `revision`, each key's versions with their
//! position, policy versions with their ids and each policy's `last_version`, the audit records
//! with their `seq` and hashes, the retention anchor, and the `instance` row. Everything goes
//! in one transaction, under an advisory lock, after checking inside it that the database is
//! still empty: an interrupted import leaves nothing, and a concurrent node or import cannot
//! interleave. Audit records are read from the source and inserted page by page
//! ([`crate::migrate::AuditPages`]), never all in memory.

use deadpool_postgres::{GenericClient, Transaction};

use super::error::PgResultExt;
use super::{PgStore, access_keys, aliases, key_policies, keys, policies, tags, users, versions};
use crate::migrate::{AuditPages, Inventory, LastVersions};
use crate::{ChainedRecord, KeyStore, StoreError, StoreResult, TagRecord};

/// The advisory lock an import holds (next to the migration and audit locks).
const IMPORT_LOCK: i64 = 0x6b77_0000_0003;

/// The tables an import fills; all must be empty before it.
const TABLES: [&str; 13] = [
    "instance",
    "keys",
    "key_versions",
    "aliases",
    "key_tags",
    "key_policies",
    "access_keys",
    "ram_users",
    "ram_policies",
    "ram_policy_versions",
    "ram_attachments",
    "audit_log",
    "audit_anchor",
];

/// What an import wrote besides the inventory's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// Audit records copied.
    pub audit_records: u64,
}

/// Why an import refused to start (as `StoreError::Backend`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A table the import fills already holds rows.
    #[error("the target database is not empty: table {0} holds rows")]
    NotEmpty(&'static str),
    /// A policy version id is not `v<n>`.
    #[error("policy {policy}: version id {version_id:?} is not v<n>")]
    BadPolicyVersion {
        /// The policy.
        policy: String,
        /// The version id.
        version_id: String,
    },
}

impl From<ImportError> for StoreError {
    fn from(error: ImportError) -> Self {
        StoreError::Backend(Box::new(error))
    }
}

impl PgStore {
    /// Each custom policy's `last_version` (which the `KeyStore` trait does not expose).
    pub async fn policy_last_versions(&self) -> StoreResult<LastVersions> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT policy_name, last_version FROM ram_policies ORDER BY policy_name",
                &[],
            )
            .await
            .db()?;
        rows.iter()
            .map(|row| Ok((row.try_get(0).db()?, row.try_get(1).db()?)))
            .collect()
    }

    /// Writes `inventory` and the audit records of `source` (read after
    /// `inventory.audit_anchor`, in pages) into this store, exactly, in one transaction.
    /// Refuses ([`ImportError::NotEmpty`]) unless every table it fills is empty.
    pub async fn import(
        &self,
        inventory: &Inventory,
        source: &dyn KeyStore,
        now_ms: i64,
    ) -> StoreResult<Imported> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.db()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&IMPORT_LOCK])
            .await
            .db()?;
        require_empty(&tx).await?;
        insert_inventory(&tx, inventory, now_ms).await?;
        let mut pages = AuditPages::new(source, inventory.audit_anchor);
        let mut audit_records = 0u64;
        while let Some(page) = pages.next_page().await? {
            insert_audit(&tx, &page).await?;
            audit_records += page.len() as u64;
        }
        tx.commit().await.db()?;
        Ok(Imported { audit_records })
    }
}

/// Refuses unless every table of [`TABLES`] is empty.
async fn require_empty(tx: &Transaction<'_>) -> StoreResult<()> {
    for table in TABLES {
        let row = tx
            .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[])
            .await
            .db()?;
        if row.try_get::<_, bool>(0).db()? {
            return Err(ImportError::NotEmpty(table).into());
        }
    }
    Ok(())
}

/// Inserts every row of `inv` (the anchor dated `now_ms`).
async fn insert_inventory(tx: &Transaction<'_>, inv: &Inventory, now_ms: i64) -> StoreResult<()> {
    if let Some(i) = &inv.instance {
        tx.execute(
            "INSERT INTO instance (id, account_id, region_id, root_key_check, created_ms)
             VALUES (1, $1, $2, $3, $4)",
            &[
                &i.account_id,
                &i.region_id,
                &i.root_key_check,
                &i.created_ms,
            ],
        )
        .await
        .db()?;
    }
    insert_keys(tx, inv).await?;
    insert_identity(tx, inv).await?;
    if let Some(anchor) = &inv.audit_anchor {
        let seq = i64::try_from(anchor.seq).map_err(|e| StoreError::Backend(Box::new(e)))?;
        tx.execute(
            "INSERT INTO audit_anchor (id, seq, hash, pruned_ms) VALUES (1, $1, $2, $3)",
            &[&seq, &anchor.hash.as_slice(), &now_ms],
        )
        .await
        .db()?;
    }
    Ok(())
}

/// Keys, their versions (numbered 1.. per key, in order), aliases, tags and key policies,
/// written by the same row functions the store's own methods use.
async fn insert_keys(tx: &Transaction<'_>, inv: &Inventory) -> StoreResult<()> {
    for key in &inv.keys {
        keys::insert_row(tx, key).await?;
    }
    for version in &inv.versions {
        versions::insert(tx, version).await?;
    }
    for alias in &inv.aliases {
        aliases::insert(tx, alias).await?;
    }
    for tag in &inv.tags {
        let record = TagRecord {
            tag_key: tag.tag_key.clone(),
            tag_value: tag.tag_value.clone(),
        };
        tags::put(tx, &tag.key_id, &[record]).await?;
    }
    for policy in &inv.key_policies {
        key_policies::put(tx, policy).await?;
    }
    Ok(())
}

/// Users, access keys, custom policies (with `last_version`), their versions (with their ids
/// and numbers) and attachments.
async fn insert_identity(tx: &Transaction<'_>, inv: &Inventory) -> StoreResult<()> {
    for user in &inv.users {
        users::create(tx, user).await?;
    }
    for key in &inv.access_keys {
        access_keys::put(tx, key).await?;
    }
    insert_policies(tx, inv).await?;
    for attachment in &inv.attachments {
        policies::attach(tx, attachment).await?;
    }
    Ok(())
}

/// Custom policies and their versions.
async fn insert_policies(tx: &Transaction<'_>, inv: &Inventory) -> StoreResult<()> {
    for p in &inv.policies {
        let highest = inv
            .policy_versions
            .iter()
            .filter(|v| v.policy_name == p.policy_name)
            .filter_map(|v| version_number(&v.version_id))
            .max()
            .unwrap_or(1);
        let last = inv
            .last_versions
            .get(&p.policy_name)
            .copied()
            .unwrap_or(highest)
            .max(highest);
        policies::insert_row(tx, p, last).await?;
    }
    for v in &inv.policy_versions {
        let seq = version_number(&v.version_id).ok_or_else(|| ImportError::BadPolicyVersion {
            policy: v.policy_name.clone(),
            version_id: v.version_id.clone(),
        })?;
        policies::insert_version(tx, v, seq).await?;
    }
    Ok(())
}

/// `n` of a policy version id `v<n>`.
fn version_number(version_id: &str) -> Option<i64> {
    version_id
        .strip_prefix('v')?
        .parse()
        .ok()
        .filter(|n| *n >= 1)
}

/// Inserts audit records exactly as they are (their `seq`, `prev_hash` and `hash`), as one
/// statement over arrays.
async fn insert_audit(tx: &Transaction<'_>, rows: &[ChainedRecord]) -> StoreResult<()> {
    let mut seq = Vec::with_capacity(rows.len());
    let mut time_ms = Vec::with_capacity(rows.len());
    let mut request_id = Vec::with_capacity(rows.len());
    let mut access_key_id = Vec::with_capacity(rows.len());
    let mut user_name = Vec::with_capacity(rows.len());
    let mut source_ip = Vec::with_capacity(rows.len());
    let mut action = Vec::with_capacity(rows.len());
    let mut key_id = Vec::with_capacity(rows.len());
    let mut key_version_id = Vec::with_capacity(rows.len());
    let mut context = Vec::with_capacity(rows.len());
    let mut outcome = Vec::with_capacity(rows.len());
    let mut status = Vec::with_capacity(rows.len());
    let mut prev_hash = Vec::with_capacity(rows.len());
    let mut hash = Vec::with_capacity(rows.len());
    let mut count = Vec::with_capacity(rows.len());
    let backend = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Backend(e);
    for row in rows {
        let r = &row.record;
        seq.push(i64::try_from(r.seq).map_err(|e| backend(Box::new(e)))?);
        time_ms.push(r.time_ms);
        request_id.push(r.request_id.as_bytes());
        access_key_id.push(r.access_key_id.as_deref().map(str::as_bytes));
        user_name.push(r.user_name.as_deref().map(str::as_bytes));
        source_ip.push(r.source_ip.as_bytes());
        action.push(r.action.as_bytes());
        key_id.push(r.key_id.as_deref().map(str::as_bytes));
        key_version_id.push(r.key_version_id.as_deref().map(str::as_bytes));
        context.push(
            r.encryption_context
                .as_ref()
                .map(serde_json::to_vec)
                .transpose()
                .map_err(|e| backend(Box::new(e)))?,
        );
        outcome.push(r.outcome_code.as_bytes());
        status.push(i32::from(r.http_status));
        prev_hash.push(row.prev_hash.as_slice());
        hash.push(row.hash.as_slice());
        count.push(i64::try_from(r.count).map_err(|e| backend(Box::new(e)))?);
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO audit_log (seq, time_ms, request_id, access_key_id, user_name,
                source_ip, action, key_id, key_version_id, encryption_context, outcome_code,
                http_status, prev_hash, hash, count)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[],
                $5::bytea[], $6::bytea[], $7::bytea[], $8::bytea[], $9::bytea[], $10::bytea[],
                $11::bytea[], $12::integer[], $13::bytea[], $14::bytea[], $15::bigint[])",
        )
        .await
        .db()?;
    tx.execute(
        &stmt,
        &[
            &seq,
            &time_ms,
            &request_id,
            &access_key_id,
            &user_name,
            &source_ip,
            &action,
            &key_id,
            &key_version_id,
            &context,
            &outcome,
            &status,
            &prev_hash,
            &hash,
            &count,
        ],
    )
    .await
    .db()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_version_numbers() {
        assert_eq!(version_number("v1"), Some(1));
        assert_eq!(version_number("v12"), Some(12));
        for bad in ["", "v", "v0", "1", "vx", "v-1"] {
            assert_eq!(version_number(bad), None, "{bad:?}");
        }
    }
}
