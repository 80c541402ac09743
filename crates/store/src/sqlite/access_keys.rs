//! SQL for the `access_keys` table: one row per access key.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::error::SqlResultExt;
use crate::{AccessKeyRecord, StoreResult};

/// Inserts or replaces an access key.
pub(super) fn put(conn: &Connection, key: &AccessKeyRecord) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO access_keys (access_key_id, sealed_secret, status, user_name, creation_date) \
         VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (access_key_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, \
         status = excluded.status, user_name = excluded.user_name, \
         creation_date = excluded.creation_date",
    )
    .db()?
    .execute(params![
        key.access_key_id,
        key.sealed_secret,
        key.status,
        key.user_name,
        key.creation_date,
    ])
    .db()?;
    Ok(())
}

/// The access key with this id.
pub(super) fn get(conn: &Connection, access_key_id: &str) -> StoreResult<Option<AccessKeyRecord>> {
    conn.prepare_cached(
        "SELECT access_key_id, sealed_secret, status, user_name, creation_date \
         FROM access_keys WHERE access_key_id = ?1",
    )
    .db()?
    .query_row([access_key_id], from_row)
    .optional()
    .db()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<AccessKeyRecord> {
    Ok(AccessKeyRecord {
        access_key_id: row.get(0)?,
        sealed_secret: row.get(1)?,
        status: row.get(2)?,
        user_name: row.get(3)?,
        creation_date: row.get(4)?,
    })
}
