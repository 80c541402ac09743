//! `keywarden audit`: prints the audit trail, one JSON object per line (the record, its
//! `prev_hash` and its `hash`, as `keywarden_core::audit::ChainedRecord` serializes), and with
//! `--verify` checks the hash chain. It reads `<data-dir>/keywarden.db` directly through a
//! read-only connection, or with `--store postgres://...` the shared store of several nodes
//! (one trail for all of them), so it needs no server and can run beside one.
//!
//! `--since`/`--until` select what is printed (by record time), `--format table` prints one
//! aligned line per record for people instead of JSON lines for a SIEM.
//!
//! What is verified:
//! - without `--since`, the whole log from genesis (seq 1, zero `prev_hash`), or, once
//!   `serve --audit-retention` pruned old records, from the retention anchor (the last removed
//!   record's seq and hash): any changed, removed, inserted or reordered record, and a cut-off
//!   head;
//! - with `--since`, the run from the first record at or after that time to the end: its links
//!   only (nothing before it is read);
//! - with `--expect-head SEQ:HASH` (a head the server logged earlier), also that the chain
//!   passes through that record with that hash: a tail cut off after it was published, or a
//!   log rewritten whole, is caught. Verification then starts at that record at the latest.
//!
//! A failure names the first bad record's seq and exits with [`exit::AUDIT_TAMPERED`].

use std::io::{BufWriter, Write};

use anyhow::Context;
use keywarden_core::audit::{ChainStart, ChainVerifier, ChainedRecord, FIRST_SEQ};
use keywarden_server::StoreLocation;
use keywarden_store::postgres::{PgStore, PgStoreError};
use keywarden_store::sqlite::{AuditLogReader, SqliteStoreError};
use keywarden_store::{AuditHead, KeyStore, StoreResult};

use crate::cli::{AuditArgs, AuditFormat};
use crate::exit;

/// Records read per query.
const PAGE: u64 = 1000;

/// Runs the command.
pub fn run(args: AuditArgs) -> anyhow::Result<()> {
    let reader = Trail::open(&args)?;
    let verify = args.verify || args.expect_head.is_some();
    // Where the trail starts: genesis, or after the records retention removed.
    let anchor = reader.anchor().map_err(store_error)?;
    let first_seq = anchor.map_or(FIRST_SEQ, |a| a.seq.saturating_add(1));
    let print_from = match args.since {
        None => Some(first_seq),
        Some(ms) => first_seq_since(&reader, ms)?,
    };
    let expect = args.expect_head;
    // Where reading starts: the first record to print, or earlier to reach the expected head.
    let start = match (print_from, expect) {
        (Some(p), Some(h)) => Some(p.min(h.seq)),
        (Some(p), None) => Some(p),
        (None, Some(h)) => Some(h.seq),
        (None, None) => None,
    };
    let chain_start = match (start, anchor) {
        (Some(s), None) if s == FIRST_SEQ => ChainStart::Genesis,
        (Some(s), Some(a)) if s == first_seq => ChainStart::After {
            seq: a.seq,
            hash: a.hash,
        },
        _ => ChainStart::Unanchored,
    };
    let mut walk = Walk {
        verifier: ChainVerifier::new(chain_start),
        verify,
        expect,
        expect_seen: false,
        print_from: if args.quiet { None } else { print_from },
        until_ms: args.until,
        format: args.format,
        out: BufWriter::new(std::io::stdout().lock()),
        first: None,
        last: None,
        anchor: anchor.filter(|_| matches!(chain_start, ChainStart::After { .. })),
    };
    if let Some(start) = start {
        if !walk.read_from(&reader, start)? {
            return Ok(()); // stdout closed (`| head`): stop quietly
        }
    }
    walk.finish()
}

/// The `seq` of the first record at or after `since_ms`.
fn first_seq_since(reader: &Trail, since_ms: i64) -> anyhow::Result<Option<u64>> {
    let first = reader.list(Some(since_ms), 0, 1).map_err(store_error)?;
    Ok(first.first().map(|r| r.record.seq))
}

/// Where the trail is read from: the SQLite file of a data dir, or a PostgreSQL store.
enum Trail {
    Sqlite(AuditLogReader),
    Postgres(tokio::runtime::Runtime, PgStore),
}

impl Trail {
    fn open(args: &AuditArgs) -> anyhow::Result<Trail> {
        match &args.store {
            StoreLocation::Sqlite => {
                let db = args.data_dir.join("keywarden.db");
                let reader = AuditLogReader::open(&db).with_context(|| {
                    format!("cannot read the audit trail of {}", args.data_dir.display())
                })?;
                Ok(Trail::Sqlite(reader))
            }
            StoreLocation::Postgres(url) => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let store = runtime
                    .block_on(PgStore::connect_reader(url))
                    .with_context(|| {
                        format!(
                            "cannot read the audit trail of {}",
                            keywarden_store::postgres::redacted(url)
                        )
                    })?;
                Ok(Trail::Postgres(runtime, store))
            }
        }
    }

    fn anchor(&self) -> StoreResult<Option<AuditHead>> {
        match self {
            Trail::Sqlite(r) => r.anchor(),
            Trail::Postgres(rt, store) => rt.block_on(store.audit_anchor()),
        }
    }

    fn list(
        &self,
        since_ms: Option<i64>,
        after_seq: u64,
        limit: u64,
    ) -> StoreResult<Vec<ChainedRecord>> {
        match self {
            Trail::Sqlite(r) => r.list(since_ms, after_seq, limit),
            Trail::Postgres(rt, store) => rt.block_on(store.list_audit(since_ms, after_seq, limit)),
        }
    }
}

