//! The signature-nonce window of a SQLite store: an in-memory map (the check) backed by a side
//! file, `<db>.nonces` (so a captured request cannot be replayed after a restart).
//!
//! The check takes a lock only around a hash-map insert; persistence runs on a writer thread that
//! owns the side file's connection and commits whatever has queued up in one transaction, so the
//! API path never waits for SQLite. The side file is its own database in WAL mode with
//! `synchronous=OFF`: a commit is a `write()` into the OS page cache, which survives the process
//! being killed (SIGKILL, crash, restart) though not a power loss. What the writer had not yet
//! committed when the process died (microseconds' worth) is forgotten; a graceful stop drains the
//! queue first. At open, the unexpired nonces are loaded back into memory.
//!
//! The SQLite store serves one server process, so that process's map is the whole window.
//! Memory stays proportional to the live window: once the map has grown to twice its size after
//! the last purge (and at least [`MIN_PURGE_AT`] entries), expired nonces are dropped from the map
//! and the file. That is amortised O(1) per request.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use rusqlite::{Connection, params};

use super::pool::lock;

/// The map size below which no purge is attempted.
const MIN_PURGE_AT: usize = 1024;
/// Nonces that may wait for the writer before the API path waits for it (backpressure).
const QUEUE: usize = 1 << 16;

/// Nonces seen and the unix second at which each stops counting.
#[derive(Debug)]
pub(super) struct NonceWindow {
    inner: Mutex<Nonces>,
    writer: Option<Writer>,
}

#[derive(Debug)]
struct Nonces {
    expiry: HashMap<String, i64>,
    purge_at: usize,
}

/// What the writer thread does to the side file.
enum Op {
    Insert(String, i64),
    Purge(i64),
}

#[derive(Debug)]
struct Writer {
    queue: Option<SyncSender<Op>>,
    thread: Option<JoinHandle<()>>,
}

/// The side file beside the database at `db`.
pub(super) fn side_path(db: &Path) -> std::path::PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".nonces");
    db.with_file_name(name)
}

impl NonceWindow {
    /// An empty window kept in memory only (tests).
    #[cfg(test)]
    pub(super) fn new() -> Self {
        Self::with(HashMap::new(), None)
    }

    fn with(expiry: HashMap<String, i64>, writer: Option<Writer>) -> Self {
        let purge_at = expiry.len().saturating_mul(2).max(MIN_PURGE_AT);
        NonceWindow {
            inner: Mutex::new(Nonces { expiry, purge_at }),
            writer,
        }
    }

    /// Opens (creating) the side file at `path`, loads the nonces still live at `now`, and starts
    /// the writer thread.
    pub(super) fn open(path: &Path, now: i64) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expires_at);",
        )?;
        conn.execute("DELETE FROM nonces WHERE expires_at <= ?1", params![now])?;
        let expiry = {
            let mut stmt = conn.prepare("SELECT nonce, expires_at FROM nonces")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            rows.collect::<rusqlite::Result<HashMap<_, _>>>()?
        };
        let (queue, rx) = sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("keywarden-nonces".into())
            .spawn(move || write_loop(&conn, &rx))
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Self::with(
            expiry,
            Some(Writer {
                queue: Some(queue),
                thread: Some(thread),
            }),
        ))
    }

    /// Records `nonce` until `expires_at`; `false` if it is already recorded and not expired at
    /// `now` (a replay).
    pub(super) fn remember(&self, nonce: &str, expires_at: i64, now: i64) -> bool {
        let purge = {
            let mut n = lock(&self.inner);
            if n.expiry.get(nonce).is_some_and(|&until| until > now) {
                return false;
            }
            n.expiry.insert(nonce.to_owned(), expires_at);
            n.expiry.len() >= n.purge_at && {
                n.purge(now);
                true
            }
        };
        if let Some(queue) = self.writer.as_ref().and_then(|w| w.queue.as_ref()) {
            // A send fails only if the writer thread died; the in-memory check still holds.
            let _ = queue.send(Op::Insert(nonce.to_owned(), expires_at));
            if purge {
                let _ = queue.send(Op::Purge(now));
            }
        }
        true
    }

    /// Nonces currently held, expired or not (for tests of the purge).
    #[cfg(test)]
    fn held(&self) -> usize {
        lock(&self.inner).expiry.len()
    }
}

