//! SQL for the lifecycle of keys: rotation (a version and the key row that names it, in one
//! transaction), destruction (crypto-shredding), and finding due work for the scheduler.
//!
//! Every function here runs inside the caller's immediate transaction (see `pool`), which
//! SQLite serializes across connections and processes. The compare-and-set on `revision` then
//! guarantees that of two callers holding the same revision exactly one changes the row.

use rusqlite::Connection;
use rusqlite::types::Value;

use super::error::{SqlResultExt, SqliteStoreError};
use super::keys::{self, SELECT_KEYS};
use super::versions;
use crate::{KeyRecord, StoreError, StoreResult, VersionRecord};

/// Due deletions; the literal matches the partial index `keys_due_deletion` (schema V2).
const DUE_DELETIONS: &str = " WHERE state = 'PendingDeletion' AND delete_date <= ?1 \
     ORDER BY delete_date, key_id LIMIT ?2";

/// Due rotations; the literals match the partial index `keys_due_rotation` (schema V2).
const DUE_ROTATIONS: &str = " WHERE automatic_rotation = 'Enabled' AND state = 'Enabled' \
     AND next_rotation_date <= ?1 ORDER BY next_rotation_date, key_id LIMIT ?2";

/// Compare-and-set of the key row, then the new version. Any failure rolls both back.
pub(super) fn rotate(
    conn: &Connection,
    key: &KeyRecord,
    version: &VersionRecord,
) -> StoreResult<()> {
    if version.key_id != key.key_id {
        return Err(SqliteStoreError::VersionOfOtherKey {
            key_id: key.key_id.clone(),
            version_id: version.version_id.clone(),
            version_key_id: version.key_id.clone(),
        }
        .into());
    }
    keys::update(conn, key)?;
    versions::insert(conn, version)
}

/// Deletes the key row if its revision is `expected`, then its versions, aliases and tags.
/// The row goes first so that `NotFound` and `Conflict` leave everything untouched.
pub(super) fn destroy(conn: &Connection, key_id: &str, expected: i64) -> StoreResult<()> {
    let removed = conn
        .prepare_cached("DELETE FROM keys WHERE key_id = ?1 AND revision = ?2")
        .db()?
        .execute(rusqlite::params![key_id, expected])
        .db()?;
    if removed == 0 {
        return Err(if keys::exists(conn, key_id)? {
            StoreError::Conflict
        } else {
            StoreError::NotFound
        });
    }
    // The foreign keys cascade too; explicit deletes keep the intent visible and do not depend
    // on `foreign_keys = ON`.
    for sql in [
        "DELETE FROM key_versions WHERE key_id = ?1",
        "DELETE FROM aliases WHERE key_id = ?1",
        "DELETE FROM key_tags WHERE key_id = ?1",
        "DELETE FROM key_policies WHERE key_id = ?1",
    ] {
        conn.prepare_cached(sql).db()?.execute([key_id]).db()?;
    }
    Ok(())
}

/// Keys pending deletion whose date has come, soonest first.
pub(super) fn due_deletions(
    conn: &Connection,
    now: i64,
    limit: i64,
) -> StoreResult<Vec<KeyRecord>> {
    let sql = format!("{SELECT_KEYS}{DUE_DELETIONS}");
    keys::select(conn, &sql, vec![Value::Integer(now), Value::Integer(limit)])
}

/// Enabled keys whose automatic rotation is due, soonest first.
pub(super) fn due_rotations(
    conn: &Connection,
    now: i64,
    limit: i64,
) -> StoreResult<Vec<KeyRecord>> {
    let sql = format!("{SELECT_KEYS}{DUE_ROTATIONS}");
    keys::select(conn, &sql, vec![Value::Integer(now), Value::Integer(limit)])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The due-work queries use their partial indexes instead of scanning `keys`.
    #[test]
    fn due_queries_use_their_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        for (tail, index) in [
            (DUE_DELETIONS, "keys_due_deletion"),
            (DUE_ROTATIONS, "keys_due_rotation"),
        ] {
            let sql = format!("EXPLAIN QUERY PLAN {SELECT_KEYS}{tail}");
            let plan: Vec<String> = conn
                .prepare(&sql)
                .unwrap()
                .query_map([0, 10], |row| row.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                plan.iter().any(|step| step.contains(index)),
                "{index} not used: {plan:?}"
            );
        }
    }
}