/// An unreadable row is evidence of tampering: it gets the tampering exit code.
fn store_error(e: keywarden_store::StoreError) -> anyhow::Error {
    if let keywarden_store::StoreError::Backend(inner) = &e {
        if let Some(unreadable @ SqliteStoreError::AuditRowUnreadable { .. }) =
            inner.downcast_ref::<SqliteStoreError>()
        {
            return exit::fail(exit::AUDIT_TAMPERED, unreadable.to_string());
        }
        if let Some(unreadable @ PgStoreError::AuditRowUnreadable { .. }) =
            inner.downcast_ref::<PgStoreError>()
        {
            return exit::fail(exit::AUDIT_TAMPERED, unreadable.to_string());
        }
    }
    anyhow::Error::new(e).context("reading the audit trail")
}

struct Walk<W: Write> {
    verifier: ChainVerifier,
    verify: bool,
    expect: Option<AuditHead>,
    expect_seen: bool,
    print_from: Option<u64>,
    /// Records after this time are verified but not printed.
    until_ms: Option<i64>,
    format: AuditFormat,
    out: W,
    first: Option<u64>,
    last: Option<ChainedRecord>,
    /// The retention anchor verification started from.
    anchor: Option<AuditHead>,
}

impl<W: Write> Walk<W> {
    /// Reads every record from `start` to the end. `Ok(false)` when stdout was closed.
    fn read_from(&mut self, reader: &Trail, start: u64) -> anyhow::Result<bool> {
        let mut after = start.saturating_sub(1);
        loop {
            let page = reader.list(None, after, PAGE).map_err(store_error)?;
            let full = page.len() as u64 == PAGE;
            for rec in page {
                after = rec.record.seq;
                if !self.take(rec)? {
                    return Ok(false);
                }
            }
            if !full {
                return Ok(true);
            }
        }
    }

    /// Verifies and prints one record. `Ok(false)` when stdout was closed.
    fn take(&mut self, rec: ChainedRecord) -> anyhow::Result<bool> {
        if self.verify {
            if let Err(e) = self.verifier.push(&rec) {
                self.out.flush().ok();
                return Err(exit::fail(exit::AUDIT_TAMPERED, e.to_string()));
            }
            if let Some(head) = self.expect.filter(|h| h.seq == rec.record.seq) {
                if head.hash != rec.hash {
                    self.out.flush().ok();
                    return Err(exit::fail(
                        exit::AUDIT_TAMPERED,
                        format!(
                            "audit record seq {}: its hash is not the expected head's: the log was rewritten",
                            head.seq
                        ),
                    ));
                }
                self.expect_seen = true;
            }
        }
        let in_window = self.until_ms.is_none_or(|u| rec.record.time_ms <= u);
        if self.print_from.is_some_and(|p| rec.record.seq >= p) && in_window {
            let line = match self.format {
                AuditFormat::Jsonl => serde_json::to_string(&rec)?,
                AuditFormat::Table => table_line(&rec),
            };
            if let Err(e) = writeln!(self.out, "{line}") {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return Ok(false);
                }
                return Err(e.into());
            }
        }
        self.first.get_or_insert(rec.record.seq);
        self.last = Some(rec);
        Ok(true)
    }

    fn finish(mut self) -> anyhow::Result<()> {
        match self.out.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            other => other?,
        }
        if !self.verify {
            return Ok(());
        }
        let last_seq = self.last.as_ref().map(|r| r.record.seq);
        if let Some(head) = self.expect.filter(|_| !self.expect_seen) {
            return Err(exit::fail(
                exit::AUDIT_TAMPERED,
                match last_seq {
                    Some(last) => format!(
                        "audit record seq {last}: the log ends at seq {last}, before the expected head seq {}: records were removed from its end",
                        head.seq
                    ),
                    None => format!(
                        "the audit log has no records from seq {}: records were removed",
                        head.seq
                    ),
                },
            ));
        }
        let summary = self.verifier.summary();
        match (self.first, &self.last) {
            (Some(first), Some(last)) => eprintln!(
                "keywarden: audit trail verified: {} records, seq {first} to {}{}; head {}",
                summary.count,
                last.record.seq,
                match self.anchor {
                    _ if first == FIRST_SEQ => " (from genesis)".to_owned(),
                    Some(a) => format!(" (from the retention anchor {a})"),
                    None => String::new(),
                },
                AuditHead {
                    seq: last.record.seq,
                    hash: last.hash
                }
            ),
            _ => eprintln!("keywarden: audit trail verified: no records to check"),
        }
        Ok(())
    }
}

/// One record as an aligned line: time (UTC), seq, outcome, status, action, key, caller,
/// source, and the count when it stands for several requests.
fn table_line(rec: &ChainedRecord) -> String {
    let r = &rec.record;
    let time = keywarden_core::dates::format_unix(r.time_ms.div_euclid(1000));
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let caller = match (&r.user_name, &r.access_key_id) {
        (Some(user), _) => user.clone(),
        (None, Some(key)) => format!("({key})"),
        (None, None) => "-".to_owned(),
    };
    let count = if r.count == 1 {
        String::new()
    } else {
        format!("  x{}", r.count)
    };
    format!(
        "{time}  {:>8}  {:<28} {:>3}  {:<28} {:<36}  {:<20} {}{count}",
        r.seq,
        r.outcome_code,
        r.http_status,
        if r.action.is_empty() { "-" } else { &r.action },
        dash(&r.key_id),
        caller,
        r.source_ip,
    )
}
