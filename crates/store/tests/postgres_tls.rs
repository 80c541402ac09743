//! `sslmode` against the real PostgreSQL server: `require` encrypts (the server's own view,
//! `pg_stat_ssl`, says so), and `verify-full` refuses a server whose certificate does not chain
//! to `sslrootcert` for the host connected to. Skipped, saying so, on a server without TLS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::error::Error;

use keywarden_store::postgres::testing::TestDatabase;
use keywarden_store::postgres::{PgOptions, PgStore};
use keywarden_store::{KeyStore, StoreError};

type TestResult = Result<(), Box<dyn Error>>;

/// `url` with its `sslmode=disable` replaced by `mode` (and more query text).
fn with_sslmode(url: &str, mode: &str) -> String {
    url.replace("sslmode=disable", mode)
}

/// The server's `ssl` setting and its certificate file.
async fn server_tls(db: &TestDatabase) -> Result<Option<String>, Box<dyn Error>> {
    let (client, connection) = tokio_postgres::connect(
        &db.url().replace("?sslmode=disable", ""),
        tokio_postgres::NoTls,
    )
    .await?;
    tokio::spawn(connection);
    let on: String = client.query_one("SHOW ssl", &[]).await?.get(0);
    if on != "on" {
        return Ok(None);
    }
    Ok(Some(
        client.query_one("SHOW ssl_cert_file", &[]).await?.get(0),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmodes_against_the_real_server() -> TestResult {
    let db = TestDatabase::create().await?;
    let Some(cert_file) = server_tls(&db).await? else {
        eprintln!("the PostgreSQL server has ssl off: nothing to test");
        return Ok(());
    };

    let store = PgStore::connect(
        &with_sslmode(db.url(), "sslmode=require"),
        PgOptions::default(),
    )
    .await?;
    store.instance().await?;
    let (client, connection) = tokio_postgres::connect(
        &db.url().replace("?sslmode=disable", ""),
        tokio_postgres::NoTls,
    )
    .await?;
    tokio::spawn(connection);
    let encrypted: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
             WHERE ssl AND datname = $1 AND application_name = 'keywarden'",
            &[&db.name()],
        )
        .await?
        .get(0);
    assert!(encrypted >= 1, "the store's connections are encrypted");

    // The server's certificate names `localhost` at most, never 127.0.0.1: verify-full refuses.
    let url = with_sslmode(
        db.url(),
        &format!("sslmode=verify-full&sslrootcert={cert_file}"),
    );
    match PgStore::connect(&url, PgOptions::default()).await {
        Err(StoreError::Unavailable(e)) | Err(StoreError::Backend(e)) => {
            eprintln!("verify-full refused as it should: {e}");
        }
        Err(other) => panic!("unexpected refusal {other:?}"),
        Ok(_) => panic!("verify-full accepted a certificate that does not name 127.0.0.1"),
    }
    Ok(())
}
