//! SQL for the `key_versions` table: one row per version of a key's material.
//!
//! Each row carries `seq`, its 1-based position among its key's versions in the order they
//! were added (schema V2). Versions are only ever deleted all together (when their key is
//! destroyed), so `seq` runs 1..=n without gaps: a page is an index seek from `seq > offset`
//! and the count is `MAX(seq)`, both independent of how many versions a key has.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::error::SqlResultExt;
use super::limit_offset;
use crate::{Page, Paged, StoreResult, VersionRecord};

/// Inserts a version as its key's newest. A taken version id is `AlreadyExists`, an absent key
/// `NotFound` (through the foreign key). Runs in the writer's transaction, so the `seq` it
/// takes cannot be taken concurrently.
pub(super) fn insert(conn: &Connection, version: &VersionRecord) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO key_versions (version_id, key_id, creation_date, sealed_material, seq) \
         VALUES (?1, ?2, ?3, ?4, \
                 (SELECT COALESCE(MAX(seq), 0) + 1 FROM key_versions WHERE key_id = ?2))",
    )
    .db()?
    .execute(params![
        version.version_id,
        version.key_id,
        version.creation_date,
        version.sealed_material,
    ])
    .db()?;
    Ok(())
}

/// The version with this id, whatever its key.
pub(super) fn get(conn: &Connection, version_id: &str) -> StoreResult<Option<VersionRecord>> {
    conn.prepare_cached(
        "SELECT key_id, version_id, creation_date, sealed_material \
         FROM key_versions WHERE version_id = ?1",
    )
    .db()?
    .query_row([version_id], from_row)
    .optional()
    .db()
}

/// A page of a key's versions in the order they were added, and the key's number of versions.
pub(super) fn list(
    conn: &Connection,
    key_id: &str,
    page: Page,
) -> StoreResult<Paged<VersionRecord>> {
    let (limit, offset) = limit_offset(page);
    let items = conn
        .prepare_cached(
            "SELECT key_id, version_id, creation_date, sealed_material FROM key_versions \
             WHERE key_id = ?1 AND seq > ?3 ORDER BY seq LIMIT ?2",
        )
        .db()?
        .query_map(params![key_id, limit, offset], from_row)
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    let count: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM key_versions WHERE key_id = ?1")
        .db()?
        .query_row([key_id], |row| row.get(0))
        .db()?;
    Ok(Paged {
        items,
        total: u64::try_from(count).unwrap_or(0),
    })
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<VersionRecord> {
    Ok(VersionRecord {
        key_id: row.get(0)?,
        version_id: row.get(1)?,
        creation_date: row.get(2)?,
        sealed_material: row.get(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paging and counting seek the `(key_id, seq)` index; nothing walks a key's versions.
    #[test]
    fn listing_seeks_the_seq_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        for sql in [
            "SELECT version_id FROM key_versions WHERE key_id = ?1 AND seq > ?2 ORDER BY seq LIMIT 10",
            "SELECT COALESCE(MAX(seq), 0) FROM key_versions WHERE key_id = ?1 AND ?2 = ?2",
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(params!["k", 5], |row| row.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let seeks = plan
                .iter()
                .any(|s| s.contains("key_versions_by_seq") && s.contains("SEARCH"));
            assert!(seeks, "{sql}: {plan:?}");
            assert!(
                !plan.iter().any(|s| s.contains("TEMP B-TREE")),
                "{sql} sorts: {plan:?}"
            );
        }
    }
}
