//! SQL for the `aliases` table: one row per alias name (as in the SQLite backend).
//!
//! Repointing and deleting are compare-and-set on the key the alias names, each one
//! statement: under READ COMMITTED a concurrent change of the same alias waits for the row
//! lock and re-checks the condition on the committed row, so of two callers expecting the same
//! key exactly one changes the alias. When nothing changed, reading the alias tells `NotFound`
//! from `Conflict`.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::error::PgResultExt;
use super::sql::{self, col};
use super::{count, limit_offset};
use crate::{AliasRecord, Page, Paged, StoreError, StoreResult};

const INSERT: &str = "INSERT INTO aliases (alias_name, key_id, creation_date) VALUES ($1, $2, $3)";

const REPOINT: &str = "UPDATE aliases SET key_id = $2 WHERE alias_name = $1 AND key_id = $3";

const DELETE: &str = "DELETE FROM aliases WHERE alias_name = $1 AND key_id = $2";

const SELECT_ONE: &str =
    "SELECT alias_name, key_id, creation_date FROM aliases WHERE alias_name = $1";

const LIST_ALL: &str = "SELECT alias_name, key_id, creation_date FROM aliases \
                        ORDER BY alias_name LIMIT $1 OFFSET $2";

const COUNT_ALL: &str = "SELECT COUNT(*) FROM aliases";

const LIST_OF_KEY: &str = "SELECT alias_name, key_id, creation_date FROM aliases \
                           WHERE key_id = $1 ORDER BY alias_name LIMIT $2 OFFSET $3";

const COUNT_OF_KEY: &str = "SELECT COUNT(*) FROM aliases WHERE key_id = $1";

/// Creates an alias. A taken name is `AlreadyExists`, an absent key `NotFound` (through the
/// foreign key).
pub(super) async fn insert(tx: &Transaction<'_>, alias: &AliasRecord) -> StoreResult<()> {
    let stmt = tx.prepare_cached(INSERT).await.db()?;
    tx.execute(
        &stmt,
        &[&alias.alias_name, &alias.key_id, &alias.creation_date],
    )
    .await
    .db()?;
    Ok(())
}

/// Points an alias that still names `expected` at `key_id`. `NotFound` if the alias is absent,
/// or the key (through the foreign key); `Conflict` if the alias names another key now.
pub(super) async fn repoint(
    tx: &Transaction<'_>,
    alias_name: &str,
    key_id: &str,
    expected: &str,
) -> StoreResult<()> {
    let stmt = tx.prepare_cached(REPOINT).await.db()?;
    let changed = tx
        .execute(&stmt, &[&alias_name, &key_id, &expected])
        .await
        .db()?;
    compared(tx, alias_name, changed).await
}

/// Deletes an alias that still names `expected`; `NotFound` if absent, `Conflict` if it names
/// another key now.
pub(super) async fn delete(
    tx: &Transaction<'_>,
    alias_name: &str,
    expected: &str,
) -> StoreResult<()> {
    let stmt = tx.prepare_cached(DELETE).await.db()?;
    let changed = tx.execute(&stmt, &[&alias_name, &expected]).await.db()?;
    compared(tx, alias_name, changed).await
}

/// The outcome of a compare-and-set on an alias that changed `changed` rows.
async fn compared(tx: &Transaction<'_>, alias_name: &str, changed: u64) -> StoreResult<()> {
    if changed == 1 {
        return Ok(());
    }
    match get(tx, alias_name).await? {
        Some(_) => Err(StoreError::Conflict),
        None => Err(StoreError::NotFound),
    }
}

/// The alias with this name.
pub(super) async fn get(
    c: &impl GenericClient,
    alias_name: &str,
) -> StoreResult<Option<AliasRecord>> {
    sql::one(c, SELECT_ONE, &[&alias_name], from_row).await
}

/// A page of aliases by name (of one key when `key_id` is given), and their number.
pub(super) async fn list(
    c: &impl GenericClient,
    key_id: Option<&str>,
    page: Page,
) -> StoreResult<Paged<AliasRecord>> {
    let (limit, offset) = limit_offset(page);
    match key_id {
        Some(key_id) => {
            let items = sql::all(c, LIST_OF_KEY, &[&key_id, &limit, &offset], from_row).await?;
            let total = total(c, COUNT_OF_KEY, &[&key_id]).await?;
            Ok(Paged { items, total })
        }
        None => {
            let items = sql::all(c, LIST_ALL, &[&limit, &offset], from_row).await?;
            let total = total(c, COUNT_ALL, &[]).await?;
            Ok(Paged { items, total })
        }
    }
}

/// Runs a fixed `COUNT(*)` query.
async fn total(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> StoreResult<u64> {
    let stmt = c.prepare_cached(sql).await.db()?;
    let row = c.query_one(&stmt, params).await.db()?;
    Ok(count(col(&row, 0)?))
}

fn from_row(row: &Row) -> StoreResult<AliasRecord> {
    Ok(AliasRecord {
        alias_name: col(row, 0)?,
        key_id: col(row, 1)?,
        creation_date: col(row, 2)?,
    })
}
