//! Custom policies (`ram_policies`), their versions (`ram_policy_versions`, one row per version,
//! numbered `v<n>` from the policy's `last_version`, so a number is never reused) and their
//! attachments to principals (`ram_attachments`). As the SQLite backend's module of the same
//! name.
//!
//! Where SQLite relied on its single writer for a read-then-write, the row read is locked:
//! every change to a policy's versions locks the policy row `FOR UPDATE` (so numbering, the
//! version limit and "never delete the default" hold against concurrent writers on any node),
//! and an attachment locks its user and custom policy `FOR SHARE` (so a concurrent delete of
//! either sees the attachment, or the attachment finds nothing to attach to).

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use super::count;
use super::error::PgResultExt;
use super::sql;
use crate::{
    AttachmentRecord, POLICY_CUSTOM, PRINCIPAL_USER, PolicyRecord, PolicyVersionRecord, StoreError,
    StoreResult, VersionOptions,
};

const POLICY_COLUMNS: &str = "policy_name, description, default_version, create_date, update_date";
const VERSION_COLUMNS: &str = "policy_name, version_id, document, create_date";
const ATTACHMENT_COLUMNS: &str =
    "principal_type, principal_name, policy_type, policy_name, attach_date";

/// Creates a policy and its first version (numbered 1); a taken name is `AlreadyExists`.
pub(super) async fn create(
    tx: &Transaction<'_>,
    policy: &PolicyRecord,
    first: &PolicyVersionRecord,
) -> StoreResult<()> {
    insert_row(tx, policy, 1).await?;
    insert_version(tx, first, 1).await
}

/// Inserts the policy row alone, whose versions were numbered up to `last_version` (`create`,
/// and the importer, which keeps a migrated policy's numbering).
pub(super) async fn insert_row(
    tx: &Transaction<'_>,
    policy: &PolicyRecord,
    last_version: i64,
) -> StoreResult<()> {
    let stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO ram_policies ({POLICY_COLUMNS}, last_version) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .await
        .db()?;
    tx.execute(
        &stmt,
        &[
            &policy.policy_name,
            &policy.description,
            &policy.default_version,
            &policy.create_date,
            &policy.update_date,
            &last_version,
        ],
    )
    .await
    .db()?;
    Ok(())
}

/// Inserts a version row numbered `seq`.
pub(super) async fn insert_version(
    tx: &Transaction<'_>,
    v: &PolicyVersionRecord,
    seq: i64,
) -> StoreResult<()> {
    let stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO ram_policy_versions ({VERSION_COLUMNS}, seq) VALUES ($1, $2, $3, $4, $5)"
        ))
        .await
        .db()?;
    tx.execute(
        &stmt,
        &[
            &v.policy_name,
            &v.version_id,
            &v.document,
            &v.create_date,
            &seq,
        ],
    )
    .await
    .db()?;
    Ok(())
}

/// The policy with this name.
pub(super) async fn get(
    c: &impl GenericClient,
    policy_name: &str,
) -> StoreResult<Option<PolicyRecord>> {
    sql::one(
        c,
        &format!("SELECT {POLICY_COLUMNS} FROM ram_policies WHERE policy_name = $1"),
        &[&policy_name],
        policy_from_row,
    )
    .await
}

