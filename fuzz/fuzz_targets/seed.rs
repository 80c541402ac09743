//! Feeds arbitrary bytes to both seed-format decryptors with a fixed key: must never panic,
//! and the two-pass decryptor must write nothing unless the tag verified.
#![no_main]

use std::io::Cursor;

use keywarden_envelope::seed::{self, SeedKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = seed::decrypt(data, Vec::new(), |_| SeedKey::new(&[7; 32]));
    let mut out = Vec::new();
    if seed::decrypt_verified(Cursor::new(data), &mut out, |_| SeedKey::new(&[7; 16])).is_err() {
        assert!(out.is_empty());
    }
});
