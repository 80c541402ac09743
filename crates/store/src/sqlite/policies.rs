//! SQL for custom policies (`ram_policies`), their versions (`ram_policy_versions`, one row per
//! version) and attachments to principals (`ram_attachments`).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::error::SqlResultExt;
use super::users;
use crate::{
    AttachmentRecord, POLICY_CUSTOM, PRINCIPAL_USER, PolicyRecord, PolicyVersionRecord, StoreError,
    StoreResult, VersionOptions,
};

const POLICY_COLUMNS: &str = "policy_name, description, default_version, create_date, update_date";
const VERSION_COLUMNS: &str = "policy_name, version_id, document, create_date";
const ATTACHMENT_COLUMNS: &str =
    "principal_type, principal_name, policy_type, policy_name, attach_date";

/// Creates a policy and its first version (numbered 1).
pub(super) fn create(
    conn: &Connection,
    policy: &PolicyRecord,
    first: &PolicyVersionRecord,
) -> StoreResult<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO ram_policies ({POLICY_COLUMNS}, last_version) VALUES (?1, ?2, ?3, ?4, ?5, 1)"
    ))
    .db()?
    .execute(params![
        policy.policy_name,
        policy.description,
        policy.default_version,
        policy.create_date,
        policy.update_date,
    ])
    .db()?;
    insert_version(conn, first, 1)
}

fn insert_version(conn: &Connection, v: &PolicyVersionRecord, seq: i64) -> StoreResult<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO ram_policy_versions ({VERSION_COLUMNS}, seq) VALUES (?1, ?2, ?3, ?4, ?5)"
    ))
    .db()?
    .execute(params![
        v.policy_name,
        v.version_id,
        v.document,
        v.create_date,
        seq
    ])
    .db()?;
    Ok(())
}

/// The policy with this name.
pub(super) fn get(conn: &Connection, policy_name: &str) -> StoreResult<Option<PolicyRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {POLICY_COLUMNS} FROM ram_policies WHERE policy_name = ?1"
    ))
    .db()?
    .query_row([policy_name], policy_from_row)
    .optional()
    .db()
}

/// Up to `limit` policies by name after `after`.
pub(super) fn list(
    conn: &Connection,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<PolicyRecord>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {POLICY_COLUMNS} FROM ram_policies WHERE ?1 IS NULL OR policy_name > ?1 \
             ORDER BY policy_name LIMIT ?2"
        ))
        .db()?;
    let rows = stmt
        .query_map(params![after, limit], policy_from_row)
        .db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

/// Deletes a policy with its versions (and, with `cascade`, its attachments).
pub(super) fn delete(conn: &Connection, policy_name: &str, cascade: bool) -> StoreResult<()> {
    if get(conn, policy_name)?.is_none() {
        return Err(StoreError::NotFound);
    }
    if !cascade
        && (count_attachments(conn, POLICY_CUSTOM, policy_name)? > 0
            || versions(conn, policy_name)?.len() > 1)
    {
        return Err(StoreError::Conflict);
    }
    conn.prepare_cached("DELETE FROM ram_attachments WHERE policy_type = ?1 AND policy_name = ?2")
        .db()?
        .execute([POLICY_CUSTOM, policy_name])
        .db()?;
    for sql in [
        "DELETE FROM ram_policy_versions WHERE policy_name = ?1",
        "DELETE FROM ram_policies WHERE policy_name = ?1",
    ] {
        conn.prepare_cached(sql).db()?.execute([policy_name]).db()?;
    }
    Ok(())
}

/// Adds version `v<last + 1>`, rotating out the oldest non-default version when asked.
pub(super) fn add_version(
    conn: &Connection,
    policy_name: &str,
    document: &str,
    create_date: i64,
    options: VersionOptions,
) -> StoreResult<PolicyVersionRecord> {
    let Some((default_version, last)) = conn
        .prepare_cached(
            "SELECT default_version, last_version FROM ram_policies WHERE policy_name = ?1",
        )
        .db()?
        .query_row([policy_name], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .optional()
        .db()?
    else {
        return Err(StoreError::NotFound);
    };
    let existing = versions(conn, policy_name)?;
    if existing.len() as u64 >= options.max_versions {
        let oldest = existing
            .iter()
            .find(|v| v.version_id != default_version)
            .filter(|_| options.rotate)
            .ok_or(StoreError::LimitExceeded)?;
        delete_version_row(conn, policy_name, &oldest.version_id)?;
    }
    let seq = last + 1;
    let version = PolicyVersionRecord {
        policy_name: policy_name.to_owned(),
        version_id: format!("v{seq}"),
        document: document.to_owned(),
        create_date,
    };
    insert_version(conn, &version, seq)?;
    conn.prepare_cached("UPDATE ram_policies SET last_version = ?2 WHERE policy_name = ?1")
        .db()?
        .execute(params![policy_name, seq])
        .db()?;
    if options.set_default {
        set_default(conn, policy_name, &version.version_id, create_date)?;
    }
    Ok(version)
}

/// One version of a policy.
pub(super) fn get_version(
    conn: &Connection,
    policy_name: &str,
    version_id: &str,
) -> StoreResult<Option<PolicyVersionRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {VERSION_COLUMNS} FROM ram_policy_versions \
         WHERE policy_name = ?1 AND version_id = ?2"
    ))
    .db()?
    .query_row([policy_name, version_id], version_from_row)
    .optional()
    .db()
}

