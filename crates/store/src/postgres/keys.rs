//! SQL for the `keys` table: one row per customer master key (as in the SQLite backend).
//!
//! Enumerations are stored as their wire strings. [`update`] is a compare-and-set on
//! `revision` in one statement: under READ COMMITTED, concurrent updaters from the same
//! revision queue on the row lock and re-check the condition on the committed row, so exactly
//! one changes it and the others find `revision` moved on (`Conflict`).

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use tokio_postgres::ToStatement;
use tokio_postgres::types::ToSql;

use super::error::{PgResultExt, PgStoreError};
use super::sql::{self, Conditions, col, wire};
use super::{count, limit_offset, versions};
use crate::{KeyFilter, KeyRecord, Page, Paged, StoreError, StoreResult, VersionRecord};

const INSERT: &str = "
INSERT INTO keys (
    key_id, description, key_spec, key_usage, origin, protection_level, state, creator,
    creation_date, primary_version_id, last_rotation_date, automatic_rotation, rotation_interval,
    next_rotation_date, delete_date, deletion_protection, deletion_protection_description,
    material_expire_time, revision
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)";

/// Compare-and-set: `$19` is the expected revision, `$20` the one stored.
const UPDATE: &str = "
UPDATE keys SET
    description = $2, key_spec = $3, key_usage = $4, origin = $5, protection_level = $6,
    state = $7, creator = $8, creation_date = $9, primary_version_id = $10,
    last_rotation_date = $11, automatic_rotation = $12, rotation_interval = $13,
    next_rotation_date = $14, delete_date = $15, deletion_protection = $16,
    deletion_protection_description = $17, material_expire_time = $18, revision = $20
WHERE key_id = $1 AND revision = $19";

/// The columns every `SELECT` returns, in the order [`from_row`] reads them.
macro_rules! key_columns {
    () => {
        "key_id, description, key_spec, key_usage, origin, protection_level, state, creator, \
         creation_date, primary_version_id, last_rotation_date, automatic_rotation, \
         rotation_interval, next_rotation_date, delete_date, deletion_protection, \
         deletion_protection_description, material_expire_time, revision"
    };
}

const SELECT_ONE: &str = concat!("SELECT ", key_columns!(), " FROM keys WHERE key_id = $1");

/// `SELECT <key columns> FROM keys`, to which callers append conditions and order.
pub(super) const SELECT_KEYS: &str = concat!("SELECT ", key_columns!(), " FROM keys");

/// Inserts a key and its first version (in the caller's transaction). A taken key id is
/// `AlreadyExists`; a first version naming another key is refused before anything is written.
pub(super) async fn create(
    tx: &Transaction<'_>,
    key: &KeyRecord,
    first: &VersionRecord,
) -> StoreResult<()> {
    if first.key_id != key.key_id {
        return Err(PgStoreError::VersionOfOtherKey {
            key_id: key.key_id.clone(),
            version_id: first.version_id.clone(),
            version_key_id: first.key_id.clone(),
        }
        .into());
    }
    insert_row(tx, key).await?;
    versions::insert(tx, first).await
}

/// Inserts the key row alone, every field as given (`create`, and the importer, which adds
/// the versions itself).
pub(super) async fn insert_row(tx: &Transaction<'_>, key: &KeyRecord) -> StoreResult<()> {
    let stmt = tx.prepare_cached(INSERT).await.db()?;
    let wire = Wire::of(key);
    tx.execute(&stmt, &columns(key, &wire)).await.db()?;
    Ok(())
}

