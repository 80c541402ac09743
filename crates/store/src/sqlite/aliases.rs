//! SQL for the `aliases` table: one row per alias name.

use rusqlite::{Connection, OptionalExtension, Params, Row, params};

use super::error::SqlResultExt;
use super::{count_total, limit_offset};
use crate::{AliasRecord, Page, Paged, StoreError, StoreResult};

/// Creates an alias. A taken name is `AlreadyExists`, an absent key `NotFound`.
pub(super) fn insert(conn: &Connection, alias: &AliasRecord) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO aliases (alias_name, key_id, creation_date) VALUES (?1, ?2, ?3)",
    )
    .db()?
    .execute(params![alias.alias_name, alias.key_id, alias.creation_date])
    .db()?;
    Ok(())
}

/// Points an alias that still names `expected` at another key. `NotFound` if the alias is
/// absent, or the key (through the foreign key); `Conflict` if it names another key now.
pub(super) fn repoint(
    conn: &Connection,
    alias_name: &str,
    key_id: &str,
    expected: &str,
) -> StoreResult<()> {
    let changed = conn
        .prepare_cached("UPDATE aliases SET key_id = ?2 WHERE alias_name = ?1 AND key_id = ?3")
        .db()?
        .execute([alias_name, key_id, expected])
        .db()?;
    compared(conn, alias_name, changed)
}

/// Deletes an alias that still names `expected`; `NotFound` if absent, `Conflict` if it names
/// another key now.
pub(super) fn delete(conn: &Connection, alias_name: &str, expected: &str) -> StoreResult<()> {
    let changed = conn
        .prepare_cached("DELETE FROM aliases WHERE alias_name = ?1 AND key_id = ?2")
        .db()?
        .execute([alias_name, expected])
        .db()?;
    compared(conn, alias_name, changed)
}

/// The outcome of a compare-and-set on an alias that changed `changed` rows.
fn compared(conn: &Connection, alias_name: &str, changed: usize) -> StoreResult<()> {
    if changed == 1 {
        return Ok(());
    }
    match get(conn, alias_name)? {
        Some(_) => Err(StoreError::Conflict),
        None => Err(StoreError::NotFound),
    }
}

/// The alias with this name.
pub(super) fn get(conn: &Connection, alias_name: &str) -> StoreResult<Option<AliasRecord>> {
    conn.prepare_cached(
        "SELECT alias_name, key_id, creation_date FROM aliases WHERE alias_name = ?1",
    )
    .db()?
    .query_row([alias_name], from_row)
    .optional()
    .db()
}

/// A page of aliases by name (of one key when `key_id` is given), and their number.
pub(super) fn list(
    conn: &Connection,
    key_id: Option<&str>,
    page: Page,
) -> StoreResult<Paged<AliasRecord>> {
    let (limit, offset) = limit_offset(page);
    match key_id {
        Some(key_id) => {
            let items = select(conn, LIST_OF_KEY, params![key_id, limit, offset])?;
            let total = count_total(conn, COUNT_OF_KEY, [key_id])?;
            Ok(Paged { items, total })
        }
        None => {
            let items = select(conn, LIST_ALL, params![limit, offset])?;
            let total = count_total(conn, "SELECT COUNT(*) FROM aliases", [])?;
            Ok(Paged { items, total })
        }
    }
}

const LIST_ALL: &str = "SELECT alias_name, key_id, creation_date FROM aliases \
                        ORDER BY alias_name LIMIT ?1 OFFSET ?2";

const LIST_OF_KEY: &str = "SELECT alias_name, key_id, creation_date FROM aliases \
                           WHERE key_id = ?1 ORDER BY alias_name LIMIT ?2 OFFSET ?3";

const COUNT_OF_KEY: &str = "SELECT COUNT(*) FROM aliases WHERE key_id = ?1";

/// Runs an alias query.
fn select(conn: &Connection, sql: &str, params: impl Params) -> StoreResult<Vec<AliasRecord>> {
    conn.prepare_cached(sql)
        .db()?
        .query_map(params, from_row)
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<AliasRecord> {
    Ok(AliasRecord {
        alias_name: row.get(0)?,
        key_id: row.get(1)?,
        creation_date: row.get(2)?,
    })
}
