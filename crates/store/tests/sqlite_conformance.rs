//! The conformance suite against [`SqliteStore`] on real files, plus what only SQLite has:
//! durability across reopen, WAL on disk, idempotent migrations, and large version lists.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use keywarden_store::conformance::{self, sample_key, sample_version};
use keywarden_store::sqlite::{SCHEMA_VERSION, SqliteStore, SqliteStoreError};
use keywarden_store::{
    AccessKeyRecord, AliasRecord, KeyFilter, KeyStore, Page, StoreError, StoreResult, TagRecord,
};
use tempfile::TempDir;

type TestResult = Result<(), Box<dyn Error>>;

/// A fresh database file in `dir`.
async fn open_in(dir: &TempDir) -> StoreResult<SqliteStore> {
    SqliteStore::open(&dir.path().join("keywarden.db")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_suite() -> TestResult {
    let dir = tempfile::tempdir()?;
    let counter = AtomicUsize::new(0);
    conformance::run_all(|| {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let path = dir.path().join(format!("store-{n}.db"));
        async move { SqliteStore::open(&path).await }
    })
    .await?;
    assert!(
        counter.load(Ordering::Relaxed) >= 22,
        "every check got its own store"
    );
    Ok(())
}

/// One test per check, so that a failure names its check and the others still run.
macro_rules! each_check {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $check() -> TestResult {
            let dir = tempfile::tempdir()?;
            conformance::$check(&open_in(&dir).await?).await?;
            Ok(())
        }
    )*};
}

keywarden_store::store_checks!(each_check);

/// The checks that race tasks on one store, each on a file of its own.
macro_rules! each_concurrent_check {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $check() -> TestResult {
            let dir = tempfile::tempdir()?;
            let store = Arc::new(open_in(&dir).await?);
            conformance::$check(store).await?;
            Ok(())
        }
    )*};
}

keywarden_store::concurrent_store_checks!(each_concurrent_check);

/// Writes one row of every kind.
async fn write_one_of_each(store: &SqliteStore) -> StoreResult<()> {
    let key = sample_key("key-a", 1_000);
    store
        .create_key(&key, &sample_version("key-a", "key-a-v1", 1_000))
        .await?;
    store
        .add_version(&sample_version("key-a", "key-a-v2", 2_000))
        .await?;
    store
        .update_key(&keywarden_store::KeyRecord {
            primary_version_id: "key-a-v2".to_owned(),
            ..key
        })
        .await?;
    store.create_alias(&alias_one()).await?;
    store.put_tags("key-a", &[tag_env()]).await?;
    store.put_access_key(&access_key()).await
}

fn alias_one() -> AliasRecord {
    AliasRecord {
        alias_name: "alias/one".to_owned(),
        key_id: "key-a".to_owned(),
        creation_date: 1_500,
    }
}

fn tag_env() -> TagRecord {
    TagRecord {
        tag_key: "env".to_owned(),
        tag_value: "prod".to_owned(),
    }
}

fn access_key() -> AccessKeyRecord {
    AccessKeyRecord {
        access_key_id: "LTAIexample".to_owned(),
        sealed_secret: vec![1, 2, 3],
        status: keywarden_core::model::AccessKeyStatus::Active,
        user_name: "alice".to_owned(),
        creation_date: 1_000,
    }
}

