//! The connections of one [`SqliteStore`](super::SqliteStore): one writer and a few readers.
//!
//! SQLite allows one writer at a time per file, so all writes go through a single connection
//! behind a mutex, each in an immediate transaction. In WAL mode readers never wait for that
//! writer, so reads use a small pool of read-only (`query_only`) connections, picked round-robin
//! with a preference for an idle one; each read runs in one transaction and so sees one snapshot
//! (a page of rows and its total agree).
//!
//! rusqlite is synchronous: every closure runs on tokio's blocking pool, never on a runtime
//! worker.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::error::{SqlResultExt, SqliteStoreError, join_failed};
use super::schema;
use crate::StoreResult;

/// Read connections per store.
const READERS: usize = 4;

/// How long a statement waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// How long the post-destruction checkpoint waits for readers to leave the log. Short, because
/// it holds the writer meanwhile; a checkpoint that cannot finish in time is left to the next
/// one (the freed pages are zeroed in the database file either way).
const CHECKPOINT_PATIENCE: Duration = Duration::from_millis(200);

/// Prepared statements cached per connection (the store uses fewer than this).
const STATEMENT_CACHE: usize = 64;

/// One writer and [`READERS`] readers on the same database file.
pub(super) struct Pool {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl Pool {
    /// Opens (creating if missing) and migrates the database at `path`, then opens the readers.
    /// Blocking.
    pub(super) fn open(path: &Path) -> StoreResult<Pool> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut writer = Connection::open_with_flags(path, flags).db()?;
        configure(&writer)?;
        quick_check(&writer)?;
        enable_wal(&writer)?;
        schema::migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| open_reader(path).map(Mutex::new))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Pool {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// Runs `work` in an immediate transaction on the writer and commits if it succeeds.
    pub(super) async fn write<T, F>(self: &Arc<Self>, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = Arc::clone(self);
        blocking(move || pool.write_now(work)).await
    }

    /// Runs `work` in a read transaction on a reader connection.
    pub(super) async fn read<T, F>(self: &Arc<Self>, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = Arc::clone(self);
        blocking(move || pool.read_now(work)).await
    }

    /// Copies the write-ahead log into the database file and truncates it, so that page images
    /// written before a deletion do not outlive it in the log. Best effort: readers still using
    /// the log after [`CHECKPOINT_PATIENCE`] leave it for a later checkpoint, and writes are
    /// never held up longer than that.
    pub(super) async fn checkpoint(self: &Arc<Self>) -> StoreResult<()> {
        let pool = Arc::clone(self);
        blocking(move || {
            let conn = lock(&pool.writer);
            conn.busy_timeout(CHECKPOINT_PATIENCE).db()?;
            let done = conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .db();
            conn.busy_timeout(BUSY_TIMEOUT).db()?;
            done
        })
        .await
    }

    fn write_now<T>(&self, work: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        let out = work(&tx)?;
        tx.commit().db()?;
        Ok(out)
    }

    fn read_now<T>(&self, work: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.checkout_reader();
        let tx = conn.transaction().db()?;
        let out = work(&tx)?;
        tx.commit().db()?;
        Ok(out)
    }

    /// An idle reader if there is one, else waits for the next one in round-robin order.
    fn checkout_reader(&self) -> MutexGuard<'_, Connection> {
        let count = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let mut in_turn = self
            .readers
            .iter()
            .cycle()
            .skip(start.checked_rem(count).unwrap_or(0));
        for reader in in_turn.clone().take(count) {
            match reader.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        match in_turn.next() {
            Some(reader) => lock(reader),
            None => lock(&self.writer),
        }
    }
}

/// Locks a connection mutex. A panic while it was held cannot leave a connection inconsistent
/// (an open rusqlite transaction rolls back when dropped), so poisoning is ignored.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs blocking work on tokio's blocking pool.
async fn blocking<T, F>(work: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(join_failed)?
}

/// Per-connection settings: durable commits, enforced foreign keys, patience with other
/// processes' locks, and `secure_delete` so that deleted rows (destroyed key material) are
/// overwritten with zeros in the file instead of lingering in free pages.
fn configure(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(BUSY_TIMEOUT).db()?;
    conn.pragma_update(None, "synchronous", "FULL").db()?;
    conn.pragma_update(None, "secure_delete", "ON").db()?;
    conn.pragma_update(None, "foreign_keys", "ON").db()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Switches the file to write-ahead logging (persistent) and checks that SQLite agreed.
fn enable_wal(conn: &Connection) -> StoreResult<()> {
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .db()?;
    if mode.eq_ignore_ascii_case("wal") {
        Ok(())
    } else {
        Err(SqliteStoreError::NotWal { mode }.into())
    }
}

/// A connection that can read but never write.
/// Lines of a failed check kept in the error.
const CHECK_LINES: usize = 5;

/// `PRAGMA quick_check` (every page's structure, not index contents: linear in the file size):
/// damage is found at open, with a clear refusal, instead of at the first call that reads the
/// damaged page.
fn quick_check(conn: &Connection) -> StoreResult<()> {
    let corrupt =
        |findings: String| crate::StoreError::from(SqliteStoreError::Corrupt { findings });
    // Damage so bad that the check itself fails is damage too; anything else (a busy lock) is
    // an ordinary failure.
    let failed = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
            corrupt(e.to_string())
        }
        _ => super::error::classify(e),
    };
    let mut stmt = conn.prepare("PRAGMA quick_check").map_err(failed)?;
    let rows = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .and_then(|rows| rows.take(CHECK_LINES).collect::<rusqlite::Result<Vec<_>>>())
        .map_err(failed)?;
    match rows.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        findings => Err(corrupt(findings.join("; "))),
    }
}

fn open_reader(path: &Path) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).db()?;
    configure(&conn)?;
    conn.pragma_update(None, "query_only", "ON").db()?;
    Ok(conn)
}
