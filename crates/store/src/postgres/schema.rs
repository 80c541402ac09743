//! The PostgreSQL schema and its migrations.
//!
//! The schema version is the row of `keywarden_schema`: the number of [`MIGRATIONS`] applied.
//! [`migrate`] runs in one transaction under a transaction-scoped advisory lock, so of several
//! nodes starting at once on one database exactly one migrates and the others wait for it, then
//! find nothing left to do. PostgreSQL's DDL is transactional: a failed step leaves the previous
//! version intact. Steps are append-only: never edit a released step, add a new one.
//!
//! The tables are those of the SQLite backend (its schema module explains each), with
//! PostgreSQL types (`BIGINT`, `BYTEA`, `BOOLEAN`), plus `nonces`, the shared replay window.
//! Free text (descriptions, tags, policy documents, audit fields) is `TEXT`, which cannot hold
//! a NUL character: the backend refuses such a value as `Backend` before writing it, except in
//! audit records, whose text fields are stored as `BYTEA` (an audit record may carry whatever
//! an unauthenticated caller claimed).

use deadpool_postgres::Client;

use super::error::{PgResultExt, PgStoreError};
use crate::StoreResult;

/// The advisory lock that serializes migrations (any fixed 64-bit number of ours).
const MIGRATION_LOCK: i64 = 0x6b77_0000_0001;

/// Migration steps; step `n` (0-based) takes the schema from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[V1_INITIAL];

/// Version 1: everything the SQLite backend has at its version 7, and the nonce window.
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
    creation_date                   BIGINT  NOT NULL,
    primary_version_id              TEXT    NOT NULL,
    last_rotation_date              BIGINT  NOT NULL,
    automatic_rotation              TEXT    NOT NULL,
    rotation_interval               BIGINT,
    next_rotation_date              BIGINT,
    delete_date                     BIGINT,
    deletion_protection             BOOLEAN NOT NULL,
    deletion_protection_description TEXT    NOT NULL,
    material_expire_time            BIGINT,
    revision                        BIGINT  NOT NULL
);
CREATE INDEX keys_by_creation ON keys (creation_date, key_id);
CREATE INDEX keys_due_deletion ON keys (delete_date, key_id)
    WHERE state = 'PendingDeletion';
CREATE INDEX keys_due_rotation ON keys (next_rotation_date, key_id)
    WHERE automatic_rotation = 'Enabled' AND state = 'Enabled';

CREATE TABLE key_versions (
    version_id      TEXT   NOT NULL PRIMARY KEY,
    key_id          TEXT   NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    creation_date   BIGINT NOT NULL,
    sealed_material BYTEA  NOT NULL,
    seq             BIGINT NOT NULL,
    UNIQUE (key_id, seq)
);

CREATE TABLE aliases (
    alias_name    TEXT   NOT NULL PRIMARY KEY,
    key_id        TEXT   NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    creation_date BIGINT NOT NULL
);
CREATE INDEX aliases_by_key ON aliases (key_id, alias_name);

CREATE TABLE key_tags (
    key_id    TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    tag_key   TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (key_id, tag_key)
);

CREATE TABLE key_policies (
    key_id      TEXT   NOT NULL PRIMARY KEY REFERENCES keys (key_id) ON DELETE CASCADE,
    document    TEXT   NOT NULL,
    update_date BIGINT NOT NULL
);

CREATE TABLE access_keys (
    access_key_id TEXT   NOT NULL PRIMARY KEY,
    sealed_secret BYTEA  NOT NULL,
    status        TEXT   NOT NULL,
    user_name     TEXT   NOT NULL,
    creation_date BIGINT NOT NULL
);
CREATE INDEX access_keys_by_user ON access_keys (user_name, creation_date, access_key_id);

CREATE TABLE ram_users (
    user_name     TEXT   NOT NULL PRIMARY KEY,
    user_id       TEXT   NOT NULL UNIQUE,
    display_name  TEXT   NOT NULL,
    mobile_phone  TEXT   NOT NULL,
    email         TEXT   NOT NULL,
    comments      TEXT   NOT NULL,
    create_date   BIGINT NOT NULL,
    update_date   BIGINT NOT NULL
);

CREATE TABLE ram_policies (
    policy_name     TEXT   NOT NULL PRIMARY KEY,
    description     TEXT   NOT NULL,
    default_version TEXT   NOT NULL,
    last_version    BIGINT NOT NULL,
    create_date     BIGINT NOT NULL,
    update_date     BIGINT NOT NULL
);

CREATE TABLE ram_policy_versions (
    policy_name TEXT   NOT NULL REFERENCES ram_policies (policy_name) ON DELETE CASCADE,
    version_id  TEXT   NOT NULL,
    seq         BIGINT NOT NULL,
    document    TEXT   NOT NULL,
    create_date BIGINT NOT NULL,
    PRIMARY KEY (policy_name, version_id),
    UNIQUE (policy_name, seq)
);

