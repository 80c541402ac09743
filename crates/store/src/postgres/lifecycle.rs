//! SQL for the lifecycle of keys: rotation (a version and the key row that names it, in one
//! transaction), destruction (crypto-shredding), and finding due work for the scheduler.
//!
//! Rotation and destruction run in the caller's transaction. PostgreSQL runs it in READ
//! COMMITTED, so what SQLite got from its single writer comes from row locks here: rotation's
//! compare-and-set `UPDATE` locks the key row before the version is numbered, and destruction
//! locks the key row `FOR UPDATE` before it compares the revision and deletes anything, so of
//! several callers holding the same revision exactly one rotates or destroys the key, and the
//! others see `Conflict` (rotation) or `NotFound`/`Conflict` (destruction).

use deadpool_postgres::{GenericClient, Transaction};

use super::error::{PgResultExt, PgStoreError};
use super::keys::{self, SELECT_KEYS};
use super::sql::col;
use super::versions;
use crate::{KeyRecord, StoreError, StoreResult, VersionRecord};

/// Due deletions; the literal matches the partial index `keys_due_deletion`.
const DUE_DELETIONS: &str = " WHERE state = 'PendingDeletion' AND delete_date <= $1 \
     ORDER BY delete_date, key_id LIMIT $2";

/// Due rotations; the literals match the partial index `keys_due_rotation`.
const DUE_ROTATIONS: &str = " WHERE automatic_rotation = 'Enabled' AND state = 'Enabled' \
     AND next_rotation_date <= $1 ORDER BY next_rotation_date, key_id LIMIT $2";

/// Locks the key row to destroy and reads its revision.
const LOCK_KEY: &str = "SELECT revision FROM keys WHERE key_id = $1 FOR UPDATE";

/// Deletes the key's aliases, returning their names (for the caller to announce).
const DELETE_ALIASES: &str = "DELETE FROM aliases WHERE key_id = $1 RETURNING alias_name";

/// The rest of a destroyed key: its other rows, then the key row itself.
const DELETE_REST: [&str; 4] = [
    "DELETE FROM key_versions WHERE key_id = $1",
    "DELETE FROM key_tags WHERE key_id = $1",
    "DELETE FROM key_policies WHERE key_id = $1",
    "DELETE FROM keys WHERE key_id = $1",
];

/// Compare-and-set of the key row, then the new version. Any failure leaves the caller's
/// transaction to roll both back.
pub(super) async fn rotate(
    tx: &Transaction<'_>,
    key: &KeyRecord,
    version: &VersionRecord,
) -> StoreResult<()> {
    if version.key_id != key.key_id {
        return Err(PgStoreError::VersionOfOtherKey {
            key_id: key.key_id.clone(),
            version_id: version.version_id.clone(),
            version_key_id: version.key_id.clone(),
        }
        .into());
    }
    keys::update(tx, key).await?;
    versions::insert(tx, version).await
}

/// Deletes the key row if its revision is `expected`, with its versions, aliases, tags and
/// policy, and returns the names of the aliases it had. `NotFound` if the key is absent,
/// `Conflict` if its revision moved on; then nothing was deleted.
pub(super) async fn destroy(
    tx: &Transaction<'_>,
    key_id: &str,
    expected_revision: i64,
) -> StoreResult<Vec<String>> {
    let lock = tx.prepare_cached(LOCK_KEY).await.db()?;
    let revision: i64 = match tx.query_opt(&lock, &[&key_id]).await.db()? {
        Some(row) => col(&row, 0)?,
        None => return Err(StoreError::NotFound),
    };
    if revision != expected_revision {
        return Err(StoreError::Conflict);
    }
    let stmt = tx.prepare_cached(DELETE_ALIASES).await.db()?;
    let aliases = tx
        .query(&stmt, &[&key_id])
        .await
        .db()?
        .iter()
        .map(|row| col(row, 0))
        .collect::<StoreResult<Vec<String>>>()?;
    // The foreign keys cascade too; explicit deletes keep the intent visible.
    for sql in DELETE_REST {
        let stmt = tx.prepare_cached(sql).await.db()?;
        tx.execute(&stmt, &[&key_id]).await.db()?;
    }
    Ok(aliases)
}

/// Keys pending deletion whose date has come, soonest first.
pub(super) async fn due_deletions(
    c: &impl GenericClient,
    now: i64,
    limit: i64,
) -> StoreResult<Vec<KeyRecord>> {
    due(c, DUE_DELETIONS, now, limit).await
}

/// Enabled keys whose automatic rotation is due, soonest first.
pub(super) async fn due_rotations(
    c: &impl GenericClient,
    now: i64,
    limit: i64,
) -> StoreResult<Vec<KeyRecord>> {
    due(c, DUE_ROTATIONS, now, limit).await
}

/// The keys `SELECT_KEYS` followed by `tail` (taking `$1` now, `$2` the limit) returns.
async fn due(
    c: &impl GenericClient,
    tail: &str,
    now: i64,
    limit: i64,
) -> StoreResult<Vec<KeyRecord>> {
    let stmt = c
        .prepare_cached(&format!("{SELECT_KEYS}{tail}"))
        .await
        .db()?;
    keys::select(c, &stmt, &[&now, &limit]).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::postgres::testing::TestDatabase;
    use crate::postgres::{PgOptions, PgStore};

    /// The due-work queries can use their partial indexes (the planner is told to avoid
    /// sequential scans, as it would on a large table): their literals match the indexes'.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn due_queries_use_their_indexes() {
        let db = TestDatabase::create().await.unwrap();
        let store = PgStore::connect(db.url(), PgOptions::default())
            .await
            .unwrap();
        let mut conn = store.conn().await.unwrap();
        let tx = conn.transaction().await.unwrap();
        tx.batch_execute("SET LOCAL enable_seqscan = off")
            .await
            .unwrap();
        for (tail, index) in [
            (DUE_DELETIONS, "keys_due_deletion"),
            (DUE_ROTATIONS, "keys_due_rotation"),
        ] {
            let sql = format!("EXPLAIN {SELECT_KEYS}{tail}");
            let plan: Vec<String> = tx
                .query(&sql, &[&0_i64, &10_i64])
                .await
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect();
            assert!(
                plan.iter().any(|step| step.contains(index)),
                "{index} not used: {plan:?}"
            );
        }
    }
}
