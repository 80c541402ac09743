//! `keywarden store`: operations on a store itself, offline. `keywarden store migrate --from
//! DATA_DIR --to postgres://...` copies a stopped SQLite installation (`DATA_DIR/keywarden.db`)
//! into an empty PostgreSQL database, exactly (ids, revisions, sealed material, policy version
//! ids, the audit chain with its anchor, the installation's identity), in one transaction, then
//! reads both back and compares a count and a SHA-256 checksum per kind
//! (`keywarden_store::migrate`). Re-running it against the finished copy writes nothing and
//! says "already migrated"; against a database holding anything else it refuses, naming what
//! differs. Sealed values are copied as opaque bytes, so the root key is not read, only
//! checked to exist: every node of the new store needs that file.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use keywarden_store::migrate::{self, Outcome, Summary};
use keywarden_store::postgres::{PgOptions, PgStore, PgStoreError, is_postgres_url, redacted};
use keywarden_store::sqlite::SqliteStore;
use keywarden_store::{StoreError, StoreResult};

/// `keywarden store`.
#[derive(Args, Debug)]
pub struct StoreArgs {
    /// The operation.
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// The store operations.
#[derive(Subcommand, Debug)]
pub enum StoreCommand {
    /// Copy a SQLite installation into an empty PostgreSQL database and verify the copy. Stop
    /// the server of DATA_DIR first: no server may use either store during the migration.
    /// Safe to re-run: against the finished copy it writes nothing ("already migrated"),
    /// against any other data it refuses and writes nothing.
    Migrate(MigrateArgs),
}

/// `keywarden store migrate`.
#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// Data directory of the SQLite installation to copy (its keywarden.db). Its server must
    /// be stopped, and stay stopped afterwards: the PostgreSQL store replaces it.
    #[arg(long, value_name = "DATA_DIR")]
    pub from: PathBuf,
    /// The PostgreSQL database to copy into (`postgres://...`; password in the URL,
    /// PGPASSWORD, or the file KEYWARDEN_STORE_PASSWORD_FILE). It must be empty, or hold
    /// exactly this migration already.
    #[arg(long, env = "KEYWARDEN_STORE", value_name = "URL")]
    pub to: String,
    /// The installation's root key file, when not DATA_DIR/root.key (only checked to exist:
    /// sealed values are copied as they are; every node of the new store needs this file).
    #[arg(long, value_name = "PATH")]
    pub root_key_file: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: StoreArgs) -> anyhow::Result<()> {
    match args.command {
        StoreCommand::Migrate(a) => run_migrate(&a),
    }
}

/// `keywarden store migrate`.
fn run_migrate(args: &MigrateArgs) -> anyhow::Result<()> {
    if !is_postgres_url(&args.to) {
        bail!("--to must be a postgres:// URL");
    }
    let db = args.from.join("keywarden.db");
    if !db.is_file() {
        bail!(
            "{} holds no keywarden.db: nothing to migrate",
            args.from.display()
        );
    }
    let root_key = args
        .root_key_file
        .clone()
        .unwrap_or_else(|| args.from.join("root.key"));
    if !root_key.is_file() {
        bail!(
            "the root key {} is missing: without it the copied store cannot be opened (pass --root-key-file if it is elsewhere)",
            root_key.display()
        );
    }
    let target = redacted(&args.to);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async {
        let source = SqliteStore::open(&db)
            .await
            .with_context(|| format!("cannot open {}", db.display()))?;
        let pg = open_target(&args.to)
            .await
            .with_context(|| format!("cannot open {target}"))?;
        migrate::sqlite_to_postgres(&source, &pg, now_ms())
            .await
            .with_context(|| format!("migration of {} to {target} failed", db.display()))
    })?;
    match outcome {
        Outcome::Copied(summary) => {
            println!("copied {} to {target}:", db.display());
            print_summary(&summary);
            println!("verified: every count and SHA-256 checksum matches the source");
        }
        Outcome::AlreadyMigrated(summary) => {
            println!(
                "already migrated: {target} holds exactly the data of {} (nothing written)",
                db.display()
            );
            print_summary(&summary);
        }
    }
    println!(
        "every node of this store needs the root key {}: copy it to each node (mode 0600) and start it with `keywarden serve --store <URL> --root-key-file <PATH>`; do not start the SQLite server of {} again",
        root_key.display(),
        args.from.display()
    );
    Ok(())
}

/// The target store, opened as a reader (no schema migration, no background tasks), so that a
/// database of another installation or of another keywarden version is inspected and refused
/// without a write. A database no keywarden initialized gets the schema first.
async fn open_target(url: &str) -> StoreResult<PgStore> {
    match PgStore::connect_reader(url).await {
        Err(StoreError::Backend(e))
            if matches!(
                e.downcast_ref::<PgStoreError>(),
                Some(PgStoreError::NotInitialized)
            ) =>
        {
            drop(PgStore::connect(url, PgOptions::default()).await?);
            PgStore::connect_reader(url).await
        }
        other => other,
    }
}

/// One line per kind: name, rows, checksum.
fn print_summary(summary: &Summary) {
    for kind in &summary.kinds {
        println!(
            "  {:<16} {:>10}  sha256:{}",
            kind.kind.name(),
            kind.count,
            hex::encode(kind.sha256)
        );
    }
}

/// Now, in Unix milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
