//! `keywarden audit`: prints the audit trail, one JSON object per line (the record, its
//! `prev_hash` and its `hash`, as `keywarden_core::audit::ChainedRecord` serializes), and with
//! `--verify` checks the hash chain. It reads `<data-dir>/keywarden.db` directly through a
//! read-only connection, so it needs no server and can run beside one.
//!
//! What is verified:
//! - without `--since`, the whole log from genesis (seq 1, zero `prev_hash`): any changed,
//!   removed, inserted or reordered record, and a cut-off head;
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
use keywarden_store::AuditHead;
use keywarden_store::sqlite::{AuditLogReader, SqliteStoreError};

use crate::cli::AuditArgs;
use crate::exit;

/// Records read per query.
const PAGE: u64 = 1000;

/// Runs the command.
pub fn run(args: AuditArgs) -> anyhow::Result<()> {
    let db = args.data_dir.join("keywarden.db");
    let reader = AuditLogReader::open(&db)
        .with_context(|| format!("cannot read the audit trail of {}", args.data_dir.display()))?;
    let verify = args.verify || args.expect_head.is_some();
    let print_from = match args.since {
        None => Some(FIRST_SEQ),
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
    let mut walk = Walk {
        verifier: ChainVerifier::new(if start == Some(FIRST_SEQ) {
            ChainStart::Genesis
        } else {
            ChainStart::Unanchored
        }),
        verify,
        expect,
        expect_seen: false,
        print_from: if args.quiet { None } else { print_from },
        out: BufWriter::new(std::io::stdout().lock()),
        first: None,
        last: None,
    };
    if let Some(start) = start {
        if !walk.read_from(&reader, start)? {
            return Ok(()); // stdout closed (`| head`): stop quietly
        }
    }
    walk.finish()
}

/// The `seq` of the first record at or after `since_ms`.
fn first_seq_since(reader: &AuditLogReader, since_ms: i64) -> anyhow::Result<Option<u64>> {
    let first = reader.list(Some(since_ms), 0, 1).map_err(store_error)?;
    Ok(first.first().map(|r| r.record.seq))
}

/// An unreadable row is evidence of tampering: it gets the tampering exit code.
fn store_error(e: keywarden_store::StoreError) -> anyhow::Error {
    if let keywarden_store::StoreError::Backend(inner) = &e {
        if let Some(unreadable @ SqliteStoreError::AuditRowUnreadable { .. }) =
            inner.downcast_ref::<SqliteStoreError>()
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
    out: W,
    first: Option<u64>,
    last: Option<ChainedRecord>,
}

impl<W: Write> Walk<W> {
    /// Reads every record from `start` to the end. `Ok(false)` when stdout was closed.
    fn read_from(&mut self, reader: &AuditLogReader, start: u64) -> anyhow::Result<bool> {
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
        if self.print_from.is_some_and(|p| rec.record.seq >= p) {
            let line = serde_json::to_string(&rec)?;
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
                if first == FIRST_SEQ {
                    " (from genesis)"
                } else {
                    ""
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
