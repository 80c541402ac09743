//! How SQLite failures become [`StoreError`]s.
//!
//! Constraint violations carry meaning the trait promises to callers: a taken primary key or
//! unique name is [`StoreError::AlreadyExists`], a reference to an absent key (a foreign-key
//! violation) is [`StoreError::NotFound`]. Every other failure is [`StoreError::Backend`] with the
//! original error as its source, never a string.

use rusqlite::ffi;

use crate::StoreError;

/// Failures of the SQLite backend that are not SQLite's own errors. They reach callers inside
/// [`StoreError::Backend`], where they can be downcast.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteStoreError {
    /// The database was migrated by a newer keywarden; this build will not touch it.
    #[error("database schema version {found} is newer than this build knows ({known})")]
    SchemaTooNew {
        /// The schema version stored in the file.
        found: i64,
        /// The newest schema version this build knows.
        known: i64,
    },
    /// `PRAGMA quick_check` found damage (or the file is not a database): the store is not
    /// opened, so nothing is served from or written into a damaged file.
    #[error("the database is damaged (PRAGMA quick_check: {findings}); restore it from a backup")]
    Corrupt {
        /// What the check reported (its first lines).
        findings: String,
    },
    /// SQLite refused write-ahead logging (for example on a file system without shared memory).
    #[error("the database refused WAL journaling (journal mode is {mode:?})")]
    NotWal {
        /// The journal mode SQLite reported instead.
        mode: String,
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
    /// An audit row holds a value its column cannot hold (altered outside keywarden).
    #[error("audit record seq {seq}: column {column} is unreadable (the row was altered)")]
    AuditRowUnreadable {
        /// The row's `seq`.
        seq: u64,
        /// The column.
        column: &'static str,
    },
    /// The database has no audit log to read.
    #[error("no audit log: {reason}")]
    NoAuditLog {
        /// Why.
        reason: String,
    },
    /// A key or access key row's enumeration column holds a string that names no value (written outside
    /// keywarden, or by a newer build).
    #[error("key {key_id}: column {column} holds {value:?}, which names no known value")]
    UnknownWireValue {
        /// The key (or access key) whose row it is.
        key_id: String,
        /// The column.
        column: &'static str,
        /// The stored string.
        value: String,
    },
    /// A key's revision counter reached its maximum.
    #[error("revision of key {key_id} cannot be incremented")]
    RevisionOverflow {
        /// The key whose revision overflowed.
        key_id: String,
    },
}

impl From<SqliteStoreError> for StoreError {
    fn from(error: SqliteStoreError) -> Self {
        StoreError::Backend(Box::new(error))
    }
}

/// Converts rusqlite results into store results, classifying constraint violations.
pub(super) trait SqlResultExt<T> {
    /// This result with its error classified by [`classify`].
    fn db(self) -> Result<T, StoreError>;
}

impl<T> SqlResultExt<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(classify)
    }
}

/// Unique and primary-key violations become `AlreadyExists`, foreign-key violations `NotFound`,
/// a full disk `Unavailable`, anything else `Backend`. A conversion failure raised by this backend's own row decoding
/// (carrying a [`SqliteStoreError`]) becomes `Backend` of that error itself, so callers can
/// downcast it.
pub(super) fn classify(error: rusqlite::Error) -> StoreError {
    let error = match error {
        rusqlite::Error::FromSqlConversionFailure(index, kind, source) => {
            match source.downcast::<SqliteStoreError>() {
                Ok(own) => return StoreError::Backend(own),
                Err(source) => rusqlite::Error::FromSqlConversionFailure(index, kind, source),
            }
        }
        other => other,
    };
    match error.sqlite_error().map(|failure| failure.extended_code) {
        Some(ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_UNIQUE) => {
            StoreError::AlreadyExists
        }
        Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => StoreError::NotFound,
        // The disk is full: the transaction rolled back; it can succeed once there is room.
        Some(ffi::SQLITE_FULL) => StoreError::Unavailable(Box::new(error)),
        _ => StoreError::Backend(Box::new(error)),
    }
}

/// A blocking task that did not finish (it panicked or the runtime is shutting down).
pub(super) fn join_failed(error: tokio::task::JoinError) -> StoreError {
    StoreError::Backend(Box::new(error))
}
