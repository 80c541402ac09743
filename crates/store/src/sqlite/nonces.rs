//! The signature-nonce window of a SQLite store: fixed-size fingerprints in memory (the check),
//! appended to files beside the database (so a captured request cannot be replayed after a
//! restart).
//!
//! # Memory
//!
//! A remembered request costs one `u64` fingerprint (the first 8 bytes of its 16-byte
//! [`NonceDigest`]) in an open-addressing table, kept between 53 % and [`MAX_LOAD`] (80 %)
//! full: at most 8 / 0.53 = 15 bytes per request, whatever the nonce's length. The
//! fingerprints are grouped in *slots* of [`SLOT_SECS`] by the time they stop counting
//! (`expires_at`, the request's timestamp plus the skew window); a slot is dropped whole once
//! every request in it has expired, so nothing is ever deleted from a table and memory follows
//! the live window exactly. A lookup probes every live slot (a reused nonce may carry another
//! timestamp): about sixteen small probes.
//!
//! Two different requests share a fingerprint with probability 2^-64 per pair: at 30,000
//! requests/s over a 15-minute window, one false "nonce used" in about 10^4 years.
//!
//! # Persistence
//!
//! The API path only pushes the fingerprint on a list under the same lock as the check; a
//! writer thread takes the list every [`FLUSH_EVERY`] and appends each fingerprint to the file
//! of its slot, `<db>-nonces/<slot>.bin` (8 bytes a request, no fsync: a `write()` into the OS
//! page cache survives the process being killed, though not a power loss). Files of expired
//! slots are deleted. At open, the live slots' files are read back. A crash loses the
//! fingerprints of the last [`FLUSH_EVERY`] at most; a graceful stop writes them all.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::pool::lock;
use crate::NonceDigest;

/// Width of a slot, in seconds.
pub(super) const SLOT_SECS: i64 = 64;
/// A table grows when it is this full...
const MAX_LOAD: f64 = 0.8;
/// ...by half, so that it is at least `MAX_LOAD / 1.5` (53 %) full afterwards, and never
/// emptier.
const GROWTH_DIVISOR: usize = 2;
/// How long after its last second a slot is kept: calls read the clock before they take the
/// window's lock, so one that read second `E` may arrive after one that read `E + 1`; it must
/// still find the nonces that count until `E`.
const SLACK_SECS: i64 = SLOT_SECS;
/// How often the writer thread appends what has queued up.
pub(super) const FLUSH_EVERY: Duration = Duration::from_millis(2);

/// The nonces seen, by slot, and the fingerprints not yet written.
#[derive(Debug)]
pub(super) struct NonceWindow {
    inner: Arc<Mutex<Window>>,
    writer: Option<Writer>,
}

#[derive(Debug, Default)]
struct Window {
    /// Slot number (`expires_at.div_euclid(SLOT_SECS)`) to its fingerprints.
    slots: BTreeMap<i64, FpTable>,
    /// Written by the writer thread on its next turn.
    pending: Vec<(i64, u64)>,
}

#[derive(Debug)]
struct Writer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The directory of the window's files beside the database at `db`.
pub(super) fn side_dir(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push("-nonces");
    db.with_file_name(name)
}

/// The side file of the window's first format (a SQLite database); removed at open.
fn legacy_side_file(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".nonces");
    db.with_file_name(name)
}

/// The 64-bit fingerprint of a digest (never 0, which marks an empty table cell).
fn fingerprint(digest: &NonceDigest) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    u64::from_le_bytes(first).max(1)
}

/// The last second whose requests can still be in `slot`.
fn slot_end(slot: i64) -> i64 {
    slot.saturating_add(1).saturating_mul(SLOT_SECS) - 1
}

impl NonceWindow {
    /// An empty window kept in memory only (tests).
    #[cfg(test)]
    pub(super) fn new() -> Self {
        Self {
            inner: Arc::default(),
            writer: None,
        }
    }

