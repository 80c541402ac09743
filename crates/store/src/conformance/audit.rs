//! Conformance checks for the audit trail: records round-trip field for field, the store assigns
//! `seq` and links every record to its predecessor, listing pages by `seq` and filters by time,
//! and concurrent appenders extend one valid chain.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use keywarden_core::audit::{ChainStart, FIRST_SEQ, GENESIS_HASH, verify};
use tokio::task::JoinSet;

use super::join_all;
use crate::{AuditHead, AuditRecord, ChainedRecord, KeyStore, StoreError, StoreResult};

/// The head an append must return.
fn required(head: Option<AuditHead>) -> StoreResult<AuditHead> {
    head.ok_or_else(|| StoreError::Backend("append_audit returned no head".into()))
}

/// A chain the store built or returned that does not verify.
fn broken(e: keywarden_core::audit::AuditError) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// A record with every optional field set (the `seq` is left for the store to assign).
pub fn sample_audit_record(request_id: &str, time_ms: i64) -> AuditRecord {
    AuditRecord {
        seq: 0,
        time_ms,
        request_id: request_id.to_owned(),
        access_key_id: Some("KWEXAMPLE".into()),
        user_name: Some("admin".into()),
        source_ip: "192.0.2.7".into(),
        action: "kms:Encrypt".into(),
        key_id: Some("key-1".into()),
        key_version_id: Some("version-1".into()),
        encryption_context: Some(BTreeMap::from([
            ("tenant".into(), "acme".into()),
            ("π".into(), "\"quoted\" \\ value".into()),
        ])),
        outcome_code: "Success".into(),
        http_status: 200,
        count: 1,
    }
}

/// Every record from the start, in pages of `size`.
async fn all_records<S: KeyStore + ?Sized>(
    store: &S,
    size: u64,
) -> StoreResult<Vec<ChainedRecord>> {
    let mut out: Vec<ChainedRecord> = Vec::new();
    loop {
        let after = out.last().map_or(0, |r| r.record.seq);
        let page = store.list_audit(None, after, size).await?;
        let len = page.len();
        assert!(len as u64 <= size, "a page holds at most `limit` records");
        out.extend(page);
        if (len as u64) < size {
            return Ok(out);
        }
    }
}

