//! SQL for the `keys` table: one row per customer master key.

use std::str::FromStr;

use rusqlite::types::{Type, Value};
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};

use super::error::{SqlResultExt, SqliteStoreError};
use super::query::Conditions;
use super::{count_total, limit_offset, versions};
use crate::{KeyFilter, KeyRecord, Page, Paged, StoreError, StoreResult, VersionRecord};

const INSERT: &str = "
INSERT INTO keys (
    key_id, description, key_spec, key_usage, origin, protection_level, state, creator,
    creation_date, primary_version_id, last_rotation_date, automatic_rotation, rotation_interval,
    next_rotation_date, delete_date, deletion_protection, deletion_protection_description,
    material_expire_time, revision
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";

/// Compare-and-set: `?19` is the expected revision, `?20` the one stored.
const UPDATE: &str = "
UPDATE keys SET
    description = ?2, key_spec = ?3, key_usage = ?4, origin = ?5, protection_level = ?6,
    state = ?7, creator = ?8, creation_date = ?9, primary_version_id = ?10,
    last_rotation_date = ?11, automatic_rotation = ?12, rotation_interval = ?13,
    next_rotation_date = ?14, delete_date = ?15, deletion_protection = ?16,
    deletion_protection_description = ?17, material_expire_time = ?18, revision = ?20
WHERE key_id = ?1 AND revision = ?19";

/// The columns every `SELECT` returns, in the order [`from_row`] reads them.
macro_rules! key_columns {
    () => {
        "key_id, description, key_spec, key_usage, origin, protection_level, state, creator, \
         creation_date, primary_version_id, last_rotation_date, automatic_rotation, \
         rotation_interval, next_rotation_date, delete_date, deletion_protection, \
         deletion_protection_description, material_expire_time, revision"
    };
}

const SELECT_ONE: &str = concat!("SELECT ", key_columns!(), " FROM keys WHERE key_id = ?1");

/// `SELECT <key columns> FROM keys`, to which callers append conditions and order.
pub(super) const SELECT_KEYS: &str = concat!("SELECT ", key_columns!(), " FROM keys");

/// Inserts a key and its first version (the caller provides the transaction).
pub(super) fn create(conn: &Connection, key: &KeyRecord, first: &VersionRecord) -> StoreResult<()> {
    if first.key_id != key.key_id {
        return Err(SqliteStoreError::VersionOfOtherKey {
            key_id: key.key_id.clone(),
            version_id: first.version_id.clone(),
            version_key_id: first.key_id.clone(),
        }
        .into());
    }
    conn.prepare_cached(INSERT)
        .db()?
        .execute(params_from_iter(columns(key)))
        .db()?;
    versions::insert(conn, first)
}

/// A key row's columns in the order of `INSERT` and `UPDATE` (`?1..=?19`), enumerations as
/// their wire strings.
fn columns(key: &KeyRecord) -> [Value; 19] {
    [
        key.key_id.clone().into(),
        key.description.clone().into(),
        wire(key.key_spec.as_str()),
        wire(key.key_usage.as_str()),
        wire(key.origin.as_str()),
        wire(key.protection_level.as_str()),
        wire(key.state.as_str()),
        key.creator.clone().into(),
        key.creation_date.into(),
        key.primary_version_id.clone().into(),
        key.last_rotation_date.into(),
        wire(key.automatic_rotation.as_str()),
        key.rotation_interval.into(),
        key.next_rotation_date.into(),
        key.delete_date.into(),
        key.deletion_protection.into(),
        key.deletion_protection_description.clone().into(),
        key.material_expire_time.into(),
        key.revision.into(),
    ]
}

/// A wire string as a bound value.
fn wire(text: &str) -> Value {
    Value::Text(text.to_owned())
}

/// Replaces the row if its revision is still `key.revision`, storing the next revision.
pub(super) fn update(conn: &Connection, key: &KeyRecord) -> StoreResult<()> {
    let next = key
        .revision
        .checked_add(1)
        .ok_or_else(|| SqliteStoreError::RevisionOverflow {
            key_id: key.key_id.clone(),
        })?;
    let changed = conn
        .prepare_cached(UPDATE)
        .db()?
        .execute(params_from_iter(
            columns(key).into_iter().chain([Value::Integer(next)]),
        ))
        .db()?;
    match changed {
        0 if exists(conn, &key.key_id)? => Err(StoreError::Conflict),
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Whether a key with this id exists.
pub(super) fn exists(conn: &Connection, key_id: &str) -> StoreResult<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM keys WHERE key_id = ?1)")
        .db()?
        .query_row([key_id], |row| row.get(0))
        .db()
}

/// The key with this id.
pub(super) fn get(conn: &Connection, key_id: &str) -> StoreResult<Option<KeyRecord>> {
    conn.prepare_cached(SELECT_ONE)
        .db()?
        .query_row([key_id], from_row)
        .optional()
        .db()
}

/// A page of the keys matching `filter` by creation date then id, and their number.
pub(super) fn list(
    conn: &Connection,
    filter: &KeyFilter,
    page: Page,
) -> StoreResult<Paged<KeyRecord>> {
    let (limit, offset) = limit_offset(page);
    let conditions = conditions(filter);
    let filtered = conditions.where_sql();
    let sql = format!("{SELECT_KEYS}{filtered} ORDER BY creation_date, key_id LIMIT ? OFFSET ?");
    let params = conditions.params_with([Value::Integer(limit), Value::Integer(offset)]);
    let items = select(conn, &sql, params)?;
    let total = count_total(
        conn,
        &format!("SELECT COUNT(*) FROM keys{filtered}"),
        params_from_iter(conditions.params_with([])),
    )?;
    Ok(Paged { items, total })
}

/// The `WHERE` conditions of a key filter: one per non-empty dimension.
fn conditions(filter: &KeyFilter) -> Conditions {
    let mut c = Conditions::new();
    c.any_of(
        "state IN ({list})",
        filter.states.iter().map(|v| v.as_str()),
    );
    c.any_of(
        "key_spec IN ({list})",
        filter.specs.iter().map(|v| v.as_str()),
    );
    c.any_of(
        "key_usage IN ({list})",
        filter.usages.iter().map(|v| v.as_str()),
    );
    c.any_of(
        "protection_level IN ({list})",
        filter.protection_levels.iter().map(|v| v.as_str()),
    );
    c.any_of("creator IN ({list})", &filter.creators);
    c.any_of("key_id IN ({list})", &filter.key_ids);
    c.any_of(
        "EXISTS (SELECT 1 FROM aliases a WHERE a.key_id = keys.key_id AND a.alias_name IN ({list}))",
        &filter.alias_names,
    );
    c.any_of(
        "EXISTS (SELECT 1 FROM key_tags t WHERE t.key_id = keys.key_id AND t.tag_key IN ({list}))",
        &filter.tag_keys,
    );
    c.any_of(
        "EXISTS (SELECT 1 FROM key_tags t WHERE t.key_id = keys.key_id AND t.tag_value IN ({list}))",
        &filter.tag_values,
    );
    c
}

/// Runs a query selecting `key_columns!()`.
pub(super) fn select(
    conn: &Connection,
    sql: &str,
    params: Vec<Value>,
) -> StoreResult<Vec<KeyRecord>> {
    conn.prepare_cached(sql)
        .db()?
        .query_map(params_from_iter(params), from_row)
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()
}

/// Reads a row selected with `key_columns!()`. An enumeration column holding a string that
/// names no value fails with [`SqliteStoreError::UnknownWireValue`] (see [`parse`]).
fn from_row(row: &Row<'_>) -> rusqlite::Result<KeyRecord> {
    let key_id: String = row.get(0)?;
    Ok(KeyRecord {
        description: row.get(1)?,
        key_spec: parse(row, 2, "key_spec", &key_id)?,
        key_usage: parse(row, 3, "key_usage", &key_id)?,
        origin: parse(row, 4, "origin", &key_id)?,
        protection_level: parse(row, 5, "protection_level", &key_id)?,
        state: parse(row, 6, "state", &key_id)?,
        creator: row.get(7)?,
        creation_date: row.get(8)?,
        primary_version_id: row.get(9)?,
        last_rotation_date: row.get(10)?,
        automatic_rotation: parse(row, 11, "automatic_rotation", &key_id)?,
        rotation_interval: row.get(12)?,
        next_rotation_date: row.get(13)?,
        delete_date: row.get(14)?,
        deletion_protection: row.get(15)?,
        deletion_protection_description: row.get(16)?,
        material_expire_time: row.get(17)?,
        revision: row.get(18)?,
        key_id,
    })
}

/// The enumeration value whose wire string column `index` holds. A string that names no value
/// becomes a conversion failure carrying [`SqliteStoreError::UnknownWireValue`], which
/// [`classify`](super::error::classify) turns into `StoreError::Backend` of that error.
pub(super) fn parse<T: FromStr>(
    row: &Row<'_>,
    index: usize,
    column: &'static str,
    key_id: &str,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    text.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            Type::Text,
            Box::new(SqliteStoreError::UnknownWireValue {
                key_id: key_id.to_owned(),
                column,
                value: text.clone(),
            }),
        )
    })
}
