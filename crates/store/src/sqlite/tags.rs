//! SQL for the `key_tags` table: one row per (key, tag key).

use rusqlite::{Connection, Row};

use super::error::SqlResultExt;
use super::keys;
use crate::{StoreError, StoreResult, TagRecord};

/// Inserts or replaces tags by tag key. `NotFound` if the key is absent, even for no tags.
pub(super) fn put(conn: &Connection, key_id: &str, tags: &[TagRecord]) -> StoreResult<()> {
    if !keys::exists(conn, key_id)? {
        return Err(StoreError::NotFound);
    }
    let mut upsert = conn
        .prepare_cached(
            "INSERT INTO key_tags (key_id, tag_key, tag_value) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
        )
        .db()?;
    for tag in tags {
        upsert
            .execute([key_id, &tag.tag_key, &tag.tag_value])
            .db()?;
    }
    Ok(())
}

/// Removes these tag keys from a key; absent ones are ignored.
pub(super) fn delete(conn: &Connection, key_id: &str, tag_keys: &[String]) -> StoreResult<()> {
    let mut delete = conn
        .prepare_cached("DELETE FROM key_tags WHERE key_id = ?1 AND tag_key = ?2")
        .db()?;
    for tag_key in tag_keys {
        delete.execute([key_id, tag_key]).db()?;
    }
    Ok(())
}

/// A key's tags by tag key.
pub(super) fn list(conn: &Connection, key_id: &str) -> StoreResult<Vec<TagRecord>> {
    conn.prepare_cached(
        "SELECT tag_key, tag_value FROM key_tags WHERE key_id = ?1 ORDER BY tag_key",
    )
    .db()?
    .query_map([key_id], from_row)
    .db()?
    .collect::<rusqlite::Result<Vec<_>>>()
    .db()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<TagRecord> {
    Ok(TagRecord {
        tag_key: row.get(0)?,
        tag_value: row.get(1)?,
    })
}
