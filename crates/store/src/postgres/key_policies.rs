//! SQL for the `key_policies` table: one row per key with a policy of its own (as in the
//! SQLite backend).
//!
//! [`put`] is one upsert statement: an absent key fails its foreign key (`NotFound`), and a key
//! destroyed concurrently either deletes the policy after it or makes it fail the same way.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use super::error::PgResultExt;
use super::sql::{self, col};
use crate::{KeyPolicyRecord, StoreResult};

const UPSERT: &str = "
INSERT INTO key_policies (key_id, document, update_date) VALUES ($1, $2, $3)
ON CONFLICT (key_id) DO UPDATE SET document = EXCLUDED.document,
    update_date = EXCLUDED.update_date";

const SELECT_ONE: &str = "SELECT key_id, document, update_date FROM key_policies \
                          WHERE key_id = $1";

const SELECT_MANY: &str = "SELECT key_id, document, update_date FROM key_policies \
                           WHERE key_id = ANY($1)";

/// Inserts or replaces a key's policy. `NotFound` if the key is absent.
pub(super) async fn put(tx: &Transaction<'_>, policy: &KeyPolicyRecord) -> StoreResult<()> {
    let stmt = tx.prepare_cached(UPSERT).await.db()?;
    tx.execute(
        &stmt,
        &[&policy.key_id, &policy.document, &policy.update_date],
    )
    .await
    .db()?;
    Ok(())
}

/// A key's policy, if it has one.
pub(super) async fn get(
    c: &impl GenericClient,
    key_id: &str,
) -> StoreResult<Option<KeyPolicyRecord>> {
    sql::one(c, SELECT_ONE, &[&key_id], from_row).await
}

/// The policies of those of `key_ids` that have one (one statement, whatever their number).
pub(super) async fn get_many(
    c: &impl GenericClient,
    key_ids: &[String],
) -> StoreResult<Vec<KeyPolicyRecord>> {
    if key_ids.is_empty() {
        return Ok(Vec::new());
    }
    let stmt = c.prepare_cached(SELECT_MANY).await.db()?;
    c.query(&stmt, &[&key_ids])
        .await
        .db()?
        .iter()
        .map(from_row)
        .collect()
}

fn from_row(row: &Row) -> StoreResult<KeyPolicyRecord> {
    Ok(KeyPolicyRecord {
        key_id: col(row, 0)?,
        document: col(row, 1)?,
        update_date: col(row, 2)?,
    })
}
