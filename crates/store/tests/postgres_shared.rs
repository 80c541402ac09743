//! What only a store shared by several nodes has, with two [`PgStore`]s on one real database
//! standing for two nodes: changes announced to the other node, a lost listening connection
//! turned into "forget everything", one nonce window, one winner of a race between nodes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use keywarden_store::conformance::{sample_key, sample_version};
use keywarden_store::postgres::testing::TestDatabase;
use keywarden_store::postgres::{LISTENER_APPLICATION_NAME, PgOptions, PgStore};
use keywarden_store::{AliasRecord, Change, KeyStore, StoreError};
use tokio::sync::broadcast::Receiver;

type TestResult = Result<(), Box<dyn Error>>;

async fn two_nodes(db: &TestDatabase) -> (Arc<PgStore>, Arc<PgStore>) {
    let a = PgStore::connect(db.url(), PgOptions::default())
        .await
        .unwrap();
    let b = PgStore::connect(db.url(), PgOptions::default())
        .await
        .unwrap();
    (Arc::new(a), Arc::new(b))
}

/// The next change other than `All` within `within`.
async fn next_change(rx: &mut Receiver<Change>, within: Duration) -> Option<Change> {
    tokio::time::timeout(within, async {
        loop {
            match rx.recv().await {
                Ok(Change::All) => continue,
                Ok(change) => return change,
                Err(e) => panic!("subscription failed: {e}"),
            }
        }
    })
    .await
    .ok()
}

/// Waits for the `All` a listening session sends once `LISTEN` runs (it is then listening).
async fn listening(rx: &mut Receiver<Change>) {
    let deadline = Duration::from_secs(5);
    let got = tokio::time::timeout(deadline, async {
        loop {
            if rx.recv().await.unwrap() == Change::All {
                return;
            }
        }
    })
    .await;
    assert!(got.is_ok(), "the store listens within {deadline:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_on_one_node_are_announced_to_the_other() -> TestResult {
    let db = TestDatabase::create().await?;
    let (a, b) = two_nodes(&db).await;
    let mut rx = b.changes().expect("a shared store announces changes");
    listening(&mut rx).await;

    let key = sample_key("k-1", 1_000);
    a.create_key(&key, &sample_version("k-1", "k-1-v1", 1_000))
        .await?;
    assert_eq!(
        next_change(&mut rx, Duration::from_millis(500)).await,
        Some(Change::Key("k-1".into()))
    );
    a.create_alias(&AliasRecord {
        alias_name: "alias/x".into(),
        key_id: "k-1".into(),
        creation_date: 1_000,
    })
    .await?;
    assert_eq!(
        next_change(&mut rx, Duration::from_millis(500)).await,
        Some(Change::Alias("alias/x".into()))
    );
    // A write that fails announces nothing.
    assert!(matches!(
        a.create_key(&key, &sample_version("k-1", "k-1-v9", 1_000))
            .await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(next_change(&mut rx, Duration::from_millis(300)).await, None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_listening_connection_means_forget_everything() -> TestResult {
    let db = TestDatabase::create().await?;
    let (a, b) = two_nodes(&db).await;
    let mut rx = b.changes().unwrap();
    listening(&mut rx).await;

    // The database ends the listening sessions (as a failover or a restart would).
    let (admin, connection) = tokio_postgres::connect(
        &keywarden_store::postgres::testing::admin_url().replace("?sslmode=disable", ""),
        tokio_postgres::NoTls,
    )
    .await?;
    tokio::spawn(connection);
    let ended = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND application_name = $2",
            &[&db.name(), &LISTENER_APPLICATION_NAME],
        )
        .await?;
    assert_eq!(ended, 2, "each node had one listening connection");
    // Told to forget everything (lost), then again once listening anew.
    listening(&mut rx).await;
    listening(&mut rx).await;
    a.create_key(
        &sample_key("k-2", 1_000),
        &sample_version("k-2", "k-2-v1", 1_000),
    )
    .await?;
    assert_eq!(
        next_change(&mut rx, Duration::from_millis(500)).await,
        Some(Change::Key("k-2".into())),
        "announcements arrive again after the reconnection"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_nonce_remembered_by_one_node_is_refused_by_the_other() -> TestResult {
    let db = TestDatabase::create().await?;
    let (a, b) = two_nodes(&db).await;
    let digest = [7u8; 16];
    assert!(a.remember_nonce(&digest, 2_000, 1_000).await?);
    assert!(
        !b.remember_nonce(&digest, 2_000, 1_001).await?,
        "replay on b"
    );
    assert!(
        !a.remember_nonce(&digest, 2_000, 1_002).await?,
        "replay on a"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn races_between_nodes_have_one_winner() -> TestResult {
    let db = TestDatabase::create().await?;
    let (a, b) = two_nodes(&db).await;
    let key = sample_key("k-1", 1_000);
    a.create_key(&key, &sample_version("k-1", "k-1-v1", 1_000))
        .await?;
    for round in 0..20 {
        let alias = AliasRecord {
            alias_name: format!("alias/race-{round}"),
            key_id: "k-1".into(),
            creation_date: 1_000,
        };
        let (x, y) = tokio::join!(a.create_alias(&alias), b.create_alias(&alias));
        let wins = [&x, &y].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {x:?} {y:?}");
        assert!(
            [&x, &y]
                .iter()
                .any(|r| matches!(r, Err(StoreError::AlreadyExists)))
        );
    }
    // Two nodes destroying the same key (the scheduler on each): one destroys it.
    let (x, y) = tokio::join!(a.destroy_key("k-1", 0), b.destroy_key("k-1", 0));
    let wins = [&x, &y].iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{x:?} {y:?}");
    assert_eq!(a.get_key("k-1").await?, None);
    Ok(())
}

/// Concurrent calls on two nodes (their nonces batched into shared statements): distinct
/// nonces are all accepted; one nonce sent by 64 calls at once is accepted exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_nonces_are_batched_and_accepted_once() -> TestResult {
    let db = TestDatabase::create().await?;
    let (a, b) = two_nodes(&db).await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..2_000u32 {
        let node = if i % 2 == 0 {
            Arc::clone(&a)
        } else {
            Arc::clone(&b)
        };
        let mut digest = [0u8; 16];
        digest[..4].copy_from_slice(&i.to_le_bytes());
        calls.spawn(async move { node.remember_nonce(&digest, 5_000, 1_000).await });
    }
    let mut accepted = 0;
    while let Some(call) = calls.join_next().await {
        accepted += usize::from(call??);
    }
    assert_eq!(accepted, 2_000, "distinct nonces");
    for round in 0..5u8 {
        let digest = [0xa0 + round; 16];
        for i in 0..64 {
            let node = if i % 2 == 0 {
                Arc::clone(&a)
            } else {
                Arc::clone(&b)
            };
            calls.spawn(async move { node.remember_nonce(&digest, 5_000, 1_000).await });
        }
        let mut accepted = 0;
        while let Some(call) = calls.join_next().await {
            accepted += usize::from(call??);
        }
        assert_eq!(accepted, 1, "round {round}: one nonce, 64 calls");
    }
    Ok(())
}
