//! SQL for the `key_policies` table (schema V7): one row per key with a policy of its own.

use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::error::SqlResultExt;
use super::keys;
use crate::{KeyPolicyRecord, StoreError, StoreResult};

/// Most ids one `IN (...)` list carries (below SQLite's parameter limit).
const CHUNK: usize = 500;

/// Inserts or replaces a key's policy. `NotFound` if the key is absent.
pub(super) fn put(conn: &Connection, policy: &KeyPolicyRecord) -> StoreResult<()> {
    if !keys::exists(conn, &policy.key_id)? {
        return Err(StoreError::NotFound);
    }
    conn.prepare_cached(
        "INSERT INTO key_policies (key_id, document, update_date) VALUES (?1, ?2, ?3) \
         ON CONFLICT (key_id) DO UPDATE SET document = excluded.document, \
         update_date = excluded.update_date",
    )
    .db()?
    .execute(params![policy.key_id, policy.document, policy.update_date])
    .db()?;
    Ok(())
}

/// A key's policy, if it has one.
pub(super) fn get(conn: &Connection, key_id: &str) -> StoreResult<Option<KeyPolicyRecord>> {
    conn.prepare_cached("SELECT key_id, document, update_date FROM key_policies WHERE key_id = ?1")
        .db()?
        .query_row([key_id], from_row)
        .optional()
        .db()
}

/// The policies of those of `key_ids` that have one.
pub(super) fn get_many(conn: &Connection, key_ids: &[String]) -> StoreResult<Vec<KeyPolicyRecord>> {
    let mut out = Vec::new();
    for chunk in key_ids.chunks(CHUNK) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT key_id, document, update_date FROM key_policies WHERE key_id IN ({marks})"
        );
        let rows = conn
            .prepare(&sql)
            .db()?
            .query_map(params_from_iter(chunk), from_row)
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()?;
        out.extend(rows);
    }
    Ok(out)
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<KeyPolicyRecord> {
    Ok(KeyPolicyRecord {
        key_id: row.get(0)?,
        document: row.get(1)?,
        update_date: row.get(2)?,
    })
}
