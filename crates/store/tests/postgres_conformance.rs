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

each_check!(
    key_round_trip,
    every_enum_value_round_trips,
    duplicate_key_is_refused,
    update_key_is_compare_and_set,
    versions_add_get_and_list,
    version_errors,
    alias_lifecycle,
    alias_errors,
    alias_listing,
    tags_put_replace_delete,
    access_keys_upsert,
    nonces_refuse_replays,
    nonces_expire,
    list_keys_pages,
    rotate_key_is_atomic_compare_and_set,
    destroy_key_shreds_everything,
    due_work_is_found,
    list_keys_filters,
    tag_resources_listing,
    users_lifecycle,
    access_keys_by_user,
    policies_and_versions,
    attachments_lifecycle,
    instance_is_recorded_once,
    key_policies_lifecycle,
    audit_append_list_and_head,
    large_audit_batches_round_trip,
    audit_prune_keeps_a_verifiable_rest,
    audit_strings_round_trip_whatever_they_hold,
);

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

each_concurrent_check!(
    concurrent_updates_have_one_winner,
    concurrent_creates_all_land,
    concurrent_destroys_have_one_winner,
    concurrent_rotations_have_one_winner,
    concurrent_audit_appends_form_one_chain,
);

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
