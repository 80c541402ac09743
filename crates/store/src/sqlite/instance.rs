//! The `instance` table (schema V5): one row, the installation's identity.

use rusqlite::{Connection, OptionalExtension, params};

use super::error::SqlResultExt;
use crate::{InstanceRecord, StoreResult};

pub(super) fn get(conn: &Connection) -> StoreResult<Option<InstanceRecord>> {
    conn.query_row(
        "SELECT account_id, region_id, root_key_check, created_ms FROM instance WHERE id = 1",
        [],
        |row| {
            Ok(InstanceRecord {
                account_id: row.get(0)?,
                region_id: row.get(1)?,
                root_key_check: row.get(2)?,
                created_ms: row.get(3)?,
            })
        },
    )
    .optional()
    .db()
}

pub(super) fn init(conn: &Connection, record: &InstanceRecord) -> StoreResult<InstanceRecord> {
    conn.execute(
        "INSERT INTO instance (id, account_id, region_id, root_key_check, created_ms)
         VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
        params![
            record.account_id,
            record.region_id,
            record.root_key_check,
            record.created_ms
        ],
    )
    .db()?;
    get(conn)?.ok_or(crate::StoreError::NotFound)
}
