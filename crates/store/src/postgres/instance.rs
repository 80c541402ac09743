//! The `instance` table: one row, the installation's identity (as in the SQLite backend).
//! Of several nodes initializing one database at once, the first insert wins and every node
//! reads back the same row.

use deadpool_postgres::GenericClient;

use super::error::PgResultExt;
use crate::{InstanceRecord, StoreError, StoreResult};

pub(super) async fn get(c: &impl GenericClient) -> StoreResult<Option<InstanceRecord>> {
    let row = c
        .query_opt(
            "SELECT account_id, region_id, root_key_check, created_ms FROM instance WHERE id = 1",
            &[],
        )
        .await
        .db()?;
    Ok(row.map(|row| InstanceRecord {
        account_id: row.get(0),
        region_id: row.get(1),
        root_key_check: row.get(2),
        created_ms: row.get(3),
    }))
}

pub(super) async fn init(
    c: &impl GenericClient,
    record: &InstanceRecord,
) -> StoreResult<InstanceRecord> {
    c.execute(
        "INSERT INTO instance (id, account_id, region_id, root_key_check, created_ms)
         VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
        &[
            &record.account_id,
            &record.region_id,
            &record.root_key_check,
            &record.created_ms,
        ],
    )
    .await
    .db()?;
    get(c).await?.ok_or(StoreError::NotFound)
}
