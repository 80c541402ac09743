//! SQL for the `key_tags` table: one row per (key, tag key), as in the SQLite backend.
//!
//! [`put`] must say `NotFound` for an absent key even when given no tags, so it reads the key
//! row first; under READ COMMITTED it locks it (`FOR KEY SHARE`) so the key cannot be destroyed
//! between that check and the upsert. Tag resources are listed by keyset paging on the
//! table's primary key.

use std::collections::BTreeMap;

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use super::error::PgResultExt;
use super::keys;
use super::sql::{Conditions, col};
use crate::{KeyTag, StoreResult, TagCursor, TagQuery, TagRecord};

/// Upserts the tags whose keys and values are the arrays `$2` and `$3` (no tag key twice).
const UPSERT: &str = "
INSERT INTO key_tags (key_id, tag_key, tag_value)
SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS t (k, v)
ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = EXCLUDED.tag_value";

const DELETE: &str = "DELETE FROM key_tags WHERE key_id = $1 AND tag_key = ANY($2)";

const LIST: &str = "SELECT tag_key, tag_value FROM key_tags WHERE key_id = $1 ORDER BY tag_key";

/// Inserts or replaces tags by tag key (of a tag key given twice, the last value wins).
/// `NotFound` if the key is absent, even for no tags.
pub(super) async fn put(tx: &Transaction<'_>, key_id: &str, tags: &[TagRecord]) -> StoreResult<()> {
    keys::hold(tx, key_id).await?;
    if tags.is_empty() {
        return Ok(());
    }
    let latest: BTreeMap<&str, &str> = tags
        .iter()
        .map(|t| (t.tag_key.as_str(), t.tag_value.as_str()))
        .collect();
    let (tag_keys, tag_values): (Vec<&str>, Vec<&str>) = latest.into_iter().unzip();
    let stmt = tx.prepare_cached(UPSERT).await.db()?;
    tx.execute(&stmt, &[&key_id, &tag_keys, &tag_values])
        .await
        .db()?;
    Ok(())
}

/// Removes these tag keys from a key; absent ones are ignored.
pub(super) async fn delete(
    tx: &Transaction<'_>,
    key_id: &str,
    tag_keys: &[String],
) -> StoreResult<()> {
    if tag_keys.is_empty() {
        return Ok(());
    }
    let stmt = tx.prepare_cached(DELETE).await.db()?;
    tx.execute(&stmt, &[&key_id, &tag_keys]).await.db()?;
    Ok(())
}

/// A key's tags by tag key.
pub(super) async fn list(c: &impl GenericClient, key_id: &str) -> StoreResult<Vec<TagRecord>> {
    let stmt = c.prepare_cached(LIST).await.db()?;
    c.query(&stmt, &[&key_id])
        .await
        .db()?
        .iter()
        .map(from_row)
        .collect()
}

/// Up to `limit` tags matching `query` after `after`, by key id then tag key. The order is the
/// table's primary key, so each page is a range scan from the cursor.
pub(super) async fn list_resources(
    c: &impl GenericClient,
    query: &TagQuery,
    after: Option<&TagCursor>,
    limit: i64,
) -> StoreResult<Vec<KeyTag>> {
    let mut cond = Conditions::new();
    cond.any_of("t.key_id = ANY({list})", &query.key_ids);
    for m in &query.tags {
        let tag_key = cond.bind(m.tag_key.clone());
        let clause = match &m.tag_value {
            Some(value) => {
                let tag_value = cond.bind(value.clone());
                format!(
                    "EXISTS (SELECT 1 FROM key_tags r WHERE r.key_id = t.key_id \
                     AND r.tag_key = {tag_key} AND r.tag_value = {tag_value})"
                )
            }
            None => format!(
                "EXISTS (SELECT 1 FROM key_tags r WHERE r.key_id = t.key_id \
                 AND r.tag_key = {tag_key})"
            ),
        };
        cond.push(clause);
    }
    cond.any_of(
        "t.tag_key = ANY({list})",
        query.tags.iter().map(|m| m.tag_key.clone()),
    );
    if let Some(cursor) = after {
        let key_id = cond.bind(cursor.key_id.clone());
        let tag_key = cond.bind(cursor.tag_key.clone());
        cond.push(format!("(t.key_id, t.tag_key) > ({key_id}, {tag_key})"));
    }
    let filtered = cond.where_sql();
    let limit = cond.bind(limit);
    let sql = format!(
        "SELECT t.key_id, t.tag_key, t.tag_value FROM key_tags t{filtered} \
         ORDER BY t.key_id, t.tag_key LIMIT {limit}"
    );
    c.query(&sql, &cond.params())
        .await
        .db()?
        .iter()
        .map(|row| {
            Ok(KeyTag {
                key_id: col(row, 0)?,
                tag_key: col(row, 1)?,
                tag_value: col(row, 2)?,
            })
        })
        .collect()
}

fn from_row(row: &Row) -> StoreResult<TagRecord> {
    Ok(TagRecord {
        tag_key: col(row, 0)?,
        tag_value: col(row, 1)?,
    })
}
