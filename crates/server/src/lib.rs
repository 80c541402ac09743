//! keywarden server (work in progress).
