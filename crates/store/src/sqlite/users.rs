//! SQL for `ram_users` (one row per user) and the per-user side of `access_keys`.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::access_keys;
use super::error::SqlResultExt;
use crate::{AccessKeyRecord, PRINCIPAL_USER, StoreError, StoreResult, UserRecord};

const COLUMNS: &str = "user_name, user_id, display_name, mobile_phone, email, comments, \
                       create_date, update_date";

/// Creates a user; a taken name or id is `AlreadyExists`.
pub(super) fn insert(conn: &Connection, user: &UserRecord) -> StoreResult<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO ram_users ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))
    .db()?
    .execute(params![
        user.user_name,
        user.user_id,
        user.display_name,
        user.mobile_phone,
        user.email,
        user.comments,
        user.create_date,
        user.update_date,
    ])
    .db()?;
    Ok(())
}

/// The user with this name.
pub(super) fn get(conn: &Connection, user_name: &str) -> StoreResult<Option<UserRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM ram_users WHERE user_name = ?1"
    ))
    .db()?
    .query_row([user_name], from_row)
    .optional()
    .db()
}

/// Up to `limit` users by name after `after`.
pub(super) fn list(
    conn: &Connection,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<UserRecord>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM ram_users WHERE ?1 IS NULL OR user_name > ?1 \
             ORDER BY user_name LIMIT ?2"
        ))
        .db()?;
    let rows = stmt.query_map(params![after, limit], from_row).db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

/// Replaces the row of `user_name`; a rename moves access keys and attachments along.
pub(super) fn update(conn: &Connection, user_name: &str, user: &UserRecord) -> StoreResult<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE ram_users SET user_name = ?2, user_id = ?3, display_name = ?4, \
             mobile_phone = ?5, email = ?6, comments = ?7, create_date = ?8, update_date = ?9 \
             WHERE user_name = ?1",
        )
        .db()?
        .execute(params![
            user_name,
            user.user_name,
            user.user_id,
            user.display_name,
            user.mobile_phone,
            user.email,
            user.comments,
            user.create_date,
            user.update_date,
        ])
        .db()?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    if user.user_name != user_name {
        conn.prepare_cached("UPDATE access_keys SET user_name = ?2 WHERE user_name = ?1")
            .db()?
            .execute([user_name, &user.user_name])
            .db()?;
        conn.prepare_cached(
            "UPDATE ram_attachments SET principal_name = ?3 \
             WHERE principal_type = ?1 AND principal_name = ?2",
        )
        .db()?
        .execute([PRINCIPAL_USER, user_name, &user.user_name])
        .db()?;
    }
    Ok(())
}

/// Deletes a user without access keys or attachments.
pub(super) fn delete(conn: &Connection, user_name: &str) -> StoreResult<()> {
    if get(conn, user_name)?.is_none() {
        return Err(StoreError::NotFound);
    }
    let in_use: i64 = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM access_keys WHERE user_name = ?1) \
             OR EXISTS (SELECT 1 FROM ram_attachments \
                        WHERE principal_type = ?2 AND principal_name = ?1)",
        )
        .db()?
        .query_row([user_name, PRINCIPAL_USER], |r| r.get(0))
        .db()?;
    if in_use != 0 {
        return Err(StoreError::Conflict);
    }
    conn.prepare_cached("DELETE FROM ram_users WHERE user_name = ?1")
        .db()?
        .execute([user_name])
        .db()?;
    Ok(())
}

/// Inserts an access key for an existing user below the per-user limit.
pub(super) fn create_access_key(
    conn: &Connection,
    key: &AccessKeyRecord,
    max_per_user: u64,
) -> StoreResult<()> {
    if get(conn, &key.user_name)?.is_none() {
        return Err(StoreError::NotFound);
    }
    if access_keys::get(conn, &key.access_key_id)?.is_some() {
        return Err(StoreError::AlreadyExists);
    }
    let held = access_keys::list_of_user(conn, &key.user_name)?.len() as u64;
    if held >= max_per_user {
        return Err(StoreError::LimitExceeded);
    }
    access_keys::put(conn, key)
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        user_name: row.get(0)?,
        user_id: row.get(1)?,
        display_name: row.get(2)?,
        mobile_phone: row.get(3)?,
        email: row.get(4)?,
        comments: row.get(5)?,
        create_date: row.get(6)?,
        update_date: row.get(7)?,
    })
}
