//! How PostgreSQL failures become [`StoreError`]s.
//!
//! As in the SQLite backend, constraint violations carry meaning: a taken primary key or unique
//! name is [`StoreError::AlreadyExists`], a reference to an absent row (a foreign-key violation)
//! is [`StoreError::NotFound`]. A failure that a retry can outlive (the connection is lost, the
//! server is starting or shutting down, too many connections, a timeout, a serialization
//! failure) is [`StoreError::Unavailable`], which the server answers with a retryable 503.
//! Everything else is [`StoreError::Backend`] with the original error as its source.

use tokio_postgres::error::SqlState;

use crate::StoreError;

/// Failures of the PostgreSQL backend that are not PostgreSQL's own errors. They reach callers
/// inside [`StoreError::Backend`] (or `Unavailable`), where they can be downcast.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgStoreError {
    /// The store URL could not be used.
    #[error("store URL: {0}")]
    BadUrl(String),
    /// The database was migrated by a newer keywarden; this build will not touch it.
    #[error("database schema version {found} is newer than this build knows ({known})")]
    SchemaTooNew {
        /// The schema version recorded in the database.
        found: i64,
        /// The newest schema version this build knows.
        known: i64,
    },
    /// A reader found a database that no keywarden server has initialized.
    #[error("the database holds no keywarden store (no server has started on it)")]
    NotInitialized,
    /// A reader found a schema of another version (it never migrates).
    #[error(
        "database schema version {found} differs from this build's ({known}): use the keywarden version of the servers"
    )]
    SchemaMismatch {
        /// The schema version recorded in the database.
        found: i64,
        /// This build's schema version.
        known: i64,
    },
    /// `create_key` was given a first version that names another key.
    #[error("first version {version_id} belongs to key {version_key_id}, not to {key_id}")]
    VersionOfOtherKey {
        /// The key being created.
        key_id: String,
        /// The version offered as its first version.
        version_id: String,
        /// The key that version names.
        version_key_id: String,
    },
    /// A row's enumeration column holds a string that names no value.
    #[error("{table} {id}: column {column} holds {value:?}, which names no known value")]
    UnknownWireValue {
        /// The table.
        table: &'static str,
        /// The row's id.
        id: String,
        /// The column.
        column: &'static str,
        /// The stored string.
        value: String,
    },
    /// An audit row holds a value its column cannot hold (altered outside keywarden).
    #[error("audit record seq {seq}: column {column} is unreadable (the row was altered)")]
    AuditRowUnreadable {
        /// The row's `seq`.
        seq: u64,
        /// The column.
        column: &'static str,
    },
    /// A key's revision counter reached its maximum.
    #[error("revision of key {key_id} cannot be incremented")]
    RevisionOverflow {
        /// The key whose revision overflowed.
        key_id: String,
    },
    /// No connection could be had from the pool in time.
    #[error("no database connection within {0:?}")]
    PoolTimeout(std::time::Duration),
}

impl From<PgStoreError> for StoreError {
    fn from(error: PgStoreError) -> Self {
        StoreError::Backend(Box::new(error))
    }
}

/// Converts tokio-postgres results into store results, classifying the failure.
pub(super) trait PgResultExt<T> {
    /// This result with its error classified by [`classify`].
    fn db(self) -> Result<T, StoreError>;
}

impl<T> PgResultExt<T> for Result<T, tokio_postgres::Error> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(classify)
    }
}

/// Whether a failure with this SQLSTATE may pass by itself (a retry can succeed).
fn transient(code: &SqlState) -> bool {
    let class = &code.code()[..2];
    // 08: connection exception; 53: insufficient resources; 57: operator intervention
    // (admin shutdown, crash shutdown, cannot connect now, statement timeout); 40: transaction
    // rollback (serialization failure, deadlock).
    matches!(class, "08" | "53" | "57" | "40")
}

/// Unique violations become `AlreadyExists`, foreign-key violations `NotFound`, transient and
/// connection failures `Unavailable`, anything else `Backend`.
pub(super) fn classify(error: tokio_postgres::Error) -> StoreError {
    match error.code() {
        Some(code) if *code == SqlState::UNIQUE_VIOLATION => StoreError::AlreadyExists,
        Some(code) if *code == SqlState::FOREIGN_KEY_VIOLATION => StoreError::NotFound,
        Some(code) if transient(code) => StoreError::Unavailable(Box::new(error)),
        Some(_) => StoreError::Backend(Box::new(error)),
        // No SQLSTATE: the connection failed (closed, I/O, TLS) rather than a statement.
        None => StoreError::Unavailable(Box::new(error)),
    }
}

/// A pool failure: no connection in time or the database unreachable is `Unavailable`.
pub(super) fn pool_failed(error: deadpool_postgres::PoolError) -> StoreError {
    use deadpool_postgres::PoolError;
    match error {
        PoolError::Backend(e) => classify(e),
        PoolError::Timeout(_) | PoolError::Closed | PoolError::PostCreateHook(_) => {
            StoreError::Unavailable(Box::new(error))
        }
        other => StoreError::Backend(Box::new(other)),
    }
}
