//! keywarden client (work in progress).
