//! What only the SQLite backend's audit log has: one chain across processes sharing a file,
//! append-only triggers, the read-only [`AuditLogReader`] beside a live store, and rows altered
//! outside keywarden reported by their `seq`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::error::Error;
use std::sync::Arc;

use keywarden_core::audit::{ChainStart, verify};
use keywarden_store::conformance::sample_audit_record;
use keywarden_store::sqlite::{AuditLogReader, SqliteStore, SqliteStoreError};
use keywarden_store::{AuditRecord, KeyStore, StoreError};

type TestResult = Result<(), Box<dyn Error>>;

fn records(prefix: &str, n: usize) -> Vec<AuditRecord> {
    (0..n)
        .map(|i| sample_audit_record(&format!("{prefix}-{i}"), 1_000 + i as i64))
        .collect()
}

/// Two stores on one file stand for two server processes: their appends interleave into one
/// chain, because each append reads the head inside its own write transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_extend_one_chain() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("keywarden.db");
    let a = Arc::new(SqliteStore::open(&path).await?);
    let b = Arc::new(SqliteStore::open(&path).await?);
    let mut tasks = tokio::task::JoinSet::new();
    for (name, store) in [("a", a.clone()), ("b", b.clone())] {
        for t in 0..4 {
            let store = Arc::clone(&store);
            tasks.spawn(async move {
                for i in 0..25 {
                    store
                        .append_audit(&records(&format!("{name}{t}-{i}"), 2))
                        .await
                        .unwrap();
                }
            });
        }
    }
    while let Some(done) = tasks.join_next().await {
        done?;
    }
    let all = a.list_audit(None, 0, 10_000).await?;
    assert_eq!(all.len(), 2 * 4 * 25 * 2);
    let summary = verify(ChainStart::Genesis, all)?;
    assert_eq!(summary.head_seq, Some(400));
    assert_eq!(b.audit_head().await?.map(|h| h.seq), Some(400));
    Ok(())
}

#[tokio::test]
async fn the_table_refuses_update_and_delete() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("keywarden.db");
    let store = SqliteStore::open(&path).await?;
    store.append_audit(&records("r", 3)).await?;
    let conn = rusqlite::Connection::open(&path)?;
    for sql in [
        "UPDATE audit_log SET outcome_code = 'Success' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
        "DELETE FROM audit_log",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(store.list_audit(None, 0, 10).await?.len(), 3);
    Ok(())
}

/// The reader opens the file read-only next to a live store and sees each committed append,
/// including those still only in the write-ahead log.
#[tokio::test]
async fn the_reader_follows_a_live_store() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("keywarden.db");
    let store = SqliteStore::open(&path).await?;
    let reader = AuditLogReader::open(&path)?;
    assert_eq!(reader.head()?, None);
    let head = store.append_audit(&records("r", 5)).await?;
    assert_eq!(reader.head()?, head);
    assert_eq!(
        reader.list(None, 0, 100)?,
        store.list_audit(None, 0, 100).await?
    );
    let head = store.append_audit(&records("s", 2)).await?;
    assert_eq!(reader.head()?, head);
    assert_eq!(reader.list(None, 5, 100)?.len(), 2);
    assert_eq!(
        reader
            .list(Some(1_003), 0, 1)?
            .first()
            .map(|r| r.record.seq),
        Some(4)
    );
    Ok(())
}

/// A value its column cannot hold (changed with a SQL tool) is reported with the row's seq.
#[tokio::test]
async fn an_unreadable_row_is_named() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("keywarden.db");
    let store = SqliteStore::open(&path).await?;
    store.append_audit(&records("r", 4)).await?;
    let conn = rusqlite::Connection::open(&path)?;
    conn.execute_batch(
        "DROP TRIGGER audit_log_no_update;
         UPDATE audit_log SET hash = x'00' WHERE seq = 2;
         UPDATE audit_log SET encryption_context = 'not json' WHERE seq = 3;",
    )?;
    let reader = AuditLogReader::open(&path)?;
    let unreadable = |err: StoreError| match err {
        StoreError::Backend(inner) => match inner.downcast_ref::<SqliteStoreError>() {
            Some(SqliteStoreError::AuditRowUnreadable { seq, column }) => (*seq, *column),
            other => panic!("unexpected {other:?}"),
        },
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(reader.list(None, 0, 1)?.len(), 1);
    assert_eq!(
        unreadable(reader.list(None, 0, 10).unwrap_err()),
        (2, "hash")
    );
    assert_eq!(
        unreadable(reader.list(None, 2, 10).unwrap_err()),
        (3, "encryption_context")
    );
    assert_eq!(reader.list(None, 3, 10)?.len(), 1);
    Ok(())
}

#[test]
fn the_reader_refuses_a_file_without_a_log() -> TestResult {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("missing.db");
    let err = AuditLogReader::open(&missing).err().unwrap();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!missing.exists(), "the reader never creates a file");
    let old = dir.path().join("old.db");
    rusqlite::Connection::open(&old)?.execute_batch("CREATE TABLE keys (key_id TEXT);")?;
    let err = AuditLogReader::open(&old).err().unwrap();
    assert!(err.to_string().contains("no audit_log table"), "{err}");
    Ok(())
}
