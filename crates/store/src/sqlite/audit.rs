//! SQL for the `audit_log` table (schema V4): one row per audited API call, append-only.
//!
//! [`append`] runs inside the writer's immediate transaction: it reads the head, links each new
//! record to it with `keywarden_core::audit::chain` and inserts it, so concurrent appenders (tasks
//! or processes) always extend one chain. Triggers refuse `UPDATE` and `DELETE` on the table;
//! that stops mistakes, not an attacker who can write the file (the hash chain and a published
//! head catch those).
//!
//! [`AuditLogReader`] reads the log from a read-only connection, for `keywarden audit`: it never
//! writes, so it can run beside a live server (WAL readers do not block the writer).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use keywarden_core::audit::{AuditRecord, ChainedRecord, HASH_LEN, Hash, chain};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};

use super::error::{SqlResultExt, SqliteStoreError};
use crate::{AuditHead, StoreResult};

const COLUMNS: &str = "seq, time_ms, request_id, access_key_id, user_name, source_ip, action, \
                       key_id, key_version_id, encryption_context, outcome_code, http_status, \
                       prev_hash, hash, count";

/// How many names [`COLUMNS`] lists.
const COLUMN_COUNT: usize = 15;

/// The last row's `seq` and `hash`.
pub(super) fn head(conn: &Connection) -> StoreResult<Option<AuditHead>> {
    seq_and_hash(
        conn,
        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
        "hash",
    )
}

/// The `(seq, hash)` row `sql` selects, if any (`column` names the hash in errors).
fn seq_and_hash(
    conn: &Connection,
    sql: &str,
    column: &'static str,
) -> StoreResult<Option<AuditHead>> {
    let row = conn
        .prepare_cached(sql)
        .db()?
        .query_row([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
        })
        .optional()
        .db()?;
    row.map(|(seq, hash)| {
        let seq = to_seq(seq)?;
        Ok(AuditHead {
            seq,
            hash: to_hash(seq, column, &hash)?,
        })
    })
    .transpose()
}

/// Rows per multi-row `INSERT` (one statement run for many rows costs less than one per row).
const ROWS_PER_INSERT: usize = 32;

/// Appends `records` after the head (call inside a write transaction). Returns the new head.
pub(super) fn append(
    conn: &Connection,
    records: Vec<AuditRecord>,
) -> StoreResult<Option<AuditHead>> {
    let mut current = head(conn)?;
    let mut rows = Vec::with_capacity(records.len());
    for record in records {
        let (seq, prev_hash) = AuditHead::next_link(current);
        let row = NewRow::of(chain(prev_hash, AuditRecord { seq, ..record }))?;
        current = Some(AuditHead {
            seq,
            hash: row.linked.hash,
        });
        rows.push(row);
    }
    let mut chunks = rows.chunks_exact(ROWS_PER_INSERT);
    for chunk in chunks.by_ref() {
        insert(conn, &INSERT_MANY, chunk)?;
    }
    for row in chunks.remainder() {
        insert(conn, &INSERT_ONE, std::slice::from_ref(row))?;
    }
    Ok(current)
}

/// The retention anchor: the last pruned record's `seq` and `hash` (`None` before any prune).
pub(super) fn anchor(conn: &Connection) -> StoreResult<Option<AuditHead>> {
    seq_and_hash(
        conn,
        "SELECT seq, hash FROM audit_anchor WHERE id = 1",
        "anchor hash",
    )
}

/// Removes the records before the first one at or after `before_ms` (call inside a write
/// transaction), keeping at least the last record: moves the anchor to the last removed
/// record, then deletes up to it. Returns the new anchor and how many records went.
pub(super) fn prune(
    conn: &Connection,
    before_ms: i64,
    now_ms: i64,
) -> StoreResult<Option<crate::AuditPruned>> {
    let Some(head) = head(conn)? else {
        return Ok(None);
    };
    // The chain is cut at one point: everything before the first record that is recent
    // enough (aggregated records may carry earlier times than their neighbours).
    let first_kept: Option<i64> = conn
        .prepare_cached("SELECT MIN(seq) FROM audit_log WHERE time_ms >= ?1")
        .db()?
        .query_row([before_ms], |row| row.get(0))
        .db()?;
    let head_seq = from_seq(head.seq)?;
    let through = first_kept.unwrap_or(head_seq).min(head_seq) - 1;
    let previous = anchor(conn)?.map_or(0, |a| from_seq(a.seq).unwrap_or(0));
    if through <= previous {
        return Ok(None);
    }
    let hash: Vec<u8> = conn
        .prepare_cached("SELECT hash FROM audit_log WHERE seq = ?1")
        .db()?
        .query_row([through], |row| row.get(0))
        .db()?;
    conn.prepare_cached(
        "INSERT INTO audit_anchor (id, seq, hash, pruned_ms) VALUES (1, ?1, ?2, ?3) \
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
         pruned_ms = excluded.pruned_ms",
    )
    .db()?
    .execute(params![through, hash, now_ms])
    .db()?;
    let removed = conn
        .prepare_cached("DELETE FROM audit_log WHERE seq <= ?1")
        .db()?
        .execute([through])
        .db()?;
    let seq = to_seq(through)?;
    Ok(Some(crate::AuditPruned {
        anchor: AuditHead {
            seq,
            hash: to_hash(seq, "hash", &hash)?,
        },
        removed: removed as u64,
    }))
}