/// Checks that everything [`write_one_of_each`] wrote is there.
async fn assert_one_of_each(store: &SqliteStore) -> TestResult {
    let key = store.get_key("key-a").await?.ok_or("key lost")?;
    assert_eq!(
        (key.revision, key.primary_version_id.as_str()),
        (1, "key-a-v2")
    );
    let versions = store
        .list_versions(
            "key-a",
            Page {
                offset: 0,
                limit: 10,
            },
        )
        .await?;
    assert_eq!(versions.total, 2);
    assert_eq!(
        store.get_version("key-a-v2").await?,
        Some(sample_version("key-a", "key-a-v2", 2_000))
    );
    assert_eq!(store.get_alias("alias/one").await?, Some(alias_one()));
    assert_eq!(store.list_tags("key-a").await?, [tag_env()]);
    assert_eq!(
        store.get_access_key("LTAIexample").await?,
        Some(access_key())
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_close_and_reopen() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = open_in(&dir).await?;
    write_one_of_each(&store).await?;
    drop(store);
    let reopened = open_in(&dir).await?;
    assert_one_of_each(&reopened).await?;
    // Nonces are process memory, by design: a new process starts with an empty window.
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_is_sqlite_in_wal_mode() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = open_in(&dir).await?;
    write_one_of_each(&store).await?;
    let path = store.path().to_path_buf();
    assert!(
        wal_path(&path).exists(),
        "an open WAL database has a -wal file"
    );
    drop(store);

    let header = std::fs::read(&path)?;
    assert_eq!(
        header.get(..16),
        Some(&b"SQLite format 3\0"[..]),
        "SQLite magic"
    );
    // Bytes 18 and 19 are the read and write format versions: 2 means WAL.
    assert_eq!(header.get(18..20), Some(&[2u8, 2][..]), "WAL file format");
    let conn = rusqlite::Connection::open(&path)?;
    let mode: String = conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?;
    assert_eq!(mode, "wal");
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    assert_eq!(version, SCHEMA_VERSION);
    Ok(())
}

fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_does_not_migrate_again() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = open_in(&dir).await?;
    write_one_of_each(&store).await?;
    drop(store);
    for _ in 0..3 {
        let reopened = open_in(&dir).await?;
        assert_one_of_each(&reopened).await?;
    }
    let conn = rusqlite::Connection::open(dir.path().join("keywarden.db"))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    assert_eq!(version, SCHEMA_VERSION);
    let tables: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table'",
        [],
        |row| row.get(0),
    )?;
    assert_eq!(
        tables, 13,
        "keys, key_versions, aliases, key_tags, access_keys, ram_users, ram_policies, \
         ram_policy_versions, ram_attachments, audit_log, instance, audit_anchor, key_policies"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_schema_is_refused_untouched() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("keywarden.db");
    drop(SqliteStore::open(&path).await?);
    let future = SCHEMA_VERSION + 1;
    rusqlite::Connection::open(&path)?.pragma_update(None, "user_version", future)?;

    let refused = SqliteStore::open(&path).await;
    let source = match refused {
        Err(StoreError::Backend(source)) => source,
        other => panic!("a newer schema must be refused, got {other:?}"),
    };
    let error = source.downcast_ref::<SqliteStoreError>();
    assert!(
        matches!(error, Some(SqliteStoreError::SchemaTooNew { found, known })
            if *found == future && *known == SCHEMA_VERSION),
        "{error:?}"
    );
    let conn = rusqlite::Connection::open(&path)?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    assert_eq!(version, future, "refusal left the file alone");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_version_of_another_key_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = open_in(&dir).await?;
    let result = store
        .create_key(&sample_key("key-a", 1), &sample_version("key-b", "v1", 1))
        .await;
    assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
    assert_eq!(store.get_key("key-a").await?, None);
    assert_eq!(store.get_version("v1").await?, None);
    Ok(())
}

/// A fresh store in `dir` holding `sample_key("key-a")`.
async fn with_sample_key(dir: &TempDir) -> StoreResult<SqliteStore> {
    let store = open_in(dir).await?;
    store
        .create_key(&sample_key("key-a", 1), &sample_version("key-a", "v1", 1))
        .await?;
    Ok(store)
}

/// Key rows hold the enumerations as their wire strings, as before they were typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enumerations_are_stored_as_wire_strings() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = with_sample_key(&dir).await?;
    let conn = rusqlite::Connection::open(store.path())?;
    let columns: [String; 6] = conn.query_row(
        "SELECT key_spec, key_usage, origin, protection_level, state, automatic_rotation \
         FROM keys WHERE key_id = 'key-a'",
        [],
        |row| {
            Ok([
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ])
        },
    )?;
    assert_eq!(
        columns,
        [
            "Aliyun_AES_256",
            "ENCRYPT/DECRYPT",
            "Aliyun_KMS",
            "SOFTWARE",
            "Enabled",
            "Enabled"
        ]
    );
    Ok(())
}