    /// Opens (creating) the window's directory beside the database at `db`, loads the slots
    /// still live at `now`, and starts the writer thread.
    pub(super) fn open(db: &Path, now: i64) -> std::io::Result<Self> {
        let legacy = legacy_side_file(db);
        for path in [
            legacy.clone(),
            with_suffix(&legacy, "-wal"),
            with_suffix(&legacy, "-shm"),
        ] {
            if path.exists() {
                fs::remove_file(&path)?;
            }
        }
        let dir = side_dir(db);
        fs::create_dir_all(&dir)?;
        let window = Arc::new(Mutex::new(Window {
            slots: load(&dir, now)?,
            pending: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (window, stop) = (Arc::clone(&window), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("keywarden-nonces".into())
                .spawn(move || write_loop(&dir, &window, &stop))?
        };
        Ok(Self {
            inner: window,
            writer: Some(Writer {
                stop,
                thread: Some(thread),
            }),
        })
    }

    /// Records `digest` until `expires_at` (inclusive); `false` if it is already recorded and
    /// has not expired at `now` (a replay).
    pub(super) fn remember(&self, digest: &NonceDigest, expires_at: i64, now: i64) -> bool {
        let fp = fingerprint(digest);
        let slot = expires_at.div_euclid(SLOT_SECS);
        let mut w = lock(&self.inner);
        w.forget_expired(now);
        // A replay carries the same timestamp, so it lands in the same slot; the other slots
        // are checked too (the same nonce under another timestamp is refused as well).
        if w.slots.iter().any(|(s, t)| *s != slot && t.contains(fp)) {
            return false;
        }
        if !w.slots.entry(slot).or_default().insert(fp) {
            return false;
        }
        if self.writer.is_some() {
            w.pending.push((slot, fp));
        }
        true
    }

    /// Requests remembered and the bytes their tables take (for tests of the memory bound).
    #[cfg(test)]
    fn footprint(&self) -> (usize, usize) {
        let w = lock(&self.inner);
        w.slots
            .values()
            .fold((0, 0), |(n, b), t| (n + t.len, b + t.bytes()))
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

impl Drop for NonceWindow {
    /// Writes what is pending before the store goes away.
    fn drop(&mut self) {
        if let Some(w) = self.writer.as_mut() {
            w.stop.store(true, Ordering::SeqCst);
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl Window {
    /// Drops the slots whose every request expired more than [`SLACK_SECS`] before `now`.
    fn forget_expired(&mut self, now: i64) {
        while let Some(entry) = self.slots.first_entry() {
            if slot_end(*entry.key()).saturating_add(SLACK_SECS) >= now {
                break;
            }
            entry.remove();
        }
    }
}

/// Reads the files of the slots live at `now`; deletes the others.
fn load(dir: &Path, now: i64) -> std::io::Result<BTreeMap<i64, FpTable>> {
    let mut slots = BTreeMap::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let slot = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".bin"))
            .and_then(|n| n.parse::<i64>().ok());
        match slot {
            Some(slot) if slot_end(slot).saturating_add(SLACK_SECS) >= now => {
                let table: &mut FpTable = slots.entry(slot).or_default();
                read_into(&path, table)?;
            }
            _ => fs::remove_file(&path)?,
        }
    }
    Ok(slots)
}

/// Adds the fingerprints of one slot file to `table` (a torn last record is ignored).
fn read_into(path: &Path, table: &mut FpTable) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    for chunk in bytes.chunks_exact(8) {
        let mut fp = [0u8; 8];
        fp.copy_from_slice(chunk);
        table.insert(u64::from_le_bytes(fp).max(1));
    }
    Ok(())
}

/// Fingerprints kept for a retry at most while their files cannot be written (64 MiB); the
/// oldest beyond this are given up (the in-memory window still refuses them until it expires).
const MAX_UNWRITTEN: usize = 1 << 22;

/// Every [`FLUSH_EVERY`]: appends the pending fingerprints to their slots' files and deletes
/// the files of slots no longer in memory; until told to stop (then a last flush). A failed
/// write (a full disk) is cut back to the last whole record and retried on the next round, so
/// no fingerprint is skipped and no file is left misaligned; the failure and the recovery are
/// logged once each.
fn write_loop(dir: &Path, window: &Mutex<Window>, stop: &AtomicBool) {
    let mut files: BTreeMap<i64, SlotFile> = BTreeMap::new();
    let mut unwritten: Vec<(i64, u64)> = Vec::new();
    let mut failing = false;
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        let oldest = {
            let mut w = lock(window);
            unwritten.append(&mut w.pending);
            w.slots.keys().next().copied()
        };
        if let Some(oldest) = oldest {
            unwritten.retain(|(slot, _)| *slot >= oldest);
        }
        match flush(dir, &mut files, &unwritten, oldest) {
            Ok(()) => {
                unwritten.clear();
                if std::mem::take(&mut failing) {
                    tracing::warn!("signature nonces are persisted again");
                }
            }
            Err(e) => {
                if !std::mem::replace(&mut failing, true) {
                    // Not fatal: the in-memory window still refuses replays in this process.
                    tracing::error!(error = %e, "could not persist signature nonces; retrying");
                }
                if let Some(excess) = unwritten.len().checked_sub(MAX_UNWRITTEN) {
                    unwritten.drain(..excess);
                }
            }
        }
        if stopping {
            return;
        }
        std::thread::sleep(FLUSH_EVERY);
    }
}

/// An open slot file and the length of its whole records.
struct SlotFile {
    file: File,
    len: u64,
}

impl SlotFile {
    fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let len = file.metadata()?.len();
        // A torn record from an earlier crash: cut it so every later record stays aligned.
        let len = len - len % 8;
        file.set_len(len)?;
        Ok(Self { file, len })
    }

    /// Appends `bytes`; on failure cuts the file back to its whole records.
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(e)
            }
        }
    }
}