/// Up to `limit` policies by name after `after` (keyset paging).
pub(super) async fn list(
    c: &impl GenericClient,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<PolicyRecord>> {
    sql::all(
        c,
        &format!(
            "SELECT {POLICY_COLUMNS} FROM ram_policies \
             WHERE $1::text IS NULL OR policy_name > $1 ORDER BY policy_name LIMIT $2"
        ),
        &[&after, &limit],
        policy_from_row,
    )
    .await
}

/// Locks the policy row (`FOR UPDATE`) and returns its default version and `last_version`;
/// `None` if the policy is absent.
async fn lock(tx: &Transaction<'_>, policy_name: &str) -> StoreResult<Option<(String, i64)>> {
    let stmt = tx
        .prepare_cached(
            "SELECT default_version, last_version FROM ram_policies \
             WHERE policy_name = $1 FOR UPDATE",
        )
        .await
        .db()?;
    tx.query_opt(&stmt, &[&policy_name])
        .await
        .db()?
        .map(|row| Ok((row.try_get(0).db()?, row.try_get(1).db()?)))
        .transpose()
}

/// Deletes a policy with its versions (and, with `cascade`, its attachments). Without
/// `cascade`, `Conflict` if it is attached or has a version besides the default. `NotFound` if
/// absent. The policy row is locked first, so a concurrent attach or new version is seen.
pub(super) async fn delete(
    tx: &Transaction<'_>,
    policy_name: &str,
    cascade: bool,
) -> StoreResult<()> {
    if lock(tx, policy_name).await?.is_none() {
        return Err(StoreError::NotFound);
    }
    if !cascade
        && (count_attachments(tx, POLICY_CUSTOM, policy_name).await? > 0
            || list_versions(tx, policy_name).await?.len() > 1)
    {
        return Err(StoreError::Conflict);
    }
    let detach = tx
        .prepare_cached("DELETE FROM ram_attachments WHERE policy_type = $1 AND policy_name = $2")
        .await
        .db()?;
    tx.execute(&detach, &[&POLICY_CUSTOM, &policy_name])
        .await
        .db()?;
    for sql in [
        "DELETE FROM ram_policy_versions WHERE policy_name = $1",
        "DELETE FROM ram_policies WHERE policy_name = $1",
    ] {
        let stmt = tx.prepare_cached(sql).await.db()?;
        tx.execute(&stmt, &[&policy_name]).await.db()?;
    }
    Ok(())
}

/// Adds version `v<last + 1>`, rotating out the oldest non-default version when at the limit
/// and asked to (else `LimitExceeded`), and making it the default when asked. `NotFound` if
/// the policy is absent. Runs with the policy row locked.
pub(super) async fn add_version(
    tx: &Transaction<'_>,
    policy_name: &str,
    document: &str,
    create_date: i64,
    options: VersionOptions,
) -> StoreResult<PolicyVersionRecord> {
    let Some((default_version, last)) = lock(tx, policy_name).await? else {
        return Err(StoreError::NotFound);
    };
    let existing = list_versions(tx, policy_name).await?;
    if existing.len() as u64 >= options.max_versions {
        let oldest = existing
            .iter()
            .find(|v| v.version_id != default_version)
            .filter(|_| options.rotate)
            .ok_or(StoreError::LimitExceeded)?;
        delete_version_row(tx, policy_name, &oldest.version_id).await?;
    }
    let seq = last.checked_add(1).ok_or(StoreError::LimitExceeded)?;
    let version = PolicyVersionRecord {
        policy_name: policy_name.to_owned(),
        version_id: format!("v{seq}"),
        document: document.to_owned(),
        create_date,
    };
    insert_version(tx, &version, seq).await?;
    let stmt = tx
        .prepare_cached("UPDATE ram_policies SET last_version = $2 WHERE policy_name = $1")
        .await
        .db()?;
    tx.execute(&stmt, &[&policy_name, &seq]).await.db()?;
    if options.set_default {
        set_default(tx, policy_name, &version.version_id, create_date).await?;
    }
    Ok(version)
}

/// One version of a policy.
pub(super) async fn get_version(
    c: &impl GenericClient,
    policy_name: &str,
    version_id: &str,
) -> StoreResult<Option<PolicyVersionRecord>> {
    sql::one(
        c,
        &format!(
            "SELECT {VERSION_COLUMNS} FROM ram_policy_versions \
             WHERE policy_name = $1 AND version_id = $2"
        ),
        &[&policy_name, &version_id],
        version_from_row,
    )
    .await
}

/// A policy's versions, oldest first (empty if the policy is absent).
pub(super) async fn list_versions(
    c: &impl GenericClient,
    policy_name: &str,
) -> StoreResult<Vec<PolicyVersionRecord>> {
    sql::all(
        c,
        &format!(
            "SELECT {VERSION_COLUMNS} FROM ram_policy_versions WHERE policy_name = $1 \
             ORDER BY seq"
        ),
        &[&policy_name],
        version_from_row,
    )
    .await
}

/// Makes an existing version the default; `NotFound` if the policy or the version is absent.
/// The policy row is locked first, so the version cannot be deleted meanwhile.
pub(super) async fn set_default_version(
    tx: &Transaction<'_>,
    policy_name: &str,
    version_id: &str,
    update_date: i64,
) -> StoreResult<()> {
    if lock(tx, policy_name).await?.is_none()
        || get_version(tx, policy_name, version_id).await?.is_none()
    {
        return Err(StoreError::NotFound);
    }
    set_default(tx, policy_name, version_id, update_date).await
}

/// Sets the default version and update date of a policy (its row locked by the caller).
async fn set_default(
    tx: &Transaction<'_>,
    policy_name: &str,
    version_id: &str,
    update_date: i64,
) -> StoreResult<()> {
    let stmt = tx
        .prepare_cached(
            "UPDATE ram_policies SET default_version = $2, update_date = $3 \
             WHERE policy_name = $1",
        )
        .await
        .db()?;
    tx.execute(&stmt, &[&policy_name, &version_id, &update_date])
        .await
        .db()?;
    Ok(())
}

/// Deletes a non-default version: `NotFound` if the policy or the version is absent,
/// `Conflict` if it is the default. The policy row is locked first, so the default cannot
/// move to it meanwhile.
pub(super) async fn delete_version(
    tx: &Transaction<'_>,
    policy_name: &str,
    version_id: &str,
) -> StoreResult<()> {
    let Some((default_version, _)) = lock(tx, policy_name).await? else {
        return Err(StoreError::NotFound);
    };
    if get_version(tx, policy_name, version_id).await?.is_none() {
        return Err(StoreError::NotFound);
    }
    if default_version == version_id {
        return Err(StoreError::Conflict);
    }
    delete_version_row(tx, policy_name, version_id).await
}

/// Deletes one version row.
async fn delete_version_row(
    tx: &Transaction<'_>,
    policy_name: &str,
    version_id: &str,
) -> StoreResult<()> {
    let stmt = tx
        .prepare_cached(
            "DELETE FROM ram_policy_versions WHERE policy_name = $1 AND version_id = $2",
        )
        .await
        .db()?;
    tx.execute(&stmt, &[&policy_name, &version_id]).await.db()?;
    Ok(())
}

/// Whether the row `sql` selects (by one name, `FOR SHARE`) exists, keeping it locked.
async fn exists_locked(tx: &Transaction<'_>, sql: &str, name: &str) -> StoreResult<bool> {
    let stmt = tx.prepare_cached(sql).await.db()?;
    Ok(tx.query_opt(&stmt, &[&name]).await.db()?.is_some())
}

/// Attaches a policy: `NotFound` unless the principal (a user) exists, and the policy too
/// when it is a custom one; `AlreadyExists` if attached. Both rows are locked `FOR SHARE`
/// until the commit, so neither can be deleted or renamed meanwhile.
pub(super) async fn attach(tx: &Transaction<'_>, a: &AttachmentRecord) -> StoreResult<()> {
    let principal_exists = match a.principal_type.as_str() {
        PRINCIPAL_USER => {
            exists_locked(
                tx,
                "SELECT 1 FROM ram_users WHERE user_name = $1 FOR SHARE",
                &a.principal_name,
            )
            .await?
        }
        _ => false,
    };
    if !principal_exists
        || (a.policy_type == POLICY_CUSTOM
            && !exists_locked(
                tx,
                "SELECT 1 FROM ram_policies WHERE policy_name = $1 FOR SHARE",
                &a.policy_name,
            )
            .await?)
    {
        return Err(StoreError::NotFound);
    }
    let stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO ram_attachments ({ATTACHMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
        ))
        .await
        .db()?;
    tx.execute(
        &stmt,
        &[
            &a.principal_type,
            &a.principal_name,
            &a.policy_type,
            &a.policy_name,
            &a.attach_date,
        ],
    )
    .await
    .db()?;
    Ok(())
}

/// Detaches a policy; `NotFound` if it was not attached.
pub(super) async fn detach(
    tx: &Transaction<'_>,
    principal_type: &str,
    principal_name: &str,
    policy_type: &str,
    policy_name: &str,
) -> StoreResult<()> {
    let stmt = tx
        .prepare_cached(
            "DELETE FROM ram_attachments WHERE principal_type = $1 AND principal_name = $2 \
             AND policy_type = $3 AND policy_name = $4",
        )
        .await
        .db()?;
    let changed = tx
        .execute(
            &stmt,
            &[&principal_type, &principal_name, &policy_type, &policy_name],
        )
        .await
        .db()?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The policies attached to a principal, oldest attachment first.
pub(super) async fn list_attachments(
    c: &impl GenericClient,
    principal_type: &str,
    principal_name: &str,
) -> StoreResult<Vec<AttachmentRecord>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM ram_attachments \
             WHERE principal_type = $1 AND principal_name = $2 \
             ORDER BY attach_date, policy_type, policy_name"
        ))
        .await
        .db()?;
    c.query(&stmt, &[&principal_type, &principal_name])
        .await
        .db()?
        .iter()
        .map(|r| {
            Ok(AttachmentRecord {
                principal_type: r.try_get(0).db()?,
                principal_name: r.try_get(1).db()?,
                policy_type: r.try_get(2).db()?,
                policy_name: r.try_get(3).db()?,
                attach_date: r.try_get(4).db()?,
            })
        })
        .collect()
}