/// Append, list and head: the store numbers records from 1, links each to the previous one
/// (across separate appends), returns exactly what was appended (None and empty strings kept
/// apart), pages on `after_seq`, and filters on `since_ms`.
pub async fn audit_append_list_and_head<S: KeyStore + ?Sized>(store: &S) -> StoreResult<()> {
    assert_eq!(
        store.audit_head().await?,
        None,
        "a new store has an empty log"
    );
    assert!(store.list_audit(None, 0, 10).await?.is_empty());
    assert_eq!(store.append_audit(&[]).await?, None);

    let mut first = sample_audit_record("r1", 1_000);
    first.seq = 999; // ignored: the store numbers records
    let mut bare = sample_audit_record("r2", 3_000);
    bare.access_key_id = None;
    bare.user_name = Some(String::new());
    bare.key_id = None;
    bare.key_version_id = None;
    bare.encryption_context = None;
    bare.action = String::new();
    bare.outcome_code = "InvalidAccessKeyId.NotFound".into();
    bare.http_status = 404;
    let empty_ctx = AuditRecord {
        encryption_context: Some(BTreeMap::new()),
        ..sample_audit_record("r3", 2_000)
    };
    let head = required(
        store
            .append_audit(&[first.clone(), bare.clone(), empty_ctx.clone()])
            .await?,
    )?;
    assert_eq!(head.seq, 3);
    assert_eq!(store.audit_head().await?, Some(head));

    let listed = store.list_audit(None, 0, 100).await?;
    let seqs: Vec<u64> = listed.iter().map(|r| r.record.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    for (got, (want, seq)) in listed
        .iter()
        .zip([(&first, 1), (&bare, 2), (&empty_ctx, 3)])
    {
        assert_eq!(
            got.record,
            AuditRecord {
                seq,
                ..want.clone()
            }
        );
    }
    assert_eq!(listed.first().map(|r| r.prev_hash), Some(GENESIS_HASH));
    assert_eq!(listed.last().map(|r| r.hash), Some(head.hash));
    let summary = verify(ChainStart::Genesis, listed.clone()).map_err(broken)?;
    assert_eq!((summary.count, summary.head_seq), (3, Some(3)));

    // A second append continues the chain.
    let more: Vec<AuditRecord> = (4..=7)
        .map(|i| sample_audit_record(&format!("r{i}"), 1_000 * i))
        .collect();
    let head = required(store.append_audit(&more).await?)?;
    assert_eq!(head.seq, 7);
    let all = all_records(store, 2).await?;
    assert_eq!(all.len(), 7);
    verify(ChainStart::Genesis, all.clone()).map_err(broken)?;
    assert_eq!(all.last().map(|r| r.hash), Some(head.hash));

    // Paging and the time filter.
    let page = store.list_audit(None, 5, 10).await?;
    assert_eq!(
        page.iter().map(|r| r.record.seq).collect::<Vec<_>>(),
        [6, 7]
    );
    let anchored = verify(
        ChainStart::After {
            seq: 5,
            hash: all[4].hash,
        },
        page,
    )
    .map_err(broken)?;
    assert_eq!(anchored.count, 2);
    let since = store.list_audit(Some(2_500), 0, 1).await?;
    assert_eq!(
        since.iter().map(|r| r.record.seq).collect::<Vec<_>>(),
        [2],
        "the first record at or after the time, by seq"
    );
    let since_all = store.list_audit(Some(2_500), 0, 100).await?;
    assert_eq!(
        since_all.iter().map(|r| r.record.seq).collect::<Vec<_>>(),
        [2, 4, 5, 6, 7],
        "seq 3 (2 000 ms) is before the bound although seq 2 is not"
    );
    assert!(store.list_audit(None, 7, 10).await?.is_empty());
    assert!(store.list_audit(None, u64::MAX, 10).await?.is_empty());
    assert!(store.list_audit(None, 0, 0).await?.is_empty());
    Ok(())
}

/// A batch of many records (more than a backend may write with one statement) round-trips
/// field for field, in order, optional fields set or not, and links into one valid chain.
pub async fn large_audit_batches_round_trip<S: KeyStore + ?Sized>(store: &S) -> StoreResult<()> {
    const SIZES: [usize; 3] = [100, 1, 33];
    let mut given = Vec::new();
    for (b, size) in SIZES.into_iter().enumerate() {
        let batch: Vec<AuditRecord> = (0..size)
            .map(|i| {
                let mut r = sample_audit_record(&format!("big{b}-{i}"), i as i64);
                if i % 3 == 1 {
                    r.access_key_id = None;
                    r.user_name = None;
                    r.key_id = None;
                    r.key_version_id = None;
                    r.encryption_context = None;
                    r.outcome_code = "Forbidden.NoPermission".into();
                    r.http_status = 403;
                }
                r
            })
            .collect();
        let head = required(store.append_audit(&batch).await?)?;
        given.extend(batch);
        assert_eq!(head.seq, FIRST_SEQ + given.len() as u64 - 1);
    }
    let stored = all_records(store, 40).await?;
    assert_eq!(stored.len(), given.len());
    for (n, (got, want)) in stored.iter().zip(&given).enumerate() {
        let want = AuditRecord {
            seq: FIRST_SEQ + n as u64,
            ..want.clone()
        };
        assert_eq!(got.record, want, "record {n} round-trips");
    }
    verify(ChainStart::Genesis, stored).map_err(broken)?;
    Ok(())
}

/// Many tasks appending batches at once still produce one chain: seq 1..=n without gaps or
/// duplicates, every link valid, every record present exactly once.
pub async fn concurrent_audit_appends_form_one_chain<S: KeyStore>(
    store: Arc<S>,
) -> StoreResult<()> {
    const TASKS: usize = 16;
    const APPENDS: usize = 12;
    let mut tasks = JoinSet::new();
    for t in 0..TASKS {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let mut heads: Vec<AuditHead> = Vec::new();
            for a in 0..APPENDS {
                let batch: Vec<AuditRecord> = (0..=(a % 3))
                    .map(|i| sample_audit_record(&format!("t{t}-a{a}-i{i}"), 5))
                    .collect();
                heads.push(required(store.append_audit(&batch).await?)?);
            }
            StoreResult::Ok(heads)
        });
    }
    let mut head_seqs = HashSet::new();
    for result in join_all(tasks).await? {
        for head in result? {
            assert!(head_seqs.insert(head.seq), "two appends ended at one seq");
        }
    }
    let all = all_records(&*store, 50).await?;
    let per_task: usize = (0..APPENDS).map(|a| a % 3 + 1).sum();
    assert_eq!(all.len(), TASKS * per_task);
    let summary = verify(ChainStart::Genesis, all.clone()).map_err(broken)?;
    assert_eq!(summary.head_seq, Some(FIRST_SEQ + all.len() as u64 - 1));
    let ids: HashSet<&str> = all.iter().map(|r| r.record.request_id.as_str()).collect();
    assert_eq!(ids.len(), all.len(), "every record exactly once");
    assert_eq!(
        store.audit_head().await?.map(|h| h.seq),
        summary.head_seq,
        "the head is the last record"
    );
    Ok(())
}