fn flush(
    dir: &Path,
    files: &mut BTreeMap<i64, SlotFile>,
    pending: &[(i64, u64)],
    oldest: Option<i64>,
) -> std::io::Result<()> {
    let mut by_slot: BTreeMap<i64, Vec<u8>> = BTreeMap::new();
    for (slot, fp) in pending {
        by_slot
            .entry(*slot)
            .or_default()
            .extend_from_slice(&fp.to_le_bytes());
    }
    for (slot, bytes) in by_slot {
        let file = match files.entry(slot) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(SlotFile::open(&dir.join(format!("{slot}.bin")))?)
            }
        };
        file.append(&bytes)?;
    }
    if let Some(oldest) = oldest {
        while let Some(entry) = files.first_entry() {
            if *entry.key() >= oldest {
                break;
            }
            let slot = *entry.key();
            entry.remove();
            fs::remove_file(dir.join(format!("{slot}.bin")))?;
        }
    }
    Ok(())
}

/// A set of non-zero `u64`s: linear probing over a vector whose length grows by half when it is
/// [`MAX_LOAD`] full; nothing is ever removed.
#[derive(Debug, Default)]
struct FpTable {
    cells: Vec<u64>,
    len: usize,
}

impl FpTable {
    /// The cell `fp` starts probing at (multiply-shift range reduction: any length works).
    fn home(&self, fp: u64) -> usize {
        ((u128::from(fp) * self.cells.len() as u128) >> 64) as usize
    }

    fn contains(&self, fp: u64) -> bool {
        if self.cells.is_empty() {
            return false;
        }
        let mut i = self.home(fp);
        loop {
            match self.cells.get(i).copied() {
                Some(0) => return false,
                Some(c) if c == fp => return true,
                Some(_) => i += 1,
                None => i = 0,
            }
        }
    }

    /// Adds `fp`; false if it was there already.
    fn insert(&mut self, fp: u64) -> bool {
        if (self.len + 1) as f64 > self.cells.len() as f64 * MAX_LOAD {
            self.grow();
        }
        let added = self.place(fp);
        if added {
            self.len += 1;
        }
        added
    }

