//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use keywarden_envelope::testing::LocalWrapper;
use keywarden_envelope::{EncryptOptions, EncryptionContext, encrypt};

/// A wrapper with KEKs `k1`, `k2`, `k3` (bytes 1, 2, 3 repeated).
pub fn wrapper() -> LocalWrapper {
    LocalWrapper::new()
        .with_key("k1", &[1; 32])
        .with_key("k2", &[2; 32])
        .with_key("k3", &[3; 32])
}

/// Options with the given segment size.
pub fn opts(segment_size: u32) -> EncryptOptions {
    let mut o = EncryptOptions::default();
    o.segment_size = segment_size;
    o
}

/// A context from pairs.
pub fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Deterministic, non-repeating-looking test data.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31).wrapping_add(i >> 8).wrapping_add(7) % 251) as u8)
        .collect()
}

/// Encrypts `data` under `k1` with an empty context.
pub fn seal(data: &[u8], segment_size: u32) -> Vec<u8> {
    let mut out = Vec::new();
    encrypt(
        &wrapper(),
        &["k1"],
        &EncryptionContext::new(),
        data,
        &mut out,
        &opts(segment_size),
    )
    .unwrap();
    out
}