/// A linked record with its column values as stored.
struct NewRow {
    seq: i64,
    count: i64,
    context: Option<String>,
    linked: ChainedRecord,
}

impl NewRow {
    fn of(linked: ChainedRecord) -> StoreResult<Self> {
        let context = linked
            .record
            .encryption_context
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| crate::StoreError::Backend(Box::new(e)))?;
        Ok(NewRow {
            seq: from_seq(linked.record.seq)?,
            count: i64::try_from(linked.record.count).unwrap_or(i64::MAX),
            context,
            linked,
        })
    }

    /// The values in [`COLUMNS`] order.
    fn values(&self) -> [&dyn rusqlite::ToSql; COLUMN_COUNT] {
        let r = &self.linked.record;
        [
            &self.seq,
            &r.time_ms,
            &r.request_id,
            &r.access_key_id,
            &r.user_name,
            &r.source_ip,
            &r.action,
            &r.key_id,
            &r.key_version_id,
            &self.context,
            &r.outcome_code,
            &r.http_status,
            &self.linked.prev_hash,
            &self.linked.hash,
            &self.count,
        ]
    }
}

/// The statement inserting one row, and the one inserting [`ROWS_PER_INSERT`].
static INSERT_ONE: LazyLock<String> = LazyLock::new(|| insert_sql(1));
static INSERT_MANY: LazyLock<String> = LazyLock::new(|| insert_sql(ROWS_PER_INSERT));

/// Runs `sql` (cached), made by [`insert_sql`] for `rows.len()` rows, with their values.
fn insert(conn: &Connection, sql: &str, rows: &[NewRow]) -> StoreResult<()> {
    conn.prepare_cached(sql)
        .db()?
        .execute(rusqlite::params_from_iter(
            rows.iter().flat_map(NewRow::values),
        ))
        .db()?;
    Ok(())
}

/// `INSERT INTO audit_log (...) VALUES (?, ...), ...` for `rows` rows.
fn insert_sql(rows: usize) -> String {
    let one = format!("({})", vec!["?"; COLUMN_COUNT].join(", "));
    format!(
        "INSERT INTO audit_log ({COLUMNS}) VALUES {}",
        vec![one.as_str(); rows].join(", ")
    )
}

/// Up to `limit` rows after `after_seq` (and from `since_ms`), in `seq` order.
pub(super) fn list(
    conn: &Connection,
    since_ms: Option<i64>,
    after_seq: u64,
    limit: i64,
) -> StoreResult<Vec<ChainedRecord>> {
    let after = i64::try_from(after_seq).unwrap_or(i64::MAX);
    let mut stmt = match since_ms {
        None => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            ))
            .db()?,
        Some(_) => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq > ?1 AND time_ms >= ?3 \
                 ORDER BY seq LIMIT ?2"
            ))
            .db()?,
    };
    let rows = match since_ms {
        None => stmt.query(params![after, limit]).db()?,
        Some(since) => stmt.query(params![after, limit, since]).db()?,
    };
    rows.mapped(raw_row)
        .map(|raw| raw.db().and_then(RawRow::decode))
        .collect()
}

/// A row as SQLite holds it, before it is checked and decoded: a row altered outside keywarden
/// can hold anything, and the reader must name it rather than fail anonymously.
struct RawRow {
    seq: i64,
    time_ms: rusqlite::types::Value,
    request_id: rusqlite::types::Value,
    access_key_id: rusqlite::types::Value,
    user_name: rusqlite::types::Value,
    source_ip: rusqlite::types::Value,
    action: rusqlite::types::Value,
    key_id: rusqlite::types::Value,
    key_version_id: rusqlite::types::Value,
    encryption_context: rusqlite::types::Value,
    outcome_code: rusqlite::types::Value,
    http_status: rusqlite::types::Value,
    prev_hash: rusqlite::types::Value,
    hash: rusqlite::types::Value,
    count: rusqlite::types::Value,
}

fn raw_row(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        seq: row.get(0)?,
        time_ms: row.get(1)?,
        request_id: row.get(2)?,
        access_key_id: row.get(3)?,
        user_name: row.get(4)?,
        source_ip: row.get(5)?,
        action: row.get(6)?,
        key_id: row.get(7)?,
        key_version_id: row.get(8)?,
        encryption_context: row.get(9)?,
        outcome_code: row.get(10)?,
        http_status: row.get(11)?,
        prev_hash: row.get(12)?,
        hash: row.get(13)?,
        count: row.get(14)?,
    })
}

