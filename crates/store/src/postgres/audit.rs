//! The audit trail: `audit_log` (one row per audited call, append-only, hash-chained with
//! `keywarden_core::audit`) and `audit_anchor` (the last pruned record). As the SQLite backend's
//! module of the same name.
//!
//! [`append`] and [`prune`] first take a transaction-scoped advisory lock ([`AUDIT_LOCK`]),
//! so appenders and pruners on every node sharing the database take turns: each reads the head
//! and extends it, and all of them build one chain. The schema's triggers refuse `UPDATE`, and
//! `DELETE` beyond the anchor: a prune moves the anchor first, then deletes up to it.
//!
//! The text fields are `BYTEA` holding the strings' UTF-8 bytes (an audit record may hold
//! whatever an unauthenticated caller claimed, NUL included, which `TEXT` cannot hold); the
//! encryption context is its JSON text, as bytes. A row that does not decode (altered outside
//! keywarden) is [`PgStoreError::AuditRowUnreadable`], naming its `seq` and column.

use std::collections::BTreeMap;

use deadpool_postgres::{GenericClient, Transaction};
use keywarden_core::audit::{HASH_LEN, Hash, chain};
use tokio_postgres::Row;

use super::error::{PgResultExt, PgStoreError};
use crate::{AuditHead, AuditPruned, AuditRecord, ChainedRecord, StoreError, StoreResult};

/// The advisory lock that serializes appends and prunes (a fixed 64-bit number of ours, next
/// to the migration lock of module `schema`).
const AUDIT_LOCK: i64 = 0x6b77_0000_0002;

/// Rows per `INSERT` statement (the rows go as one array per column).
const ROWS_PER_INSERT: usize = 1_000;

/// The columns read and written, in [`decode`]'s and [`INSERT`]'s order.
const COLUMNS: &str = "seq, time_ms, request_id, access_key_id, user_name, source_ip, action, \
                       key_id, key_version_id, encryption_context, outcome_code, http_status, \
                       prev_hash, hash, count";

/// Inserts the rows given as one array per column (in [`COLUMNS`] order).
const INSERT: &str = "
INSERT INTO audit_log (seq, time_ms, request_id, access_key_id, user_name, source_ip, action,
    key_id, key_version_id, encryption_context, outcome_code, http_status, prev_hash, hash, count)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[],
    $6::bytea[], $7::bytea[], $8::bytea[], $9::bytea[], $10::bytea[], $11::bytea[],
    $12::integer[], $13::bytea[], $14::bytea[], $15::bigint[])";

/// Takes the audit lock until the end of the transaction.
async fn take_lock(tx: &Transaction<'_>) -> StoreResult<()> {
    let stmt = tx
        .prepare_cached("SELECT pg_advisory_xact_lock($1)")
        .await
        .db()?;
    tx.execute(&stmt, &[&AUDIT_LOCK]).await.db()?;
    Ok(())
}

/// Appends `records` after the head, under the audit lock (`pg_advisory_xact_lock`), each
/// numbered and chained after its predecessor; returns the new head (the head itself for no
/// records).
pub(super) async fn append(
    tx: &Transaction<'_>,
    records: &[AuditRecord],
) -> StoreResult<Option<AuditHead>> {
    if records.is_empty() {
        return head(tx).await;
    }
    take_lock(tx).await?;
    let mut current = head(tx).await?;
    let mut rows = Vec::with_capacity(records.len());
    for record in records {
        let (seq, prev_hash) = AuditHead::next_link(current);
        let linked = chain(
            prev_hash,
            AuditRecord {
                seq,
                ..record.clone()
            },
        );
        current = Some(AuditHead {
            seq,
            hash: linked.hash,
        });
        rows.push(linked);
    }
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        insert(tx, chunk).await?;
    }
    Ok(current)
}

/// Inserts `rows` with one statement.
async fn insert(tx: &Transaction<'_>, rows: &[ChainedRecord]) -> StoreResult<()> {
    let columns = Columns::of(rows)?;
    let stmt = tx.prepare_cached(INSERT).await.db()?;
    tx.execute(
        &stmt,
        &[
            &columns.seq,
            &columns.time_ms,
            &columns.request_id,
            &columns.access_key_id,
            &columns.user_name,
            &columns.source_ip,
            &columns.action,
            &columns.key_id,
            &columns.key_version_id,
            &columns.encryption_context,
            &columns.outcome_code,
            &columns.http_status,
            &columns.prev_hash,
            &columns.hash,
            &columns.count,
        ],
    )
    .await
    .db()?;
    Ok(())
}

