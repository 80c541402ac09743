//! SQLite backend (work in progress).