/// A key's enumerations as their wire strings, held so that [`columns`] can bind them.
struct Wire([&'static str; 6]);

impl Wire {
    fn of(key: &KeyRecord) -> Self {
        Self([
            key.key_spec.as_str(),
            key.key_usage.as_str(),
            key.origin.as_str(),
            key.protection_level.as_str(),
            key.state.as_str(),
            key.automatic_rotation.as_str(),
        ])
    }
}

/// A key row's columns in the order of `INSERT` and `UPDATE` (`$1..=$19`), enumerations as
/// their wire strings (`wire`, from [`Wire::of`] of the same key).
fn columns<'a>(key: &'a KeyRecord, wire: &'a Wire) -> [&'a (dyn ToSql + Sync); 19] {
    let [spec, usage, origin, level, state, rotation] = &wire.0;
    [
        &key.key_id,
        &key.description,
        spec,
        usage,
        origin,
        level,
        state,
        &key.creator,
        &key.creation_date,
        &key.primary_version_id,
        &key.last_rotation_date,
        rotation,
        &key.rotation_interval,
        &key.next_rotation_date,
        &key.delete_date,
        &key.deletion_protection,
        &key.deletion_protection_description,
        &key.material_expire_time,
        &key.revision,
    ]
}

/// Replaces the row if its revision is still `key.revision`, storing the next revision.
/// `NotFound` if the key is absent, `Conflict` if its revision moved on.
pub(super) async fn update(tx: &Transaction<'_>, key: &KeyRecord) -> StoreResult<()> {
    let next = key
        .revision
        .checked_add(1)
        .ok_or_else(|| PgStoreError::RevisionOverflow {
            key_id: key.key_id.clone(),
        })?;
    let stmt = tx.prepare_cached(UPDATE).await.db()?;
    let wire = Wire::of(key);
    let mut params: Vec<&(dyn ToSql + Sync)> = columns(key, &wire).to_vec();
    params.push(&next);
    match tx.execute(&stmt, &params).await.db()? {
        0 if exists(tx, &key.key_id).await? => Err(StoreError::Conflict),
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Whether a key with this id exists.
pub(super) async fn exists(c: &impl GenericClient, key_id: &str) -> StoreResult<bool> {
    let stmt = c
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM keys WHERE key_id = $1)")
        .await
        .db()?;
    let row = c.query_one(&stmt, &[&key_id]).await.db()?;
    col(&row, 0)
}

/// Locks the key row against deletion and key changes until the transaction ends (`FOR KEY
/// SHARE`: plain updates of the row still proceed). `NotFound` if the key is absent.
pub(super) async fn hold(tx: &Transaction<'_>, key_id: &str) -> StoreResult<()> {
    let stmt = tx
        .prepare_cached("SELECT 1 FROM keys WHERE key_id = $1 FOR KEY SHARE")
        .await
        .db()?;
    match tx.query_opt(&stmt, &[&key_id]).await.db()? {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound),
    }
}

/// The key with this id.
pub(super) async fn get(c: &impl GenericClient, key_id: &str) -> StoreResult<Option<KeyRecord>> {
    sql::one(c, SELECT_ONE, &[&key_id], from_row).await
}

/// A page of the keys matching `filter` by creation date then id, and their number.
pub(super) async fn list(
    c: &impl GenericClient,
    filter: &KeyFilter,
    page: Page,
) -> StoreResult<Paged<KeyRecord>> {
    let mut conditions = conditions(filter);
    let filtered = conditions.where_sql();
    let total = c
        .query_one(
            &format!("SELECT COUNT(*) FROM keys{filtered}"),
            &conditions.params(),
        )
        .await
        .db()?;
    let total = count(col(&total, 0)?);
    let (limit, offset) = limit_offset(page);
    let (limit, offset) = (conditions.bind(limit), conditions.bind(offset));
    let sql = format!(
        "{SELECT_KEYS}{filtered} ORDER BY creation_date, key_id LIMIT {limit} OFFSET {offset}"
    );
    let items = select(c, &sql, &conditions.params()).await?;
    Ok(Paged { items, total })
}

/// The `WHERE` conditions of a key filter: one per non-empty dimension.
fn conditions(filter: &KeyFilter) -> Conditions {
    let mut c = Conditions::new();
    c.any_of(
        "state = ANY({list})",
        filter.states.iter().map(|v| v.as_str()),
    );
    c.any_of(
        "key_spec = ANY({list})",
        filter.specs.iter().map(|v| v.as_str()),
    );
    c.any_of(
        "key_usage = ANY({list})",
        filter.usages.iter().map(|v| v.as_str()),
    );
    c.any_of(
        "protection_level = ANY({list})",
        filter.protection_levels.iter().map(|v| v.as_str()),
    );
    c.any_of("creator = ANY({list})", &filter.creators);
    c.any_of("key_id = ANY({list})", &filter.key_ids);
    c.any_of(
        "EXISTS (SELECT 1 FROM aliases a WHERE a.key_id = keys.key_id \
         AND a.alias_name = ANY({list}))",
        &filter.alias_names,
    );
    c.any_of(
        "EXISTS (SELECT 1 FROM key_tags t WHERE t.key_id = keys.key_id \
         AND t.tag_key = ANY({list}))",
        &filter.tag_keys,
    );
    c.any_of(
        "EXISTS (SELECT 1 FROM key_tags t WHERE t.key_id = keys.key_id \
         AND t.tag_value = ANY({list}))",
        &filter.tag_values,
    );
    c
}

/// Runs a query (text or prepared statement) selecting `key_columns!()`.
pub(super) async fn select<Q: ToStatement + Sync + Send + ?Sized>(
    c: &impl GenericClient,
    sql: &Q,
    params: &[&(dyn ToSql + Sync)],
) -> StoreResult<Vec<KeyRecord>> {
    c.query(sql, params)
        .await
        .db()?
        .iter()
        .map(from_row)
        .collect()
}

/// Reads a row selected with `key_columns!()`. An enumeration column holding a string that
/// names no value fails with [`PgStoreError::UnknownWireValue`].
fn from_row(row: &Row) -> StoreResult<KeyRecord> {
    let key_id: String = col(row, 0)?;
    let id = key_id.as_str();
    Ok(KeyRecord {
        description: col(row, 1)?,
        key_spec: wire(row, 2, "keys", "key_spec", id)?,
        key_usage: wire(row, 3, "keys", "key_usage", id)?,
        origin: wire(row, 4, "keys", "origin", id)?,
        protection_level: wire(row, 5, "keys", "protection_level", id)?,
        state: wire(row, 6, "keys", "state", id)?,
        creator: col(row, 7)?,
        creation_date: col(row, 8)?,
        primary_version_id: col(row, 9)?,
        last_rotation_date: col(row, 10)?,
        automatic_rotation: wire(row, 11, "keys", "automatic_rotation", id)?,
        rotation_interval: col(row, 12)?,
        next_rotation_date: col(row, 13)?,
        delete_date: col(row, 14)?,
        deletion_protection: col(row, 15)?,
        deletion_protection_description: col(row, 16)?,
        material_expire_time: col(row, 17)?,
        revision: col(row, 18)?,
        key_id,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::KeyStore;
    use crate::conformance::{sample_key, sample_version};
    use crate::postgres::testing::TestDatabase;
    use crate::postgres::{PgOptions, PgStore};

    /// A stored enumeration string that names no value is `Backend(UnknownWireValue)` for
    /// every read of the row, never a panic.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unknown_wire_values_are_backend_errors() {
        let db = TestDatabase::create().await.unwrap();
        let store = PgStore::connect(db.url(), PgOptions::default())
            .await
            .unwrap();
        let key = sample_key("key-a", 1_000);
        store
            .create_key(
                &key,
                &sample_version("key-a", &key.primary_version_id, 1_000),
            )
            .await
            .unwrap();
        let conn = store.conn().await.unwrap();
        conn.execute("UPDATE keys SET key_usage = 'MELT/FREEZE'", &[])
            .await
            .unwrap();
        let unknown = |result: StoreResult<_>| match result {
            Err(StoreError::Backend(e)) => matches!(
                e.downcast_ref::<PgStoreError>(),
                Some(PgStoreError::UnknownWireValue { table: "keys", column: "key_usage", id, value })
                    if id == "key-a" && value == "MELT/FREEZE"
            ),
            _ => false,
        };
        assert!(unknown(store.get_key("key-a").await.map(|_| ())));
        let all = KeyFilter::default();
        let listed = store
            .list_keys(
                &all,
                Page {
                    offset: 0,
                    limit: 10,
                },
            )
            .await;
        assert!(unknown(listed.map(|_| ())));
    }
}