/// Rows to insert, one array per column, as stored (strings as their UTF-8 bytes).
#[derive(Default)]
struct Columns<'a> {
    seq: Vec<i64>,
    time_ms: Vec<i64>,
    request_id: Vec<&'a [u8]>,
    access_key_id: Vec<Option<&'a [u8]>>,
    user_name: Vec<Option<&'a [u8]>>,
    source_ip: Vec<&'a [u8]>,
    action: Vec<&'a [u8]>,
    key_id: Vec<Option<&'a [u8]>>,
    key_version_id: Vec<Option<&'a [u8]>>,
    encryption_context: Vec<Option<Vec<u8>>>,
    outcome_code: Vec<&'a [u8]>,
    http_status: Vec<i32>,
    prev_hash: Vec<&'a [u8]>,
    hash: Vec<&'a [u8]>,
    count: Vec<i64>,
}

impl<'a> Columns<'a> {
    /// The columns of `rows`; a `seq` beyond `BIGINT` is refused.
    fn of(rows: &'a [ChainedRecord]) -> StoreResult<Self> {
        let mut c = Columns::default();
        for row in rows {
            let r = &row.record;
            c.seq.push(from_seq(r.seq)?);
            c.time_ms.push(r.time_ms);
            c.request_id.push(r.request_id.as_bytes());
            c.access_key_id
                .push(r.access_key_id.as_deref().map(str::as_bytes));
            c.user_name.push(r.user_name.as_deref().map(str::as_bytes));
            c.source_ip.push(r.source_ip.as_bytes());
            c.action.push(r.action.as_bytes());
            c.key_id.push(r.key_id.as_deref().map(str::as_bytes));
            c.key_version_id
                .push(r.key_version_id.as_deref().map(str::as_bytes));
            c.encryption_context.push(
                r.encryption_context
                    .as_ref()
                    .map(serde_json::to_vec)
                    .transpose()
                    .map_err(|e| StoreError::Backend(Box::new(e)))?,
            );
            c.outcome_code.push(r.outcome_code.as_bytes());
            c.http_status.push(i32::from(r.http_status));
            c.prev_hash.push(&row.prev_hash);
            c.hash.push(&row.hash);
            c.count.push(i64::try_from(r.count).unwrap_or(i64::MAX));
        }
        Ok(c)
    }
}

/// Up to `limit` records with `seq > after_seq` (and `time_ms >= since_ms`), in `seq` order.
pub(super) async fn list(
    c: &impl GenericClient,
    since_ms: Option<i64>,
    after_seq: u64,
    limit: i64,
) -> StoreResult<Vec<ChainedRecord>> {
    let after = i64::try_from(after_seq).unwrap_or(i64::MAX);
    let rows = match since_ms {
        None => {
            let stmt = c
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
                ))
                .await
                .db()?;
            c.query(&stmt, &[&after, &limit]).await.db()?
        }
        Some(since) => {
            let stmt = c
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 AND time_ms >= $3 \
                     ORDER BY seq LIMIT $2"
                ))
                .await
                .db()?;
            c.query(&stmt, &[&after, &limit, &since]).await.db()?
        }
    };
    rows.iter().map(decode).collect()
}

/// The last record's `seq` and `hash`, or `None` while the log is empty.
pub(super) async fn head(c: &impl GenericClient) -> StoreResult<Option<AuditHead>> {
    seq_and_hash(
        c,
        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
        "hash",
    )
    .await
}

/// The retention anchor: the last pruned record's `seq` and `hash` (`None` before any prune).
pub(super) async fn anchor(c: &impl GenericClient) -> StoreResult<Option<AuditHead>> {
    seq_and_hash(
        c,
        "SELECT seq, hash FROM audit_anchor WHERE id = 1",
        "anchor hash",
    )
    .await
}

/// The `(seq, hash)` row `sql` selects, if any (`column` names the hash in errors).
async fn seq_and_hash(
    c: &impl GenericClient,
    sql: &str,
    column: &'static str,
) -> StoreResult<Option<AuditHead>> {
    let stmt = c.prepare_cached(sql).await.db()?;
    let Some(row) = c.query_opt(&stmt, &[]).await.db()? else {
        return Ok(None);
    };
    let seq = to_seq(row.try_get(0).db()?)?;
    let hash: Vec<u8> = row.try_get(1).db()?;
    Ok(Some(AuditHead {
        seq,
        hash: to_hash(seq, column, &hash)?,
    }))
}

