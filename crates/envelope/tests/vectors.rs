//! The committed KENV1 vectors in `tests/vectors/`: one test per vector. Each `NAME.kenv` is
//! decrypted with a `LocalWrapper` holding the KEKs listed in `NAME.json`, and the outcome must
//! be exactly `expected` ("ok", an error variant name, or "Wrap:<kind>").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::Cursor;
use std::path::PathBuf;

use keywarden_envelope::testing::LocalWrapper;
use keywarden_envelope::{
    DataKey, EncryptionContext, Error, KeyWrapper, RangeReader, WrapError, WrappedKey, decrypt,
    read_header,
};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data))
}

/// A key service that ignores the blob and returns one fixed data key: checks the vectors
/// independently of `LocalWrapper`'s blob format.
struct FixedKey([u8; 32]);

impl KeyWrapper for FixedKey {
    fn generate_data_key(
        &self,
        _: &str,
        _: &EncryptionContext,
    ) -> Result<(DataKey, WrappedKey), WrapError> {
        unreachable!()
    }
    fn wrap_data_key(
        &self,
        _: &str,
        _: &DataKey,
        _: &EncryptionContext,
    ) -> Result<WrappedKey, WrapError> {
        unreachable!()
    }
    fn unwrap_data_key(&self, _: &WrappedKey, _: &EncryptionContext) -> Result<DataKey, WrapError> {
        Ok(DataKey::from_array(self.0))
    }
}

fn outcome(result: &Result<keywarden_envelope::Summary, Error>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(Error::NotEnvelope) => "NotEnvelope".into(),
        Err(Error::UnsupportedVersion(_)) => "UnsupportedVersion".into(),
        Err(Error::UnsupportedSuite(_)) => "UnsupportedSuite".into(),
        Err(Error::Malformed(_)) => "Malformed".into(),
        Err(Error::Tampered) => "Tampered".into(),
        Err(Error::Truncated) => "Truncated".into(),
        Err(Error::TrailingData) => "TrailingData".into(),
        Err(Error::Wrap(e)) => format!("Wrap:{:?}", e.kind()),
        Err(other) => format!("{other:?}"),
    }
}

fn run(name: &str) {
    let bytes = std::fs::read(dir().join(format!("{name}.kenv"))).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join(format!("{name}.json"))).unwrap())
            .unwrap();
    let mut wrapper = LocalWrapper::new();
    for (id, kek) in json["local_wrapper_keys"].as_object().unwrap() {
        let kek: [u8; 32] = hex::decode(kek.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        wrapper = wrapper.with_key(id.clone(), &kek);
    }
    let expected = json["expected"].as_str().unwrap();
    let mut out = Vec::new();
    let result = decrypt(&wrapper, &bytes[..], &mut out);
    assert_eq!(outcome(&result), expected, "{name}: {result:?}");
    if expected != "ok" {
        return;
    }
    let summary = result.unwrap();
    assert_eq!(out.len() as u64, json["plaintext_len"].as_u64().unwrap());
    assert_eq!(sha256_hex(&out), json["plaintext_sha256"].as_str().unwrap());
    assert_eq!(summary.ciphertext_len, bytes.len() as u64);
    let header = read_header(&bytes[..]).unwrap();
    assert_eq!(
        header.header_len() as u64,
        json["header_len"].as_u64().unwrap()
    );
    assert_eq!(
        header.segment_size() as u64,
        json["segment_size"].as_u64().unwrap()
    );
    let ids: Vec<&str> = json["key_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(header.key_ids().collect::<Vec<_>>(), ids);
    // The same plaintext through random access and through the bare data key.
    let mut reader = RangeReader::open(&wrapper, Cursor::new(&bytes)).unwrap();
    let mut ranged = Vec::new();
    reader.read_range(0, u64::MAX, &mut ranged).unwrap();
    assert!(ranged == out);
    let dk: [u8; 32] = hex::decode(json["data_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let mut direct = Vec::new();
    decrypt(&FixedKey(dk), &bytes[..], &mut direct).unwrap();
    assert!(direct == out);
}

macro_rules! vectors {
    ($($name:ident),* $(,)?) => {
        const NAMES: &[&str] = &[$(stringify!($name)),*];
        $( #[test] fn $name() { run(stringify!($name)); } )*
    };
}

vectors! {
    ok_empty, ok_short, ok_exact_segments, ok_multi_segment_two_keys, ok_second_key_only,
    ok_compact_header, ok_segment_64k,
    fail_bad_magic, fail_unsupported_version, fail_unsupported_suite,
    fail_segment_size_out_of_range,
    fail_nonzero_flags, fail_nonzero_padding, fail_unsorted_context, fail_flipped_header_byte,
    fail_modified_context, fail_flipped_mac, fail_flipped_segment_byte, fail_flipped_final_tag,
    fail_truncated_header, fail_header_only, fail_truncated_at_segment_boundary,
    fail_truncated_mid_segment, fail_extra_trailing_segment, fail_trailing_bytes,
    fail_swapped_segments, fail_dropped_segment, fail_unknown_key, fail_missing_final_segment,
    fail_full_final_segment, fail_wrong_data_key,
}

#[test]
fn every_vector_file_has_a_test() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|n| n.strip_suffix(".kenv").map(str::to_owned))
        .collect();
    let tested: BTreeSet<String> = NAMES.iter().map(|s| s.to_string()).collect();
    assert_eq!(on_disk, tested);
}