/// How many principals a policy is attached to.
pub(super) async fn count_attachments(
    c: &impl GenericClient,
    policy_type: &str,
    policy_name: &str,
) -> StoreResult<u64> {
    let stmt = c
        .prepare_cached(
            "SELECT COUNT(*) FROM ram_attachments WHERE policy_type = $1 AND policy_name = $2",
        )
        .await
        .db()?;
    let n: i64 = c
        .query_one(&stmt, &[&policy_type, &policy_name])
        .await
        .db()?
        .try_get(0)
        .db()?;
    Ok(count(n))
}

/// A policy from a row of [`POLICY_COLUMNS`].
fn policy_from_row(row: &Row) -> StoreResult<PolicyRecord> {
    Ok(PolicyRecord {
        policy_name: row.try_get(0).db()?,
        description: row.try_get(1).db()?,
        default_version: row.try_get(2).db()?,
        create_date: row.try_get(3).db()?,
        update_date: row.try_get(4).db()?,
    })
}

/// A policy version from a row of [`VERSION_COLUMNS`].
fn version_from_row(row: &Row) -> StoreResult<PolicyVersionRecord> {
    Ok(PolicyVersionRecord {
        policy_name: row.try_get(0).db()?,
        version_id: row.try_get(1).db()?,
        document: row.try_get(2).db()?,
        create_date: row.try_get(3).db()?,
    })
}
