//! The `access_keys` table: one row per access key (the credential that signs requests), its
//! secret sealed under the root key, indexed by user. As in the SQLite backend's module of the
//! same name, plus the per-user creation ([`create`]) that the SQLite backend keeps with users:
//! it locks the user's row, so concurrent creates for one user (on any node) count each other
//! and the limit holds.

use deadpool_postgres::{GenericClient, Transaction};
use keywarden_core::model::AccessKeyStatus;
use tokio_postgres::Row;

use super::error::{PgResultExt, PgStoreError};
use super::sql;
use crate::{AccessKeyRecord, StoreError, StoreResult};

/// The columns every query reads, in [`from_row`]'s order.
const COLUMNS: &str = "access_key_id, sealed_secret, status, user_name, creation_date";

const PUT: &str = "
INSERT INTO access_keys (access_key_id, sealed_secret, status, user_name, creation_date)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (access_key_id) DO UPDATE SET sealed_secret = EXCLUDED.sealed_secret,
    status = EXCLUDED.status, user_name = EXCLUDED.user_name,
    creation_date = EXCLUDED.creation_date";

const INSERT: &str = "
INSERT INTO access_keys (access_key_id, sealed_secret, status, user_name, creation_date)
VALUES ($1, $2, $3, $4, $5)";

/// Inserts or replaces an access key (one statement).
pub(super) async fn put(tx: &Transaction<'_>, key: &AccessKeyRecord) -> StoreResult<()> {
    write(tx, PUT, key).await
}

/// Runs `sql` (an insert of [`COLUMNS`]) with `key`'s values.
async fn write(tx: &Transaction<'_>, sql: &str, key: &AccessKeyRecord) -> StoreResult<()> {
    let stmt = tx.prepare_cached(sql).await.db()?;
    tx.execute(
        &stmt,
        &[
            &key.access_key_id,
            &key.sealed_secret,
            &key.status.as_str(),
            &key.user_name,
            &key.creation_date,
        ],
    )
    .await
    .db()?;
    Ok(())
}

/// The access key with this id.
pub(super) async fn get(
    c: &impl GenericClient,
    access_key_id: &str,
) -> StoreResult<Option<AccessKeyRecord>> {
    sql::one(
        c,
        &format!("SELECT {COLUMNS} FROM access_keys WHERE access_key_id = $1"),
        &[&access_key_id],
        from_row,
    )
    .await
}

/// Inserts an access key for an existing user holding fewer than `max_per_user` keys.
///
/// The user's row is locked (`FOR UPDATE`) first, so of concurrent creates for one user each
/// counts the keys of those committed before it, and a concurrent rename or delete of the user
/// either waits for this one or makes it find no user (`NotFound`). `AlreadyExists` if the id
/// is taken (checked before the limit, as in SQLite), `LimitExceeded` at the limit.
pub(super) async fn create(
    tx: &Transaction<'_>,
    key: &AccessKeyRecord,
    max_per_user: i64,
) -> StoreResult<()> {
    let lock = tx
        .prepare_cached("SELECT 1 FROM ram_users WHERE user_name = $1 FOR UPDATE")
        .await
        .db()?;
    if tx.query_opt(&lock, &[&key.user_name]).await.db()?.is_none() {
        return Err(StoreError::NotFound);
    }
    if get(tx, &key.access_key_id).await?.is_some() {
        return Err(StoreError::AlreadyExists);
    }
    let held = tx
        .prepare_cached("SELECT COUNT(*) FROM access_keys WHERE user_name = $1")
        .await
        .db()?;
    let held: i64 = tx
        .query_one(&held, &[&key.user_name])
        .await
        .db()?
        .try_get(0)
        .db()?;
    if held >= max_per_user {
        return Err(StoreError::LimitExceeded);
    }
    // A plain insert: an id taken meanwhile by a concurrent `put` is `AlreadyExists`.
    write(tx, INSERT, key).await
}

/// A user's access keys, oldest first.
pub(super) async fn list_by_user(
    c: &impl GenericClient,
    user_name: &str,
) -> StoreResult<Vec<AccessKeyRecord>> {
    sql::all(
        c,
        &format!(
            "SELECT {COLUMNS} FROM access_keys WHERE user_name = $1 \
             ORDER BY creation_date, access_key_id"
        ),
        &[&user_name],
        from_row,
    )
    .await
}

/// Sets an access key's status; `NotFound` if absent.
pub(super) async fn set_status(
    tx: &Transaction<'_>,
    access_key_id: &str,
    status: AccessKeyStatus,
) -> StoreResult<()> {
    let stmt = tx
        .prepare_cached("UPDATE access_keys SET status = $2 WHERE access_key_id = $1")
        .await
        .db()?;
    let changed = tx
        .execute(&stmt, &[&access_key_id, &status.as_str()])
        .await
        .db()?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes an access key; `NotFound` if absent.
pub(super) async fn delete(tx: &Transaction<'_>, access_key_id: &str) -> StoreResult<()> {
    let stmt = tx
        .prepare_cached("DELETE FROM access_keys WHERE access_key_id = $1")
        .await
        .db()?;
    if tx.execute(&stmt, &[&access_key_id]).await.db()? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// An access key from a row of [`COLUMNS`]; a status naming no value is `UnknownWireValue`.
fn from_row(row: &Row) -> StoreResult<AccessKeyRecord> {
    let access_key_id: String = row.try_get(0).db()?;
    let status: String = row.try_get(2).db()?;
    let Ok(parsed) = status.parse::<AccessKeyStatus>() else {
        return Err(PgStoreError::UnknownWireValue {
            table: "access_keys",
            id: access_key_id,
            column: "status",
            value: status,
        }
        .into());
    };
    Ok(AccessKeyRecord {
        sealed_secret: row.try_get(1).db()?,
        status: parsed,
        user_name: row.try_get(3).db()?,
        creation_date: row.try_get(4).db()?,
        access_key_id,
    })
}