CREATE TABLE ram_attachments (
    principal_type TEXT   NOT NULL,
    principal_name TEXT   NOT NULL,
    policy_type    TEXT   NOT NULL,
    policy_name    TEXT   NOT NULL,
    attach_date    BIGINT NOT NULL,
    PRIMARY KEY (principal_type, principal_name, policy_type, policy_name)
);
CREATE INDEX ram_attachments_by_policy ON ram_attachments (policy_type, policy_name);

CREATE TABLE audit_log (
    seq                BIGINT NOT NULL PRIMARY KEY,
    time_ms            BIGINT NOT NULL,
    request_id         BYTEA  NOT NULL,
    access_key_id      BYTEA,
    user_name          BYTEA,
    source_ip          BYTEA  NOT NULL,
    action             BYTEA  NOT NULL,
    key_id             BYTEA,
    key_version_id     BYTEA,
    encryption_context BYTEA,
    outcome_code       BYTEA  NOT NULL,
    http_status        INTEGER NOT NULL,
    count              BIGINT NOT NULL DEFAULT 1,
    prev_hash          BYTEA  NOT NULL,
    hash               BYTEA  NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (time_ms);

CREATE TABLE audit_anchor (
    id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq       BIGINT  NOT NULL,
    hash      BYTEA   NOT NULL,
    pruned_ms BIGINT  NOT NULL
);

CREATE FUNCTION keywarden_audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND OLD.seq <= COALESCE((SELECT seq FROM audit_anchor WHERE id = 1), 0) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: rows are removed only by pruning, up to the anchor';
END $$;
CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION keywarden_audit_log_guard();

CREATE FUNCTION keywarden_audit_anchor_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.seq >= OLD.seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit anchor never moves back and is never deleted';
END $$;
CREATE TRIGGER audit_anchor_guard BEFORE UPDATE OR DELETE ON audit_anchor
    FOR EACH ROW EXECUTE FUNCTION keywarden_audit_anchor_guard();

CREATE FUNCTION keywarden_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is never truncated', TG_TABLE_NAME;
END $$;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION keywarden_no_truncate();
CREATE TRIGGER audit_anchor_no_truncate BEFORE TRUNCATE ON audit_anchor
    FOR EACH STATEMENT EXECUTE FUNCTION keywarden_no_truncate();

CREATE TABLE instance (
    id             INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    account_id     TEXT    NOT NULL,
    region_id      TEXT    NOT NULL,
    root_key_check BYTEA   NOT NULL,
    created_ms     BIGINT  NOT NULL
);

CREATE TABLE nonces (
    digest     BYTEA  NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX nonces_by_expiry ON nonces (expires_at);
";

/// The schema version this build creates and understands.
#[allow(clippy::cast_possible_wrap)] // a handful of steps, far below i64::MAX
pub(super) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`CURRENT_VERSION`], applying only the missing steps, under the
/// migration lock. Refuses a database whose version is newer than this build knows.
pub(super) async fn migrate(client: &mut Client) -> StoreResult<()> {
    let tx = client.transaction().await.db()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .db()?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS keywarden_schema (
             id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
             version BIGINT  NOT NULL
         )",
    )
    .await
    .db()?;
    let found: i64 = tx
        .query_opt("SELECT version FROM keywarden_schema WHERE id = 1", &[])
        .await
        .db()?
        .map_or(0, |row| row.get(0));
    let known = CURRENT_VERSION;
    if found > known {
        return Err(PgStoreError::SchemaTooNew { found, known }.into());
    }
    let applied = usize::try_from(found).unwrap_or(0);
    for step in MIGRATIONS.iter().skip(applied) {
        tx.batch_execute(step).await.db()?;
    }
    if found != known {
        tx.execute(
            "INSERT INTO keywarden_schema (id, version) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version",
            &[&known],
        )
        .await
        .db()?;
    }
    tx.commit().await.db()
}

/// Refuses unless the database is at exactly [`CURRENT_VERSION`] (a reader never migrates).
pub(super) async fn require_current(client: &Client) -> StoreResult<()> {
    let found: i64 = client
        .query_opt("SELECT version FROM keywarden_schema WHERE id = 1", &[])
        .await
        .map_err(|e| match e.code() {
            Some(code) if *code == tokio_postgres::error::SqlState::UNDEFINED_TABLE => {
                PgStoreError::NotInitialized.into()
            }
            _ => super::error::classify(e),
        })?
        .map_or(0, |row| row.get(0));
    match found {
        0 => Err(PgStoreError::NotInitialized.into()),
        v if v == CURRENT_VERSION => Ok(()),
        found => Err(PgStoreError::SchemaMismatch {
            found,
            known: CURRENT_VERSION,
        }
        .into()),
    }
}