impl RawRow {
    fn decode(self) -> StoreResult<ChainedRecord> {
        use rusqlite::types::Value;
        let seq = to_seq(self.seq)?;
        let bad = |column: &'static str| -> crate::StoreError {
            SqliteStoreError::AuditRowUnreadable { seq, column }.into()
        };
        let text = |v: Value, column| match v {
            Value::Text(s) => Ok(s),
            _ => Err(bad(column)),
        };
        let opt_text = |v: Value, column| match v {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s)),
            _ => Err(bad(column)),
        };
        let blob = |v: Value, column| match v {
            Value::Blob(b) => to_hash(seq, column, &b),
            _ => Err(bad(column)),
        };
        let encryption_context = match opt_text(self.encryption_context, "encryption_context")? {
            None => None,
            Some(json) => Some(
                serde_json::from_str::<BTreeMap<String, String>>(&json)
                    .map_err(|_| bad("encryption_context"))?,
            ),
        };
        let record = AuditRecord {
            seq,
            time_ms: match self.time_ms {
                Value::Integer(t) => t,
                _ => return Err(bad("time_ms")),
            },
            request_id: text(self.request_id, "request_id")?,
            access_key_id: opt_text(self.access_key_id, "access_key_id")?,
            user_name: opt_text(self.user_name, "user_name")?,
            source_ip: text(self.source_ip, "source_ip")?,
            action: text(self.action, "action")?,
            key_id: opt_text(self.key_id, "key_id")?,
            key_version_id: opt_text(self.key_version_id, "key_version_id")?,
            encryption_context,
            outcome_code: text(self.outcome_code, "outcome_code")?,
            http_status: match self.http_status {
                Value::Integer(s) => u16::try_from(s).map_err(|_| bad("http_status"))?,
                _ => return Err(bad("http_status")),
            },
            count: match self.count {
                Value::Integer(n) if n >= 1 => u64::try_from(n).map_err(|_| bad("count"))?,
                _ => return Err(bad("count")),
            },
        };
        Ok(ChainedRecord {
            record,
            prev_hash: blob(self.prev_hash, "prev_hash")?,
            hash: blob(self.hash, "hash")?,
        })
    }
}

fn to_seq(seq: i64) -> StoreResult<u64> {
    u64::try_from(seq).map_err(|_| {
        SqliteStoreError::AuditRowUnreadable {
            seq: 0,
            column: "seq",
        }
        .into()
    })
}

fn from_seq(seq: u64) -> StoreResult<i64> {
    i64::try_from(seq)
        .map_err(|_| SqliteStoreError::AuditRowUnreadable { seq, column: "seq" }.into())
}

fn to_hash(seq: u64, column: &'static str, bytes: &[u8]) -> StoreResult<Hash> {
    <[u8; HASH_LEN]>::try_from(bytes)
        .map_err(|_| SqliteStoreError::AuditRowUnreadable { seq, column }.into())
}

/// Reads the audit log of a database file without ever writing to it (a read-only
/// connection), so it can run while a server is using the file. Blocking.
pub struct AuditLogReader {
    conn: Connection,
}

impl AuditLogReader {
    /// Opens `path` read-only. Fails if the file is missing or has no audit log yet (written by
    /// a keywarden older than the audit trail and not migrated since).
    pub fn open(path: &Path) -> StoreResult<AuditLogReader> {
        if !path.exists() {
            return Err(SqliteStoreError::NoAuditLog {
                reason: format!("{} does not exist", path.display()),
            }
            .into());
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).db()?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).db()?;
        let exists: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_schema \
                 WHERE type = 'table' AND name = 'audit_log')",
                [],
                |row| row.get(0),
            )
            .db()?;
        if !exists {
            return Err(SqliteStoreError::NoAuditLog {
                reason: format!(
                    "{} has no audit_log table (start `keywarden serve` on it once to migrate)",
                    path.display()
                ),
            }
            .into());
        }
        Ok(AuditLogReader { conn })
    }

    /// The last record's `seq` and `hash`.
    pub fn head(&self) -> StoreResult<Option<AuditHead>> {
        head(&self.conn)
    }

    /// The retention anchor, as [`crate::KeyStore::audit_anchor`].
    pub fn anchor(&self) -> StoreResult<Option<AuditHead>> {
        anchor(&self.conn)
    }

    /// As [`crate::KeyStore::list_audit`].
    pub fn list(
        &self,
        since_ms: Option<i64>,
        after_seq: u64,
        limit: u64,
    ) -> StoreResult<Vec<ChainedRecord>> {
        list(&self.conn, since_ms, after_seq, super::clamp(limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_count_matches_the_list() {
        assert_eq!(COLUMNS.split(',').count(), COLUMN_COUNT);
    }
}