/// A key row whose state names no `KeyState` (written behind keywarden's back) makes every
/// read of it fail with `Backend` naming the key, the column and the value; it never panics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_state_string_is_a_backend_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = with_sample_key(&dir).await?;
    let changed = rusqlite::Connection::open(store.path())?.execute(
        "UPDATE keys SET state = 'Frozen', delete_date = 0 WHERE key_id = 'key-a'",
        [],
    )?;
    assert_eq!(changed, 1);

    let assert_unknown = |result: StoreResult<()>, read: &str| match result {
        Err(StoreError::Backend(source)) => {
            let error = source.downcast_ref::<SqliteStoreError>();
            assert!(
                matches!(error, Some(SqliteStoreError::UnknownWireValue { key_id, column, value })
                    if key_id == "key-a" && *column == "state" && value == "Frozen"),
                "{read}: {error:?}"
            );
            let message = source.to_string();
            assert!(
                message.contains("key-a")
                    && message.contains("state")
                    && message.contains("Frozen"),
                "{read}: {message}"
            );
        }
        other => panic!("{read} of an unknown state must be Backend, got {other:?}"),
    };
    assert_unknown(store.get_key("key-a").await.map(drop), "get_key");
    assert_unknown(
        store
            .list_keys(
                &KeyFilter::default(),
                Page {
                    offset: 0,
                    limit: 10,
                },
            )
            .await
            .map(drop),
        "list_keys",
    );
    // Other keys are still readable.
    store
        .create_key(&sample_key("key-b", 2), &sample_version("key-b", "v2", 2))
        .await?;
    assert_eq!(store.get_key("key-b").await?, Some(sample_key("key-b", 2)));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_versions() -> TestResult {
    const VERSIONS: i64 = 10_000;
    let dir = tempfile::tempdir()?;
    let store = open_in(&dir).await?;
    let version_id = |n: i64| format!("key-a-v{n:05}");
    store
        .create_key(
            &sample_key("key-a", 0),
            &sample_version("key-a", &version_id(0), 0),
        )
        .await?;
    for n in 1..VERSIONS {
        store
            .add_version(&sample_version("key-a", &version_id(n), n))
            .await?;
    }

    let first_page = store
        .list_versions(
            "key-a",
            Page {
                offset: 0,
                limit: 20,
            },
        )
        .await?;
    assert_eq!(first_page.total, 10_000);
    let ids: Vec<String> = first_page
        .items
        .iter()
        .map(|v| v.version_id.clone())
        .collect();
    assert_eq!(ids, (0..20).map(version_id).collect::<Vec<_>>());
    let last_page = store
        .list_versions(
            "key-a",
            Page {
                offset: 9_990,
                limit: 20,
            },
        )
        .await?;
    assert_eq!(last_page.items.len(), 10);
    assert_eq!(
        last_page.items.last().map(|v| v.version_id.clone()),
        Some(version_id(VERSIONS - 1))
    );
    let middle = store.get_version(&version_id(7_777)).await?;
    assert_eq!(
        middle,
        Some(sample_version("key-a", &version_id(7_777), 7_777))
    );
    Ok(())
}

/// Set in the child process of [`acknowledged_writes_survive_sigkill`]: the database to write.
const CRASH_CHILD_DB: &str = "KEYWARDEN_STORE_CRASH_CHILD_DB";

/// A child process creates keys and reports each acknowledged one; the parent SIGKILLs it
/// mid-stream (no destructor, no checkpoint) and every acknowledged key must be in the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() -> TestResult {
    if let Some(db) = std::env::var_os(CRASH_CHILD_DB) {
        return write_until_killed(Path::new(&db)).await;
    }
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("keywarden.db");
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "acknowledged_writes_survive_sigkill",
            "--nocapture",
        ])
        .env(CRASH_CHILD_DB, &db)
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("child stdout")?;
    let mut acked = None;
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        if let Some(n) = line?.strip_prefix("acked ") {
            let n: usize = n.trim().parse()?;
            acked = Some(n);
            if n >= 50 {
                break;
            }
        }
    }
    child.kill()?; // SIGKILL on Unix
    child.wait()?;
    let last = acked.ok_or("the child acknowledged nothing")?;
    assert!(last >= 50, "the child stopped early at {last}");

    let store = SqliteStore::open(&db).await?;
    for n in 0..=last {
        let key_id = format!("key-{n:05}");
        assert!(
            store.get_key(&key_id).await?.is_some(),
            "{key_id} was acknowledged, then lost"
        );
    }
    Ok(())
}

/// The child's side: create keys one by one, printing each acknowledgement, until killed.
async fn write_until_killed(db: &Path) -> TestResult {
    use std::io::Write as _;
    let store = SqliteStore::open(db).await?;
    let mut stdout = std::io::stdout();
    for n in 0..100_000 {
        let key_id = format!("key-{n:05}");
        let first = sample_version(&key_id, &format!("{key_id}-v1"), n);
        store.create_key(&sample_key(&key_id, n), &first).await?;
        writeln!(stdout, "acked {n}")?;
        stdout.flush()?;
    }
    Ok(())
}

