//! SQL for the `key_versions` table: one row per version of a key's material.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::error::SqlResultExt;
use super::{count_total, limit_offset};
use crate::{Page, Paged, StoreResult, VersionRecord};

/// Inserts a version. A taken version id is `AlreadyExists`, an absent key `NotFound` (through
/// the foreign key).
pub(super) fn insert(conn: &Connection, version: &VersionRecord) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO key_versions (version_id, key_id, creation_date, sealed_material) \
         VALUES (?1, ?2, ?3, ?4)",
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

/// A page of a key's versions by creation date then id, and the key's number of versions.
pub(super) fn list(
    conn: &Connection,
    key_id: &str,
    page: Page,
) -> StoreResult<Paged<VersionRecord>> {
    let (limit, offset) = limit_offset(page);
    let items = conn
        .prepare_cached(
            "SELECT key_id, version_id, creation_date, sealed_material FROM key_versions \
             WHERE key_id = ?1 ORDER BY creation_date, version_id LIMIT ?2 OFFSET ?3",
        )
        .db()?
        .query_map(params![key_id, limit, offset], from_row)
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    let total = count_total(
        conn,
        "SELECT COUNT(*) FROM key_versions WHERE key_id = ?1",
        [key_id],
    )?;
    Ok(Paged { items, total })
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<VersionRecord> {
    Ok(VersionRecord {
        key_id: row.get(0)?,
        version_id: row.get(1)?,
        creation_date: row.get(2)?,
        sealed_material: row.get(3)?,
    })
}