impl Drop for NonceWindow {
    /// Drains the queue into the side file before the store goes away.
    fn drop(&mut self) {
        if let Some(w) = self.writer.as_mut() {
            drop(w.queue.take());
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl Nonces {
    /// Drops expired nonces and sets the next purge at twice what is left.
    fn purge(&mut self, now: i64) {
        self.expiry.retain(|_, until| *until > now);
        self.purge_at = self.expiry.len().saturating_mul(2).max(MIN_PURGE_AT);
    }
}

/// Commits queued operations in batches until every sender is gone.
fn write_loop(conn: &Connection, rx: &Receiver<Op>) {
    while let Ok(first) = rx.recv() {
        let batch: Vec<Op> = std::iter::once(first)
            .chain(rx.try_iter().take(4096))
            .collect();
        if let Err(e) = write_batch(conn, &batch) {
            // Not fatal: the in-memory window still refuses replays in this process.
            eprintln!("keywarden: could not persist signature nonces: {e}");
        }
    }
}

fn write_batch(conn: &Connection, batch: &[Op]) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    for op in batch {
        match op {
            Op::Insert(nonce, exp) => {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO nonces (nonce, expires_at) VALUES (?1, ?2)",
                )?
                .execute(params![nonce, exp])?;
            }
            Op::Purge(now) => {
                tx.execute("DELETE FROM nonces WHERE expires_at <= ?1", params![now])?;
            }
        }
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    impl NonceWindow {
        fn remember_ok(&self, nonce: &str, expires_at: i64, now: i64) -> bool {
            self.remember(nonce, expires_at, now)
        }
    }

    #[test]
    fn window_survives_reopen_and_forgets_expired() {
        let dir = tempfile::tempdir().unwrap();
        let path = side_path(&dir.path().join("k.db"));
        let w = NonceWindow::open(&path, 0).unwrap();
        assert!(w.remember_ok("live", 100, 0));
        assert!(w.remember_ok("old", 5, 0));
        drop(w);
        let w = NonceWindow::open(&path, 10).unwrap();
        assert!(
            !w.remember_ok("live", 200, 10),
            "a replay after restart is refused"
        );
        assert!(
            w.remember_ok("old", 200, 10),
            "expired nonces are forgotten"
        );
    }

    #[test]
    fn replay_inside_window_is_refused() {
        let window = NonceWindow::new();
        assert!(window.remember_ok("n", 100, 10));
        assert!(!window.remember_ok("n", 100, 99));
        assert!(window.remember_ok("other", 100, 10));
    }

    #[test]
    fn expired_nonce_is_accepted_again() {
        let window = NonceWindow::new();
        assert!(window.remember_ok("n", 100, 10));
        assert!(window.remember_ok("n", 200, 100));
        assert!(!window.remember_ok("n", 300, 150));
    }

    #[test]
    fn purge_keeps_memory_near_the_live_window() {
        let window = NonceWindow::new();
        for i in 0..100_000 {
            // Each nonce lives for 10 seconds; one request per second-tick of 100 nonces.
            let now = i / 100;
            assert!(window.remember_ok(&format!("n{i}"), now + 10, now));
        }
        // About 1,000 nonces are live at the end; the purge bound is twice that plus slack.
        assert!(window.held() <= 4 * MIN_PURGE_AT, "held {}", window.held());
    }

    #[test]
    fn purge_never_forgets_a_live_nonce() {
        let window = NonceWindow::new();
        assert!(window.remember_ok("keep", 1_000_000, 0));
        for i in 0..10_000 {
            assert!(window.remember_ok(&format!("n{i}"), 1, 0));
        }
        assert!(!window.remember_ok("keep", 1_000_000, 5));
    }
}
