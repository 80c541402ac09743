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
const MIGRATIONS: &[&str] = &[
    V1_INITIAL,
    V2_LIFECYCLE,
    V3_IDENTITY,
    V4_AUDIT,
    V5_INSTANCE,
    V6_AUDIT_RETENTION,
    V7_KEY_POLICIES,
];

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

/// Version 2, the key lifecycle:
///
/// - partial indexes that find due work without scanning every key: keys waiting to be
///   destroyed by `delete_date`, keys with automatic rotation by `next_rotation_date` (the
///   literals of their `WHERE` clauses are repeated in the queries of module `lifecycle`, so
///   that SQLite can use them);
/// - `key_versions.seq`, the 1-based position of a version among its key's versions in the
///   order they were added (existing rows numbered by creation date then id). Versions are
///   never deleted one at a time, so `seq` is dense: a page of versions is an index seek
///   (`seq > offset`) and a key's number of versions is `MAX(seq)`, whatever that number is.
const V2_LIFECYCLE: &str = "
CREATE INDEX keys_due_deletion ON keys (delete_date, key_id)
    WHERE state = 'PendingDeletion';
CREATE INDEX keys_due_rotation ON keys (next_rotation_date, key_id)
    WHERE automatic_rotation = 'Enabled' AND state = 'Enabled';

ALTER TABLE key_versions ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE key_versions SET seq = numbered.n
    FROM (SELECT version_id,
                 ROW_NUMBER() OVER (PARTITION BY key_id ORDER BY creation_date, version_id) AS n
          FROM key_versions) AS numbered
    WHERE key_versions.version_id = numbered.version_id;
CREATE UNIQUE INDEX key_versions_by_seq ON key_versions (key_id, seq);
DROP INDEX key_versions_by_key;
";

/// Version 3, identity and access (the RAM API):
///
/// - `ram_users`, one row per user, by name (a rename rewrites the name in `access_keys` and
///   `ram_attachments` in the same transaction);
/// - `ram_policies` (custom policies; system policies are built into the server) with
///   `last_version`, the highest version number the policy ever had, so version ids `v<n>` are
///   never reused; `ram_policy_versions`, one row per version;
/// - `ram_attachments`, one row per (principal, policy); `principal_type` is `User` today and
///   leaves room for groups and roles;
/// - an index of access keys by user (ListAccessKeys, the per-user limit).
const V3_IDENTITY: &str = "
CREATE TABLE ram_users (
    user_name     TEXT    NOT NULL PRIMARY KEY,
    user_id       TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    mobile_phone  TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    comments      TEXT    NOT NULL,
    create_date   INTEGER NOT NULL,
    update_date   INTEGER NOT NULL
) STRICT;

CREATE TABLE ram_policies (
    policy_name     TEXT    NOT NULL PRIMARY KEY,
    description     TEXT    NOT NULL,
    default_version TEXT    NOT NULL,
    last_version    INTEGER NOT NULL,
    create_date     INTEGER NOT NULL,
    update_date     INTEGER NOT NULL
) STRICT;

CREATE TABLE ram_policy_versions (
    policy_name TEXT    NOT NULL REFERENCES ram_policies (policy_name) ON DELETE CASCADE,
    version_id  TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    document    TEXT    NOT NULL,
    create_date INTEGER NOT NULL,
    PRIMARY KEY (policy_name, version_id),
    UNIQUE (policy_name, seq)
) STRICT;

CREATE TABLE ram_attachments (
    principal_type TEXT    NOT NULL,
    principal_name TEXT    NOT NULL,
    policy_type    TEXT    NOT NULL,
    policy_name    TEXT    NOT NULL,
    attach_date    INTEGER NOT NULL,
    PRIMARY KEY (principal_type, principal_name, policy_type, policy_name)
) STRICT;
CREATE INDEX ram_attachments_by_policy ON ram_attachments (policy_type, policy_name);

CREATE INDEX access_keys_by_user ON access_keys (user_name, creation_date, access_key_id);
";

/// Version 4, the audit trail: `audit_log`, one row per audited API call, hash-chained
/// (`keywarden_core::audit`; module `audit`). `seq` is the chain position (the rowid, so a
/// page is an index seek); `prev_hash` and `hash` are 32-byte SHA-256 values;
/// `encryption_context` is compact JSON with sorted keys. Triggers make the table append-only
/// for every connection (a guard against mistakes; tampering is caught by the chain).
const V4_AUDIT: &str = "
CREATE TABLE audit_log (
    seq                INTEGER NOT NULL PRIMARY KEY,
    time_ms            INTEGER NOT NULL,
    request_id         TEXT    NOT NULL,
    access_key_id      TEXT,
    user_name          TEXT,
    source_ip          TEXT    NOT NULL,
    action             TEXT    NOT NULL,
    key_id             TEXT,
    key_version_id     TEXT,
    encryption_context TEXT,
    outcome_code       TEXT    NOT NULL,
    http_status        INTEGER NOT NULL,
    prev_hash          BLOB    NOT NULL,
    hash               BLOB    NOT NULL
) STRICT;
CREATE INDEX audit_log_by_time ON audit_log (time_ms);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
";

