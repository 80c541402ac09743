//! Feeds arbitrary bytes to `decrypt` and `RangeReader` with a wrapper that holds the KEKs of
//! the committed vectors (seed the corpus with `tests/vectors/*.kenv`): must never panic, and
//! a successful decryption must agree with random access.

use std::io::{self, Cursor};
use std::sync::LazyLock;

use keywarden_envelope::testing::LocalWrapper;
use keywarden_envelope::{RangeReader, decrypt};

static WRAPPER: LazyLock<LocalWrapper> = LazyLock::new(|| {
    LocalWrapper::new()
        .with_key("kms-key-1", &[0x11; 32])
        .with_key("kms-key-2", &[0x22; 32])
});

pub fn run(data: &[u8]) {
    let mut plain = Vec::new();
    let streamed = decrypt(&*WRAPPER, data, &mut plain);
    match RangeReader::open(&*WRAPPER, Cursor::new(data)) {
        Ok(mut reader) => {
            let mut ranged = Vec::new();
            let whole = reader.read_range(0, u64::MAX, &mut ranged);
            if streamed.is_ok() {
                assert!(whole.is_ok());
                assert_eq!(ranged, plain);
            }
        }
        Err(_) => assert!(streamed.is_err()),
    }
    let _ = decrypt(&*WRAPPER, data, io::sink());
}
