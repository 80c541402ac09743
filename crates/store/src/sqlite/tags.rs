//! SQL for the `key_tags` table: one row per (key, tag key).

use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};

use super::error::SqlResultExt;
use super::keys;
use super::query::Conditions;
use crate::{KeyTag, StoreError, StoreResult, TagCursor, TagQuery, TagRecord};

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

/// Up to `limit` tags matching `query` after `after`, by key id then tag key. The order is the
/// table's primary key, so each page is a range scan from the cursor.
pub(super) fn list_resources(
    conn: &Connection,
    query: &TagQuery,
    after: Option<&TagCursor>,
    limit: i64,
) -> StoreResult<Vec<KeyTag>> {
    let mut c = Conditions::new();
    c.any_of("t.key_id IN ({list})", &query.key_ids);
    for m in &query.tags {
        match &m.tag_value {
            Some(value) => c.push(
                "EXISTS (SELECT 1 FROM key_tags r WHERE r.key_id = t.key_id \
                 AND r.tag_key = ? AND r.tag_value = ?)",
                [Value::Text(m.tag_key.clone()), Value::Text(value.clone())],
            ),
            None => c.push(
                "EXISTS (SELECT 1 FROM key_tags r WHERE r.key_id = t.key_id AND r.tag_key = ?)",
                [Value::Text(m.tag_key.clone())],
            ),
        }
    }
    let wanted: Vec<String> = query.tags.iter().map(|m| m.tag_key.clone()).collect();
    c.any_of("t.tag_key IN ({list})", &wanted);
    if let Some(cursor) = after {
        c.push(
            "(t.key_id, t.tag_key) > (?, ?)",
            [
                Value::Text(cursor.key_id.clone()),
                Value::Text(cursor.tag_key.clone()),
            ],
        );
    }
    let sql = format!(
        "SELECT t.key_id, t.tag_key, t.tag_value FROM key_tags t{} \
         ORDER BY t.key_id, t.tag_key LIMIT ?",
        c.where_sql()
    );
    conn.prepare_cached(&sql)
        .db()?
        .query_map(
            params_from_iter(c.params_with([Value::Integer(limit)])),
            |row| {
                Ok(KeyTag {
                    key_id: row.get(0)?,
                    tag_key: row.get(1)?,
                    tag_value: row.get(2)?,
                })
            },
        )
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
