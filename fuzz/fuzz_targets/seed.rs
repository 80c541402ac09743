//! Feeds arbitrary bytes to both seed-format decryptors: must never panic, the two-pass
//! decryptor must write nothing unless the tag verified, and the two must agree. The data key
//! is the one of the committed pycryptodome vector whose wrapped key (line 1) the input
//! carries, so those files (the corpus) decrypt for real; any other line 1 gets a fixed key.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::LazyLock;

use keywarden_envelope::seed::{self, SeedKey};

/// Wrapped key → data key, from `tests/vectors/seed_eax_pycryptodome.json`.
static KEYS: LazyLock<HashMap<Vec<u8>, Vec<u8>>> = LazyLock::new(|| {
    let text = include_str!("../../crates/envelope/tests/vectors/seed_eax_pycryptodome.json");
    let json: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let files = json["files"].as_array().cloned().unwrap_or_default();
    files
        .iter()
        .filter_map(|f| {
            let blob = hex::decode(f["blob"].as_str()?).ok()?;
            let key = hex::decode(f["key"].as_str()?).ok()?;
            Some((blob, key))
        })
        .collect()
});

fn key_for(blob: &[u8]) -> keywarden_envelope::Result<SeedKey> {
    SeedKey::new(KEYS.get(blob).map_or(&[7; 32][..], Vec::as_slice))
}

pub fn run(data: &[u8]) {
    let mut streamed = Vec::new();
    let one_pass = seed::decrypt(data, &mut streamed, key_for);
    let mut verified = Vec::new();
    match seed::decrypt_verified(Cursor::new(data), &mut verified, key_for) {
        Ok(n) => {
            assert_eq!(
                one_pass.ok(),
                Some(n),
                "one pass refused what two passes accepted"
            );
            assert_eq!(streamed, verified);
        }
        Err(_) => {
            assert!(verified.is_empty());
            assert!(
                one_pass.is_err(),
                "one pass accepted what two passes refused"
            );
        }
    }
}