/// Crypto-shredding on disk: after `destroy_key`, the sealed material of every version is in
/// neither the database file nor its write-ahead log (`secure_delete` zeroes freed space, the
/// checkpoint truncates the log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroyed_material_leaves_no_bytes_on_disk() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("keywarden.db");
    let store = SqliteStore::open(&db).await?;
    let marker = |n: u8| -> Vec<u8> { (0..48u8).map(|i| i.wrapping_mul(37) ^ n ^ 0xA5).collect() };
    let version = |id: &str, n: u8| keywarden_store::VersionRecord {
        sealed_material: marker(n),
        ..sample_version("key-a", id, 1_000)
    };
    let key = sample_key("key-a", 1_000);
    store.create_key(&key, &version("key-a-v1", 1)).await?;
    store.add_version(&version("key-a-v2", 2)).await?;
    store
        .create_key(
            &sample_key("key-b", 1_000),
            &keywarden_store::VersionRecord {
                sealed_material: marker(3),
                ..sample_version("key-b", "key-b-v1", 1_000)
            },
        )
        .await?;
    let on_disk = || -> std::io::Result<Vec<u8>> {
        let mut bytes = std::fs::read(&db)?;
        bytes.extend(std::fs::read(wal_path(&db)).unwrap_or_default());
        Ok(bytes)
    };
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let before = on_disk()?;
    assert!(
        contains(&before, &marker(1)) && contains(&before, &marker(2)),
        "sanity"
    );

    store.destroy_key("key-a", key.revision).await?;
    let after = on_disk()?;
    assert!(
        !contains(&after, &marker(1)),
        "version 1 material left on disk"
    );
    assert!(
        !contains(&after, &marker(2)),
        "version 2 material left on disk"
    );
    assert!(
        contains(&after, &marker(3)),
        "the other key's material must stay"
    );
    Ok(())
}

/// An access key row whose status names no `AccessKeyStatus` (written behind keywarden's back)
/// fails to read with `Backend` naming the row, the column and the value: it is never taken for
/// `Active` or `Inactive`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_access_key_status_is_a_backend_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = open_in(&dir).await?;
    store.put_access_key(&access_key()).await?;
    let changed = rusqlite::Connection::open(store.path())?.execute(
        "UPDATE access_keys SET status = 'active' WHERE access_key_id = 'LTAIexample'",
        [],
    )?;
    assert_eq!(changed, 1);
    for (read, result) in [
        ("get", store.get_access_key("LTAIexample").await.map(drop)),
        ("list", store.list_access_keys("alice").await.map(drop)),
    ] {
        match result {
            Err(StoreError::Backend(source)) => {
                let error = source.downcast_ref::<SqliteStoreError>();
                assert!(
                    matches!(error, Some(SqliteStoreError::UnknownWireValue { key_id, column, value })
                        if key_id == "LTAIexample" && *column == "status" && value == "active"),
                    "{read}: {error:?}"
                );
            }
            other => panic!("{read}: an unknown status must be Backend, got {other:?}"),
        }
    }
    Ok(())
}

/// The triggers behind retention: rows beyond the anchor cannot be deleted (by anyone using
/// the file through SQL, not only through the store), and the anchor never moves back or goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_pruning_removes_audit_rows() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = open_in(&dir).await?;
    let records: Vec<_> = (0..6)
        .map(|i| {
            keywarden_store::conformance::sample_audit_record(&format!("t{i}"), 1000 * (i + 1))
        })
        .collect();
    store.append_audit(&records).await?;
    let conn = rusqlite::Connection::open(dir.path().join("keywarden.db"))?;
    let refused = conn.execute("DELETE FROM audit_log WHERE seq = 1", []);
    assert!(refused.is_err(), "no anchor yet: nothing may be deleted");
    let pruned = store.prune_audit(3_500, 10_000).await?.expect("pruned");
    assert_eq!((pruned.anchor.seq, pruned.removed), (3, 3));
    let refused = conn.execute("DELETE FROM audit_log WHERE seq = 5", []);
    assert!(refused.is_err(), "beyond the anchor: refused");
    assert!(conn.execute("UPDATE audit_anchor SET seq = 1", []).is_err());
    assert!(conn.execute("DELETE FROM audit_anchor", []).is_err());
    let left: i64 = conn.query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))?;
    assert_eq!(left, 3);
    Ok(())
}