/// Version 5, the installation's identity (module `instance`): one row holding the account and
/// region of ARNs and the root key's check value, written once when the store is initialized.
const V5_INSTANCE: &str = "
CREATE TABLE instance (
    id             INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    account_id     TEXT    NOT NULL,
    region_id      TEXT    NOT NULL,
    root_key_check BLOB    NOT NULL,
    created_ms     INTEGER NOT NULL
) STRICT;
";

/// Version 6, the audit trail's life cycle: `count` (requests a record stands for, see
/// `keywarden_core::audit::AuditRecord::count`), and retention. `audit_anchor` holds one row,
/// the `seq` and `hash` of the last record pruned: verification of what is left starts after
/// it. Rows may now be deleted, but only up to the anchor (which never moves back, and cannot be
/// deleted), so a prune is an anchor update and a delete in one transaction.
const V6_AUDIT_RETENTION: &str = "
ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
CREATE TABLE audit_anchor (
    id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq       INTEGER NOT NULL,
    hash      BLOB    NOT NULL,
    pruned_ms INTEGER NOT NULL
) STRICT;
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    WHEN OLD.seq > COALESCE((SELECT seq FROM audit_anchor WHERE id = 1), 0)
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows are removed only by pruning, up to the anchor'); END;
CREATE TRIGGER audit_anchor_forward BEFORE UPDATE ON audit_anchor
    WHEN NEW.seq < OLD.seq
    BEGIN SELECT RAISE(ABORT, 'the audit anchor never moves back'); END;
CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor
    BEGIN SELECT RAISE(ABORT, 'the audit anchor is never deleted'); END;
";

/// Version 7, key policies (module `key_policies`): one row per key that has a policy of its own
/// (`CreateKey Policy`, `SetKeyPolicy`); a key without a row has the default key policy.
const V7_KEY_POLICIES: &str = "
CREATE TABLE key_policies (
    key_id      TEXT    NOT NULL PRIMARY KEY REFERENCES keys (key_id) ON DELETE CASCADE,
    document    TEXT    NOT NULL,
    update_date INTEGER NOT NULL
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-1 file migrates: its versions are numbered per key by creation date then id,
    /// and a version added afterwards comes last.
    #[test]
    fn v1_versions_are_numbered_by_creation_date() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1_INITIAL).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO keys VALUES ('k', '', 's', 'u', 'o', 'p', 'Enabled', 'c', 0, 'b', 0,
                                      'Disabled', NULL, NULL, NULL, 0, '', NULL, 0);
             INSERT INTO keys VALUES ('j', '', 's', 'u', 'o', 'p', 'Enabled', 'c', 0, 'x', 0,
                                      'Disabled', NULL, NULL, NULL, 0, '', NULL, 0);
             INSERT INTO key_versions VALUES ('c', 'k', 30, x'00');
             INSERT INTO key_versions VALUES ('b', 'k', 10, x'00');
             INSERT INTO key_versions VALUES ('a', 'k', 20, x'00');
             INSERT INTO key_versions VALUES ('a2', 'k', 20, x'00');
             INSERT INTO key_versions VALUES ('x', 'j', 5, x'00');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let numbered = |conn: &Connection| -> Vec<(String, String, i64)> {
            conn.prepare("SELECT key_id, version_id, seq FROM key_versions ORDER BY key_id, seq")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let expected = [
            ("j", "x", 1),
            ("k", "b", 1),
            ("k", "a", 2),
            ("k", "a2", 3),
            ("k", "c", 4),
        ];
        let expected: Vec<(String, String, i64)> = expected
            .iter()
            .map(|(k, v, n)| ((*k).to_owned(), (*v).to_owned(), *n))
            .collect();
        assert_eq!(numbered(&conn), expected);

        let tx = conn.transaction().unwrap();
        super::super::versions::insert(
            &tx,
            &crate::VersionRecord {
                key_id: "k".into(),
                version_id: "new".into(),
                creation_date: 1,
                sealed_material: vec![1],
            },
        )
        .unwrap();
        let page = super::super::versions::list(
            &tx,
            "k",
            crate::Page {
                offset: 3,
                limit: 10,
            },
        )
        .unwrap();
        let ids: Vec<&str> = page.items.iter().map(|v| v.version_id.as_str()).collect();
        assert_eq!((ids, page.total), (vec!["c", "new"], 5));
    }
}
