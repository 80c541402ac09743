//! The `ram_users` table (one row per RAM user), and what follows a user's name: a rename moves
//! the user's access keys and attachments in the same transaction, a delete is refused while
//! either remains. As the SQLite backend's module of the same name; where SQLite relied on its
//! single writer, the user's row is locked (`FOR UPDATE`).

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use super::error::PgResultExt;
use super::sql;
use crate::{PRINCIPAL_USER, StoreError, StoreResult, UserRecord};

/// The columns every query reads, in [`from_row`]'s order.
const COLUMNS: &str = "user_name, user_id, display_name, mobile_phone, email, comments, \
                       create_date, update_date";

/// Creates a user; a taken name or id is `AlreadyExists` (the constraints).
pub(super) async fn create(tx: &Transaction<'_>, user: &UserRecord) -> StoreResult<()> {
    let stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO ram_users ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .await
        .db()?;
    tx.execute(
        &stmt,
        &[
            &user.user_name,
            &user.user_id,
            &user.display_name,
            &user.mobile_phone,
            &user.email,
            &user.comments,
            &user.create_date,
            &user.update_date,
        ],
    )
    .await
    .db()?;
    Ok(())
}

/// The user with this name.
pub(super) async fn get(
    c: &impl GenericClient,
    user_name: &str,
) -> StoreResult<Option<UserRecord>> {
    sql::one(
        c,
        &format!("SELECT {COLUMNS} FROM ram_users WHERE user_name = $1"),
        &[&user_name],
        from_row,
    )
    .await
}

/// Up to `limit` users by name after `after` (keyset paging).
pub(super) async fn list(
    c: &impl GenericClient,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<UserRecord>> {
    sql::all(
        c,
        &format!(
            "SELECT {COLUMNS} FROM ram_users WHERE $1::text IS NULL OR user_name > $1 \
             ORDER BY user_name LIMIT $2"
        ),
        &[&after, &limit],
        from_row,
    )
    .await
}

/// Replaces the row of `user_name` with `user`; `NotFound` if absent, `AlreadyExists` if a
/// new name or id is taken. A rename moves the user's access keys and attachments along, in
/// the same transaction. Returns the ids of the access keys moved to the new name (empty
/// without a rename).
///
/// The update locks the user's row first, so a concurrent `access_keys::create` for the old
/// name either committed before (its key is moved) or waits and then finds no user.
pub(super) async fn update(
    tx: &Transaction<'_>,
    user_name: &str,
    user: &UserRecord,
) -> StoreResult<Vec<String>> {
    let stmt = tx
        .prepare_cached(
            "UPDATE ram_users SET user_name = $2, user_id = $3, display_name = $4, \
             mobile_phone = $5, email = $6, comments = $7, create_date = $8, update_date = $9 \
             WHERE user_name = $1",
        )
        .await
        .db()?;
    let changed = tx
        .execute(
            &stmt,
            &[
                &user_name,
                &user.user_name,
                &user.user_id,
                &user.display_name,
                &user.mobile_phone,
                &user.email,
                &user.comments,
                &user.create_date,
                &user.update_date,
            ],
        )
        .await
        .db()?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    if user.user_name == user_name {
        return Ok(Vec::new());
    }
    rename_dependents(tx, user_name, &user.user_name).await
}

/// Moves the access keys and attachments of `from` to `to`; returns the moved keys' ids.
async fn rename_dependents(tx: &Transaction<'_>, from: &str, to: &str) -> StoreResult<Vec<String>> {
    let keys = tx
        .prepare_cached(
            "UPDATE access_keys SET user_name = $2 WHERE user_name = $1 RETURNING access_key_id",
        )
        .await
        .db()?;
    let moved = tx
        .query(&keys, &[&from, &to])
        .await
        .db()?
        .iter()
        .map(|row| row.try_get(0).db())
        .collect::<StoreResult<Vec<String>>>()?;
    let attachments = tx
        .prepare_cached(
            "UPDATE ram_attachments SET principal_name = $3 \
             WHERE principal_type = $1 AND principal_name = $2",
        )
        .await
        .db()?;
    tx.execute(&attachments, &[&PRINCIPAL_USER, &from, &to])
        .await
        .db()?;
    Ok(moved)
}

/// Deletes a user without access keys or attachments: `NotFound` if absent, `Conflict` (and
/// nothing changed) while it has either. The user's row is locked first, so a concurrent
/// access key creation or attachment (which lock it too) is either seen or finds no user.
pub(super) async fn delete(tx: &Transaction<'_>, user_name: &str) -> StoreResult<()> {
    let lock = tx
        .prepare_cached("SELECT 1 FROM ram_users WHERE user_name = $1 FOR UPDATE")
        .await
        .db()?;
    if tx.query_opt(&lock, &[&user_name]).await.db()?.is_none() {
        return Err(StoreError::NotFound);
    }
    let in_use = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM access_keys WHERE user_name = $1) \
             OR EXISTS (SELECT 1 FROM ram_attachments \
                        WHERE principal_type = $2 AND principal_name = $1)",
        )
        .await
        .db()?;
    let in_use: bool = tx
        .query_one(&in_use, &[&user_name, &PRINCIPAL_USER])
        .await
        .db()?
        .try_get(0)
        .db()?;
    if in_use {
        return Err(StoreError::Conflict);
    }
    let stmt = tx
        .prepare_cached("DELETE FROM ram_users WHERE user_name = $1")
        .await
        .db()?;
    tx.execute(&stmt, &[&user_name]).await.db()?;
    Ok(())
}

/// A user from a row of [`COLUMNS`].
fn from_row(row: &Row) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        user_name: row.try_get(0).db()?,
        user_id: row.try_get(1).db()?,
        display_name: row.try_get(2).db()?,
        mobile_phone: row.try_get(3).db()?,
        email: row.try_get(4).db()?,
        comments: row.try_get(5).db()?,
        create_date: row.try_get(6).db()?,
        update_date: row.try_get(7).db()?,
    })
}
