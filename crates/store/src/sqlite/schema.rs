//! The database schema and its migrations.
//!
//! The schema version is SQLite's `PRAGMA user_version`: the number of [`MIGRATIONS`] applied.
//! [`migrate`] applies the missing steps, in order, in one immediate transaction, so a crash
//! mid-migration leaves the previous version intact and two processes opening the same file do not
//! both migrate it. Steps are append-only: never edit a released step, add a new one.
//!
//! Every table grows by rows, never inside a row: one row per key version, alias, tag and
//! access key.

use rusqlite::{Connection, TransactionBehavior};

use super::error::{SqlResultExt, SqliteStoreError};
use crate::StoreResult;

/// Migration steps; step `n` (0-based) takes the schema from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[V1_INITIAL];

/// Version 1: keys, versions, aliases, tags and access keys.
const V1_INITIAL: &str = "
CREATE TABLE keys (
    key_id                          TEXT    NOT NULL PRIMARY KEY,
    description                     TEXT    NOT NULL,
    key_spec                        TEXT    NOT NULL,
    key_usage                       TEXT    NOT NULL,
    origin                          TEXT    NOT NULL,
    protection_level                TEXT    NOT NULL,
    state                           TEXT    NOT NULL,
    creator                         TEXT    NOT NULL,
    creation_date                   INTEGER NOT NULL,
    primary_version_id              TEXT    NOT NULL,
    last_rotation_date              INTEGER NOT NULL,
    automatic_rotation              TEXT    NOT NULL,
    rotation_interval               INTEGER,
    next_rotation_date              INTEGER,
    delete_date                     INTEGER,
    deletion_protection             INTEGER NOT NULL CHECK (deletion_protection IN (0, 1)),
    deletion_protection_description TEXT    NOT NULL,
    material_expire_time            INTEGER,
    revision                        INTEGER NOT NULL
) STRICT;
CREATE INDEX keys_by_creation ON keys (creation_date, key_id);

CREATE TABLE key_versions (
    version_id      TEXT    NOT NULL PRIMARY KEY,
    key_id          TEXT    NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    creation_date   INTEGER NOT NULL,
    sealed_material BLOB    NOT NULL
) STRICT;
CREATE INDEX key_versions_by_key ON key_versions (key_id, creation_date, version_id);

CREATE TABLE aliases (
    alias_name    TEXT    NOT NULL PRIMARY KEY,
    key_id        TEXT    NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    creation_date INTEGER NOT NULL
) STRICT;
CREATE INDEX aliases_by_key ON aliases (key_id, alias_name);

CREATE TABLE key_tags (
    key_id    TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    tag_key   TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (key_id, tag_key)
) STRICT, WITHOUT ROWID;

CREATE TABLE access_keys (
    access_key_id TEXT    NOT NULL PRIMARY KEY,
    sealed_secret BLOB    NOT NULL,
    status        TEXT    NOT NULL,
    user_name     TEXT    NOT NULL,
    creation_date INTEGER NOT NULL
) STRICT;
";

/// The schema version this build creates and understands.
#[allow(clippy::cast_possible_wrap)] // a handful of steps, far below i64::MAX
pub(super) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`CURRENT_VERSION`], applying only the missing steps. Refuses a
/// database whose version is newer than this build knows.
pub(super) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    let found: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .db()?;
    let known = CURRENT_VERSION;
    if found > known {
        return Err(SqliteStoreError::SchemaTooNew { found, known }.into());
    }
    let applied = usize::try_from(found).unwrap_or(0);
    for step in MIGRATIONS.iter().skip(applied) {
        tx.execute_batch(step).db()?;
    }
    if found != known {
        tx.pragma_update(None, "user_version", known).db()?;
    }
    tx.commit().db()
}