/// Removes the records before the first one at or after `before_ms`, keeping at least the
/// last record, under the audit lock: moves the anchor to the last removed record, then
/// deletes up to it (the triggers allow no more). Returns the new anchor and how many records
/// went; `None` when nothing was old enough.
pub(super) async fn prune(
    tx: &Transaction<'_>,
    before_ms: i64,
    now_ms: i64,
) -> StoreResult<Option<AuditPruned>> {
    take_lock(tx).await?;
    let Some(head) = head(tx).await? else {
        return Ok(None);
    };
    // The chain is cut at one point: everything before the first record that is recent
    // enough (aggregated records may carry earlier times than their neighbours).
    let stmt = tx
        .prepare_cached("SELECT MIN(seq) FROM audit_log WHERE time_ms >= $1")
        .await
        .db()?;
    let first_kept: Option<i64> = tx
        .query_one(&stmt, &[&before_ms])
        .await
        .db()?
        .try_get(0)
        .db()?;
    let head_seq = from_seq(head.seq)?;
    let through = first_kept.unwrap_or(head_seq).min(head_seq) - 1;
    let previous = anchor(tx)
        .await?
        .map_or(0, |a| from_seq(a.seq).unwrap_or(0));
    if through <= previous {
        return Ok(None);
    }
    let stmt = tx
        .prepare_cached("SELECT hash FROM audit_log WHERE seq = $1")
        .await
        .db()?;
    let hash: Vec<u8> = tx
        .query_one(&stmt, &[&through])
        .await
        .db()?
        .try_get(0)
        .db()?;
    let seq = to_seq(through)?;
    let hash = to_hash(seq, "hash", &hash)?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO audit_anchor (id, seq, hash, pruned_ms) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, \
             pruned_ms = EXCLUDED.pruned_ms",
        )
        .await
        .db()?;
    tx.execute(&stmt, &[&through, &hash.as_slice(), &now_ms])
        .await
        .db()?;
    let stmt = tx
        .prepare_cached("DELETE FROM audit_log WHERE seq <= $1")
        .await
        .db()?;
    let removed = tx.execute(&stmt, &[&through]).await.db()?;
    Ok(Some(AuditPruned {
        anchor: AuditHead { seq, hash },
        removed,
    }))
}

/// A record from a row of [`COLUMNS`]; a value that does not decode is `AuditRowUnreadable`.
fn decode(row: &Row) -> StoreResult<ChainedRecord> {
    let seq = to_seq(row.try_get(0).db()?)?;
    let bad = |column: &'static str| -> StoreError {
        PgStoreError::AuditRowUnreadable { seq, column }.into()
    };
    let text = |index: usize, column: &'static str| -> StoreResult<String> {
        let bytes: Vec<u8> = row.try_get(index).db()?;
        String::from_utf8(bytes).map_err(|_| bad(column))
    };
    let opt_text = |index: usize, column: &'static str| -> StoreResult<Option<String>> {
        let bytes: Option<Vec<u8>> = row.try_get(index).db()?;
        bytes
            .map(|b| String::from_utf8(b).map_err(|_| bad(column)))
            .transpose()
    };
    let hash = |index: usize, column: &'static str| -> StoreResult<Hash> {
        let bytes: Vec<u8> = row.try_get(index).db()?;
        to_hash(seq, column, &bytes)
    };
    let encryption_context = opt_text(9, "encryption_context")?
        .map(|json| {
            serde_json::from_str::<BTreeMap<String, String>>(&json)
                .map_err(|_| bad("encryption_context"))
        })
        .transpose()?;
    let http_status: i32 = row.try_get(11).db()?;
    let count: i64 = row.try_get(14).db()?;
    let record = AuditRecord {
        seq,
        time_ms: row.try_get(1).db()?,
        request_id: text(2, "request_id")?,
        access_key_id: opt_text(3, "access_key_id")?,
        user_name: opt_text(4, "user_name")?,
        source_ip: text(5, "source_ip")?,
        action: text(6, "action")?,
        key_id: opt_text(7, "key_id")?,
        key_version_id: opt_text(8, "key_version_id")?,
        encryption_context,
        outcome_code: text(10, "outcome_code")?,
        http_status: u16::try_from(http_status).map_err(|_| bad("http_status"))?,
        count: u64::try_from(count)
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| bad("count"))?,
    };
    Ok(ChainedRecord {
        record,
        prev_hash: hash(12, "prev_hash")?,
        hash: hash(13, "hash")?,
    })
}

/// A stored `seq` as the record's (a negative one is unreadable).
fn to_seq(seq: i64) -> StoreResult<u64> {
    u64::try_from(seq).map_err(|_| {
        PgStoreError::AuditRowUnreadable {
            seq: 0,
            column: "seq",
        }
        .into()
    })
}

/// A record's `seq` as stored (one beyond `BIGINT` cannot be).
fn from_seq(seq: u64) -> StoreResult<i64> {
    i64::try_from(seq).map_err(|_| PgStoreError::AuditRowUnreadable { seq, column: "seq" }.into())
}

/// A stored hash, which must be [`HASH_LEN`] bytes.
fn to_hash(seq: u64, column: &'static str, bytes: &[u8]) -> StoreResult<Hash> {
    <[u8; HASH_LEN]>::try_from(bytes)
        .map_err(|_| PgStoreError::AuditRowUnreadable { seq, column }.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_of_columns_agree() {
        let insert_columns = INSERT
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(columns, _)| columns.split(',').map(str::trim).collect::<Vec<_>>());
        let columns: Vec<&str> = COLUMNS.split(',').map(str::trim).collect();
        assert_eq!(insert_columns, Some(columns.clone()));
        assert_eq!(columns.len(), 15);
        assert_eq!(INSERT.matches("[]").count(), columns.len());
    }
}