    /// Puts `fp` in its cell; false if it was there.
    fn place(&mut self, fp: u64) -> bool {
        let mut i = self.home(fp);
        loop {
            match self.cells.get_mut(i) {
                Some(c) if *c == 0 => {
                    *c = fp;
                    return true;
                }
                Some(c) if *c == fp => return false,
                Some(_) => i += 1,
                None => i = 0,
            }
        }
    }

    fn grow(&mut self) {
        let new_len = (self.cells.len() + self.cells.len() / GROWTH_DIVISOR).max(16);
        let old = std::mem::replace(&mut self.cells, vec![0; new_len]);
        for fp in old.into_iter().filter(|&c| c != 0) {
            self.place(fp);
        }
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.cells.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u64) -> NonceDigest {
        let mut d = [0u8; 16];
        // Spread like a hash would (a bijection): the table relies on uniform fingerprints.
        let x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        d[..8].copy_from_slice(&x.to_le_bytes());
        d
    }

    #[test]
    fn window_survives_reopen_and_forgets_expired() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("k.db");
        let w = NonceWindow::open(&db, 0).unwrap();
        assert!(w.remember(&digest(1), 1_000, 0));
        assert!(w.remember(&digest(2), 5, 0));
        drop(w);
        let w = NonceWindow::open(&db, 500).unwrap();
        assert!(
            !w.remember(&digest(1), 1_200, 500),
            "a replay after restart is refused"
        );
        assert!(
            w.remember(&digest(2), 1_200, 500),
            "expired nonces are forgotten"
        );
        drop(w);
        let files = fs::read_dir(side_dir(&db)).unwrap().count();
        assert_eq!(files, 2, "the expired slot's file was deleted");
    }

    #[test]
    fn replay_refused_until_expiry_inclusive() {
        let w = NonceWindow::new();
        let t0 = 1_700_000_000;
        // A request stamped 900 s ahead, accepted at T0, can pass the skew check until
        // T0 + 1800: it must be refused then, and only accepted again a second later.
        let expires = t0 + 900 + 900;
        assert!(w.remember(&digest(7), expires, t0));
        assert!(!w.remember(&digest(7), expires, t0 + 1800));
        assert!(w.remember(&digest(7), expires + 900, t0 + 1801 + 2 * SLOT_SECS));
    }

    #[test]
    fn reuse_with_another_expiry_is_refused() {
        let w = NonceWindow::new();
        assert!(w.remember(&digest(9), 1_000, 0));
        assert!(!w.remember(&digest(9), 5_000, 10), "other slot, same nonce");
        assert!(w.remember(&digest(10), 1_000, 10));
    }

    #[test]
    fn memory_stays_at_most_sixteen_bytes_a_request() {
        let w = NonceWindow::new();
        for n in 0..1_000_000u64 {
            let now = (n / 1000) as i64;
            assert!(w.remember(&digest(n), now + 900, now));
        }
        let (held, bytes) = w.footprint();
        let per = bytes as f64 / held as f64;
        println!("nonce window: {held} requests in {bytes} bytes, {per:.1} bytes a request");
        assert!(
            per <= 16.0,
            "{per:.1} bytes per request ({held} held, {bytes} bytes)"
        );
        assert!(held <= 1_000_000);
    }

    #[test]
    fn expired_slots_leave_memory() {
        let w = NonceWindow::new();
        for n in 0..100_000u64 {
            let now = (n / 10) as i64;
            assert!(w.remember(&digest(n), now + 60, now));
        }
        let (held, _) = w.footprint();
        // 10 requests a second, each kept 60 s plus at most one slot.
        assert!(held <= 10 * (60 + 3 * SLOT_SECS as usize), "held {held}");
    }

    #[test]
    fn table_never_loses_a_fingerprint() {
        let mut t = FpTable::default();
        for fp in 1..50_000u64 {
            t.insert(fp.wrapping_mul(0xD6E8_FEB8_6659_FD93) | 1);
        }
        for fp in 1..50_000u64 {
            assert!(t.contains(fp.wrapping_mul(0xD6E8_FEB8_6659_FD93) | 1));
        }
        assert!(!t.contains(2));
    }
}
