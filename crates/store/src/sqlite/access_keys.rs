//! SQL for the `access_keys` table: one row per access key, indexed by user (schema V3).

use keywarden_core::model::AccessKeyStatus;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::error::SqlResultExt;
use crate::{AccessKeyRecord, StoreError, StoreResult};

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
        key.status.as_str(),
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
    let access_key_id: String = row.get(0)?;
    Ok(AccessKeyRecord {
        sealed_secret: row.get(1)?,
        status: super::keys::parse(row, 2, "status", &access_key_id)?,
        access_key_id,
        user_name: row.get(3)?,
        creation_date: row.get(4)?,
    })
}

/// A user's access keys, oldest first.
pub(super) fn list_of_user(
    conn: &Connection,
    user_name: &str,
) -> StoreResult<Vec<AccessKeyRecord>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT access_key_id, sealed_secret, status, user_name, creation_date \
             FROM access_keys WHERE user_name = ?1 ORDER BY creation_date, access_key_id",
        )
        .db()?;
    let rows = stmt.query_map([user_name], from_row).db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

/// Sets an access key's status; `NotFound` if absent.
pub(super) fn set_status(
    conn: &Connection,
    access_key_id: &str,
    status: AccessKeyStatus,
) -> StoreResult<()> {
    let changed = conn
        .prepare_cached("UPDATE access_keys SET status = ?2 WHERE access_key_id = ?1")
        .db()?
        .execute([access_key_id, status.as_str()])
        .db()?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes an access key; `NotFound` if absent.
pub(super) fn delete(conn: &Connection, access_key_id: &str) -> StoreResult<()> {
    let changed = conn
        .prepare_cached("DELETE FROM access_keys WHERE access_key_id = ?1")
        .db()?
        .execute([access_key_id])
        .db()?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
