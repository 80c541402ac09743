//! SQL for the `key_versions` table: one row per version of a key's material.
//!
//! As in the SQLite backend, each row carries `seq`, its 1-based position among its key's
//! versions in the order they were added. Versions are only ever deleted all together (when
//! their key is destroyed), so `seq` runs 1..=n without gaps: a page is an index seek from
//! `seq > offset` on `UNIQUE (key_id, seq)` and the count is `MAX(seq)`.
//!
//! SQLite's single writer made "the next `seq`" safe to compute inside the insert; under READ
//! COMMITTED two transactions could compute the same one, so [`insert`] first locks the key
//! row `FOR UPDATE`: inserts of versions of one key take turns, and each sees the last one's.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use super::error::PgResultExt;
use super::sql::{self, col};
use super::{count, limit_offset};
use crate::{Page, Paged, StoreError, StoreResult, VersionRecord};

/// Locks the key row of the version about to be inserted.
const LOCK_KEY: &str = "SELECT 1 FROM keys WHERE key_id = $1 FOR UPDATE";

/// Inserts a version numbered after its key's newest (whose row the caller has locked).
const INSERT: &str = "
INSERT INTO key_versions (version_id, key_id, creation_date, sealed_material, seq)
VALUES ($1, $2, $3, $4,
        (SELECT COALESCE(MAX(seq), 0) + 1 FROM key_versions WHERE key_id = $2))";

const SELECT_ONE: &str = "SELECT key_id, version_id, creation_date, sealed_material \
                          FROM key_versions WHERE version_id = $1";

const SELECT_PAGE: &str = "SELECT key_id, version_id, creation_date, sealed_material \
                           FROM key_versions WHERE key_id = $1 AND seq > $3 \
                           ORDER BY seq LIMIT $2";

const COUNT: &str = "SELECT COALESCE(MAX(seq), 0) FROM key_versions WHERE key_id = $1";

/// Inserts a version as its key's newest. `NotFound` if the key is absent, `AlreadyExists` if
/// the version id is taken (by any key).
pub(super) async fn insert(tx: &Transaction<'_>, version: &VersionRecord) -> StoreResult<()> {
    let lock = tx.prepare_cached(LOCK_KEY).await.db()?;
    if tx
        .query_opt(&lock, &[&version.key_id])
        .await
        .db()?
        .is_none()
    {
        return Err(StoreError::NotFound);
    }
    let stmt = tx.prepare_cached(INSERT).await.db()?;
    tx.execute(
        &stmt,
        &[
            &version.version_id,
            &version.key_id,
            &version.creation_date,
            &version.sealed_material,
        ],
    )
    .await
    .db()?;
    Ok(())
}

/// The version with this id, whatever its key.
pub(super) async fn get(
    c: &impl GenericClient,
    version_id: &str,
) -> StoreResult<Option<VersionRecord>> {
    sql::one(c, SELECT_ONE, &[&version_id], from_row).await
}

/// A page of a key's versions in the order they were added, and the key's number of versions.
pub(super) async fn list(
    c: &impl GenericClient,
    key_id: &str,
    page: Page,
) -> StoreResult<Paged<VersionRecord>> {
    let (limit, offset) = limit_offset(page);
    let stmt = c.prepare_cached(SELECT_PAGE).await.db()?;
    let items = c
        .query(&stmt, &[&key_id, &limit, &offset])
        .await
        .db()?
        .iter()
        .map(from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    let stmt = c.prepare_cached(COUNT).await.db()?;
    let total = c.query_one(&stmt, &[&key_id]).await.db()?;
    Ok(Paged {
        items,
        total: count(col(&total, 0)?),
    })
}

fn from_row(row: &Row) -> StoreResult<VersionRecord> {
    Ok(VersionRecord {
        key_id: col(row, 0)?,
        version_id: col(row, 1)?,
        creation_date: col(row, 2)?,
        sealed_material: col(row, 3)?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::sync::Arc;

    use super::*;
    use crate::KeyStore;
    use crate::conformance::{sample_key, sample_version};
    use crate::postgres::testing::TestDatabase;
    use crate::postgres::{PgOptions, PgStore};

    /// Versions of one key added at once all land, numbered 1..=n without a gap or a repeat.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_inserts_take_distinct_seqs() {
        const TASKS: usize = 16;
        let db = TestDatabase::create().await.unwrap();
        let store = Arc::new(
            PgStore::connect(db.url(), PgOptions::default())
                .await
                .unwrap(),
        );
        let key = sample_key("key-a", 1_000);
        store
            .create_key(
                &key,
                &sample_version("key-a", &key.primary_version_id, 1_000),
            )
            .await
            .unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..TASKS {
            let store = Arc::clone(&store);
            tasks.spawn(async move {
                let version = sample_version("key-a", &format!("key-a-c{i:02}"), 2_000);
                store.add_version(&version).await
            });
        }
        while let Some(added) = tasks.join_next().await {
            added.unwrap().unwrap();
        }
        let conn = store.conn().await.unwrap();
        let seqs: Vec<i64> = conn
            .query(
                "SELECT seq FROM key_versions WHERE key_id = 'key-a' ORDER BY seq",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        let expected: Vec<i64> = (1..=i64::try_from(TASKS).unwrap() + 1).collect();
        assert_eq!(seqs, expected);
        let listed = list(
            &conn,
            "key-a",
            Page {
                offset: 0,
                limit: 100,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            (listed.items.len(), listed.total),
            (TASKS + 1, TASKS as u64 + 1)
        );
    }
}