/// Retention: a prune removes the records before the first recent one (never the last), moves
/// the anchor to the last removed record, and what is left verifies from that anchor and
/// keeps growing one chain; a second prune with nothing old is a no-op; an aggregated
/// record's count round-trips.
pub async fn audit_prune_keeps_a_verifiable_rest<S: KeyStore + ?Sized>(
    store: &S,
) -> StoreResult<()> {
    assert_eq!(store.audit_anchor().await?, None);
    assert_eq!(store.prune_audit(10_000, 50_000).await?, None, "empty log");
    let mut records: Vec<AuditRecord> = (0..10)
        .map(|i| sample_audit_record(&format!("p{i}"), 1_000 * (i + 1)))
        .collect();
    records[3].count = 17;
    store.append_audit(&records).await?;
    let before = all_records(store, 100).await?;
    assert_eq!(before[3].record.count, 17, "the count round-trips");

    // Records at 1000..=5000 ms are older than 5500.
    let pruned = store
        .prune_audit(5_500, 50_000)
        .await?
        .ok_or_else(|| StoreError::Backend("nothing pruned".into()))?;
    assert_eq!(pruned.removed, 5);
    assert_eq!(pruned.anchor.seq, FIRST_SEQ + 4);
    assert_eq!(pruned.anchor.hash, before[4].hash);
    assert_eq!(store.audit_anchor().await?, Some(pruned.anchor));
    let rest = all_records(store, 100).await?;
    assert_eq!(rest.len(), 5);
    assert_eq!(rest[0].record.seq, FIRST_SEQ + 5);
    let start = ChainStart::After {
        seq: pruned.anchor.seq,
        hash: pruned.anchor.hash,
    };
    verify(start, rest.clone()).map_err(broken)?;
    assert!(
        verify(ChainStart::Genesis, rest).is_err(),
        "from genesis the pruned head shows"
    );
    assert_eq!(store.prune_audit(5_500, 60_000).await?, None, "nothing new");

    // Everything old: the last record stays (it is the head the next append links to).
    let head = store.audit_head().await?;
    let all = store
        .prune_audit(i64::MAX, 70_000)
        .await?
        .ok_or_else(|| StoreError::Backend("nothing pruned".into()))?;
    assert_eq!(all.removed, 4);
    assert_eq!(store.audit_head().await?, head);
    store
        .append_audit(&[sample_audit_record("after", 99_000)])
        .await?;
    let rest = all_records(store, 100).await?;
    assert_eq!(rest.len(), 2);
    verify(
        ChainStart::After {
            seq: all.anchor.seq,
            hash: all.anchor.hash,
        },
        rest,
    )
    .map_err(broken)?;
    Ok(())
}

/// Audit fields hold whatever a caller claimed, unauthenticated: a claimed access key id, user
/// name, action, key id, request id and encryption context holding a NUL, C0 and C1 control
/// characters, bidirectional controls and non-ASCII text round-trip exactly, and the chain
/// over them verifies.
pub async fn audit_strings_round_trip_whatever_they_hold<S: KeyStore + ?Sized>(
    store: &S,
) -> StoreResult<()> {
    /// A string with a NUL, C0 and C1 controls, bidi controls and non-ASCII text around `tag`.
    fn odd(tag: &str) -> String {
        format!(
            "{tag}\0nul\u{1}\u{7}\t\n\r\u{1b}[31m\u{7f}\u{80}\u{85}\u{9f}\u{202e}evil\u{202c}\u{2066}\u{2069}\u{200f}é漢字🔑\u{feff}\u{10ffff}end"
        )
    }
    let mut record = sample_audit_record(&odd("request"), 4_000);
    record.access_key_id = Some(odd("KW"));
    record.user_name = Some(odd("user"));
    record.action = odd("kms:Encrypt");
    record.key_id = Some(odd("key"));
    record.key_version_id = Some(odd("version"));
    record.encryption_context = Some(BTreeMap::from([
        ("tenant".into(), odd("value")),
        (odd("key"), "\0".into()),
        ("empty".into(), String::new()),
    ]));
    let plain = sample_audit_record("plain", 4_001);
    let head = required(store.append_audit(&[record.clone(), plain.clone()]).await?)?;
    let stored = all_records(store, 10).await?;
    assert_eq!(stored.len(), 2);
    for (got, (want, seq)) in stored.iter().zip([(&record, 1), (&plain, 2)]) {
        assert_eq!(
            got.record,
            AuditRecord {
                seq,
                ..want.clone()
            },
            "the record round-trips exactly"
        );
    }
    let summary = verify(ChainStart::Genesis, stored.clone()).map_err(broken)?;
    assert_eq!(summary.head_seq, Some(head.seq));
    assert_eq!(stored.last().map(|r| r.hash), Some(head.hash));
    Ok(())
}
