//! Throwaway databases on a real PostgreSQL server, for tests (feature `conformance`).
//!
//! The server is the one at `KEYWARDEN_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable`, trust auth). Each
//! [`TestDatabase`] is a new database `kw_test_<pid>_<n>`, dropped (`WITH (FORCE)`, closing
//! whatever still uses it) when the value is dropped. Databases left by test processes that
//! died are dropped by the next one. No other database is ever touched.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_postgres::NoTls;

/// The maintenance database URL tests create their databases from.
pub fn admin_url() -> String {
    std::env::var("KEYWARDEN_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".into())
}

/// A database that exists while this value does.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl TestDatabase {
    /// Creates a new empty database.
    pub async fn create() -> Result<TestDatabase, tokio_postgres::Error> {
        let pid = std::process::id();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("kw_test_{pid}_{n}");
        let admin = connect_admin().await?;
        if n == 0 {
            drop_orphans(&admin).await;
        }
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        let url = with_database(&admin_url(), &name);
        Ok(TestDatabase { name, url })
    }

    /// Its `postgres://` URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside or outside a runtime: a thread of its own with its own runtime
        // works in both.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = connect_admin().await.ok()?;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// `url` naming database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let host_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|j| start + j))
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

async fn connect_admin() -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let url = admin_url();
    let plain = url
        .replace("?sslmode=disable", "")
        .replace("&sslmode=disable", "");
    let (client, connection) = tokio_postgres::connect(&plain, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// Drops `kw_test_<pid>_*` databases whose process is gone.
async fn drop_orphans(admin: &tokio_postgres::Client) {
    let Ok(rows) = admin
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'kw\\_test\\_%'",
            &[],
        )
        .await
    else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_replaced_in_urls() {
        assert_eq!(
            with_database(
                "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
                "x"
            ),
            "postgres://postgres@127.0.0.1:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