/// A policy's versions, oldest first.
pub(super) fn versions(
    conn: &Connection,
    policy_name: &str,
) -> StoreResult<Vec<PolicyVersionRecord>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {VERSION_COLUMNS} FROM ram_policy_versions WHERE policy_name = ?1 ORDER BY seq"
        ))
        .db()?;
    let rows = stmt.query_map([policy_name], version_from_row).db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

/// Makes an existing version the default.
pub(super) fn set_default(
    conn: &Connection,
    policy_name: &str,
    version_id: &str,
    update_date: i64,
) -> StoreResult<()> {
    if get_version(conn, policy_name, version_id)?.is_none() {
        return Err(StoreError::NotFound);
    }
    conn.prepare_cached(
        "UPDATE ram_policies SET default_version = ?2, update_date = ?3 WHERE policy_name = ?1",
    )
    .db()?
    .execute(params![policy_name, version_id, update_date])
    .db()?;
    Ok(())
}

/// Deletes a non-default version.
pub(super) fn delete_version(
    conn: &Connection,
    policy_name: &str,
    version_id: &str,
) -> StoreResult<()> {
    let policy = get(conn, policy_name)?.ok_or(StoreError::NotFound)?;
    if get_version(conn, policy_name, version_id)?.is_none() {
        return Err(StoreError::NotFound);
    }
    if policy.default_version == version_id {
        return Err(StoreError::Conflict);
    }
    delete_version_row(conn, policy_name, version_id)
}

fn delete_version_row(conn: &Connection, policy_name: &str, version_id: &str) -> StoreResult<()> {
    conn.prepare_cached(
        "DELETE FROM ram_policy_versions WHERE policy_name = ?1 AND version_id = ?2",
    )
    .db()?
    .execute([policy_name, version_id])
    .db()?;
    Ok(())
}

/// Attaches a policy; the principal (and a custom policy) must exist.
pub(super) fn attach(conn: &Connection, a: &AttachmentRecord) -> StoreResult<()> {
    let principal_exists = match a.principal_type.as_str() {
        PRINCIPAL_USER => users::get(conn, &a.principal_name)?.is_some(),
        _ => false,
    };
    if !principal_exists || (a.policy_type == POLICY_CUSTOM && get(conn, &a.policy_name)?.is_none())
    {
        return Err(StoreError::NotFound);
    }
    conn.prepare_cached(&format!(
        "INSERT INTO ram_attachments ({ATTACHMENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
    ))
    .db()?
    .execute(params![
        a.principal_type,
        a.principal_name,
        a.policy_type,
        a.policy_name,
        a.attach_date,
    ])
    .db()?;
    Ok(())
}

/// Detaches a policy; `NotFound` if it was not attached.
pub(super) fn detach(
    conn: &Connection,
    principal_type: &str,
    principal_name: &str,
    policy_type: &str,
    policy_name: &str,
) -> StoreResult<()> {
    let changed = conn
        .prepare_cached(
            "DELETE FROM ram_attachments WHERE principal_type = ?1 AND principal_name = ?2 \
             AND policy_type = ?3 AND policy_name = ?4",
        )
        .db()?
        .execute([principal_type, principal_name, policy_type, policy_name])
        .db()?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The policies attached to a principal, oldest first.
pub(super) fn attachments(
    conn: &Connection,
    principal_type: &str,
    principal_name: &str,
) -> StoreResult<Vec<AttachmentRecord>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM ram_attachments \
             WHERE principal_type = ?1 AND principal_name = ?2 \
             ORDER BY attach_date, policy_type, policy_name"
        ))
        .db()?;
    let rows = stmt
        .query_map([principal_type, principal_name], |r| {
            Ok(AttachmentRecord {
                principal_type: r.get(0)?,
                principal_name: r.get(1)?,
                policy_type: r.get(2)?,
                policy_name: r.get(3)?,
                attach_date: r.get(4)?,
            })
        })
        .db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

/// How many principals a policy is attached to.
pub(super) fn count_attachments(
    conn: &Connection,
    policy_type: &str,
    policy_name: &str,
) -> StoreResult<u64> {
    super::count_total(
        conn,
        "SELECT COUNT(*) FROM ram_attachments WHERE policy_type = ?1 AND policy_name = ?2",
        [policy_type, policy_name],
    )
}

fn policy_from_row(row: &Row<'_>) -> rusqlite::Result<PolicyRecord> {
    Ok(PolicyRecord {
        policy_name: row.get(0)?,
        description: row.get(1)?,
        default_version: row.get(2)?,
        create_date: row.get(3)?,
        update_date: row.get(4)?,
    })
}

fn version_from_row(row: &Row<'_>) -> rusqlite::Result<PolicyVersionRecord> {
    Ok(PolicyVersionRecord {
        policy_name: row.get(0)?,
        version_id: row.get(1)?,
        document: row.get(2)?,
        create_date: row.get(3)?,
    })
}
