//! How fast the audit trail absorbs records: straight `append_audit` batches, and the writer
//! (group commit) fed by many concurrent submitters, as API handlers feed it. Ignored by default;
//! run with `cargo test --release -p keywarden-server --test audit_throughput -- --ignored
//! --nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::sync::Arc;
use std::time::Instant;

use keywarden_server::audit::{self, AuditOptions};
use keywarden_store::conformance::sample_audit_record;
use keywarden_store::sqlite::SqliteStore;
use keywarden_store::{AuditRecord, KeyStore};

fn record(i: usize) -> AuditRecord {
    sample_audit_record(
        &format!("{i:08}-0000-0000-0000-000000000000"),
        audit::now_ms(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
#[ignore = "benchmark"]
async fn audit_append_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn KeyStore> = Arc::new(
        SqliteStore::open(&dir.path().join("keywarden.db"))
            .await
            .unwrap(),
    );

    for batch in [1usize, 32, 512] {
        let rounds = (20_000 / batch).clamp(200, 2_000);
        let started = Instant::now();
        for r in 0..rounds {
            let records: Vec<_> = (0..batch).map(|i| record(r * batch + i)).collect();
            store.append_audit(&records).await.unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        let n = (rounds * batch) as f64;
        println!(
            "append_audit, batches of {batch:>3}: {:>8.0} records/s ({:.2} ms per commit)",
            n / secs,
            secs * 1000.0 / rounds as f64
        );
    }

    for submitters in [1usize, 16, 256] {
        let (sink, writer) = audit::start(Arc::clone(&store), AuditOptions::default())
            .await
            .unwrap();
        let per = 40_000 / submitters;
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..submitters {
            let sink = sink.clone();
            tasks.spawn(async move {
                for i in 0..per {
                    sink.submit(record(t * per + i)).await;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        let queued = started.elapsed().as_secs_f64();
        writer.finish().await;
        let stored = started.elapsed().as_secs_f64();
        let n = (submitters * per) as f64;
        println!(
            "writer, {submitters:>3} submitters: {:>8.0} records/s stored ({:.0}/s queued)",
            n / stored,
            n / queued
        );
    }
    let all = store.list_audit(None, 0, u64::MAX).await.unwrap();
    keywarden_core::audit::verify(keywarden_core::audit::ChainStart::Genesis, all).unwrap();
}
