//! Generator of the committed KENV1 test vectors in `tests/vectors/` (`NAME.kenv` plus
//! `NAME.json`). Deterministic: fixed KEKs, a seeded [`LocalWrapper`] and fixed salts.
//!
//! Regenerate after a deliberate format change with
//! `cargo test -p keywarden-envelope --lib -- --ignored regenerate_vectors`;
//! `committed_vectors_are_current` fails until the files match the code.

use std::path::PathBuf;

use serde_json::json;

use crate::encrypt::{EncryptOptions, EnvelopeKey, sign_header};
use crate::header::{self, MAC_LEN};
use crate::keys::{EncryptionContext, KeyWrapper};
use crate::schedule::{FileKeys, TAG_LEN};
use crate::stream;
use crate::testing::LocalWrapper;

const KEK1: [u8; 32] = [0x11; 32];
const KEK2: [u8; 32] = [0x22; 32];
const K1: &str = "kms-key-1";
const K2: &str = "kms-key-2";
const SALT: [u8; 32] = [0x5a; 32];
const S: u32 = 4096;

/// One vector: the envelope bytes and its sidecar description.
struct Vector {
    name: &'static str,
    bytes: Vec<u8>,
    json: serde_json::Value,
}

/// Plaintext byte `i`.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + (i >> 8) + 7) % 251) as u8)
        .collect()
}

fn wrapper(seed: u64) -> LocalWrapper {
    LocalWrapper::new()
        .with_key(K1, &KEK1)
        .with_key(K2, &KEK2)
        .deterministic(seed)
}

fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data))
}

/// A valid envelope and what went into it.
struct Sealed {
    key: EnvelopeKey,
    bytes: Vec<u8>,
    plaintext: Vec<u8>,
    header_len: usize,
    segment_size: u32,
}

fn seal(
    seed: u64,
    ids: &[&str],
    context: &EncryptionContext,
    len: usize,
    seg: u32,
    align: u32,
) -> Sealed {
    let key = EnvelopeKey::generate(&wrapper(seed), ids, context).unwrap();
    let options = EncryptOptions {
        segment_size: seg,
        header_align: align,
    };
    let plaintext = pattern(len);
    let mut bytes = Vec::new();
    let s = key
        .encrypt_with_salt(&SALT, &plaintext[..], &mut bytes, &options)
        .unwrap();
    Sealed {
        key,
        bytes,
        plaintext,
        header_len: s.header_len as usize,
        segment_size: seg,
    }
}

impl Sealed {
    fn ok(&self, name: &'static str, description: &str, keys: &[&str]) -> Vector {
        let mut json = self.describe(description, "ok", keys);
        json["plaintext_len"] = json!(self.plaintext.len());
        json["plaintext_sha256"] = json!(sha256_hex(&self.plaintext));
        json["header_len"] = json!(self.header_len);
        let ids: Vec<_> = self
            .key
            .wrapped_keys()
            .iter()
            .map(|k| k.key_id.clone())
            .collect();
        json["key_ids"] = json!(ids);
        Vector {
            name,
            bytes: self.bytes.clone(),
            json,
        }
    }

    fn fail(
        &self,
        name: &'static str,
        description: &str,
        expected: &str,
        bytes: Vec<u8>,
    ) -> Vector {
        Vector {
            name,
            bytes,
            json: self.describe(description, expected, &[K1, K2]),
        }
    }

    fn describe(&self, description: &str, expected: &str, keys: &[&str]) -> serde_json::Value {
        let keks: serde_json::Map<_, _> = keys
            .iter()
            .map(|id| {
                (
                    id.to_string(),
                    json!(hex::encode(if *id == K1 { KEK1 } else { KEK2 })),
                )
            })
            .collect();
        json!({
            "description": description,
            "expected": expected,
            "local_wrapper_keys": keks,
            "data_key": hex::encode(self.key.data_key_bytes()),
            "segment_size": self.segment_size,
        })
    }

    /// Segment `i`'s byte range.
    fn segment(&self, i: usize) -> std::ops::Range<usize> {
        let slot = self.segment_size as usize + TAG_LEN;
        let start = self.header_len + i * slot;
        start..(start + slot).min(self.bytes.len())
    }

    /// The envelope with its header re-encoded by `edit` and re-signed with the right keys,
    /// so that only the structural rule under test can reject it.
    fn resigned(&self, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut raw = self.bytes[..self.header_len].to_vec();
        edit(&mut raw);
        let seg_log2 = self.segment_size.trailing_zeros() as u8;
        let keys =
            FileKeys::derive(&self.key.data_key, seg_log2, &SALT, &self.key.context_bytes).unwrap();
        sign_header(&keys, &mut raw);
        let mut out = raw;
        out.extend_from_slice(&self.bytes[self.header_len..]);
        out
    }
}

fn flip(mut bytes: Vec<u8>, at: usize) -> Vec<u8> {
    bytes[at] ^= 0x01;
    bytes
}

fn set(mut bytes: Vec<u8>, at: usize, value: u8) -> Vec<u8> {
    bytes[at] = value;
    bytes
}

fn valid_vectors() -> Vec<Vector> {
    let empty = EncryptionContext::new();
    vec![
        seal(1, &[K1], &empty, 0, S, 4096).ok(
            "ok_empty",
            "Empty plaintext: one empty final segment.",
            &[K1],
        ),
        seal(2, &[K1], &ctx(&[("purpose", "vector")]), 1000, S, 4096).ok(
            "ok_short",
            "One short final segment, one context pair.",
            &[K1],
        ),
        seal(3, &[K1], &empty, 2 * S as usize, S, 4096).ok(
            "ok_exact_segments",
            "Two full segments and an empty final segment.",
            &[K1],
        ),
        seal(
            4,
            &[K1, K2],
            &ctx(&[("app", "keywarden"), ("tenant", "t-1")]),
            3 * S as usize + 123,
            S,
            4096,
        )
        .ok(
            "ok_multi_segment_two_keys",
            "Four segments, two wrapped keys, two context pairs.",
            &[K1, K2],
        ),
        seal(
            4,
            &[K1, K2],
            &ctx(&[("app", "keywarden"), ("tenant", "t-1")]),
            3 * S as usize + 123,
            S,
            4096,
        )
        .ok(
            "ok_second_key_only",
            "As ok_multi_segment_two_keys; the reader holds only the second CMK.",
            &[K2],
        ),
        seal(5, &[K1], &empty, 100, S, 1).ok(
            "ok_compact_header",
            "Header without padding (align 1).",
            &[K1],
        ),
        seal(6, &[K2], &empty, 70_000, 1 << 16, 4096).ok(
            "ok_segment_64k",
            "64 KiB segments.",
            &[K2],
        ),
    ]
}

fn failing_vectors() -> Vec<Vector> {
    let base = seal(
        4,
        &[K1, K2],
        &ctx(&[("app", "keywarden"), ("tenant", "t-1")]),
        3 * S as usize + 123,
        S,
        4096,
    );
    let b = || base.bytes.clone();
    let hl = base.header_len;
    // Salt ends at 48; ec_len (2), count (2), klen (2), "app" (3), vlen (2): "keywarden" at 59.
    let ec_value = 48 + 2 + 2 + 2 + 3 + 2;
    let mut vectors = vec![
        base.fail(
            "fail_bad_magic",
            "First magic byte changed.",
            "NotEnvelope",
            set(b(), 0, b'X'),
        ),
        base.fail(
            "fail_unsupported_version",
            "Version byte 2.",
            "UnsupportedVersion",
            set(b(), 8, 2),
        ),
        base.fail(
            "fail_unsupported_suite",
            "Suite byte 2.",
            "UnsupportedSuite",
            set(b(), 9, 2),
        ),
        base.fail(
            "fail_segment_size_out_of_range",
            "seg_log2 = 11.",
            "Malformed",
            set(b(), 10, 11),
        ),
        base.fail(
            "fail_nonzero_flags",
            "Flags byte 1.",
            "Malformed",
            set(b(), 11, 1),
        ),
        base.fail(
            "fail_nonzero_padding",
            "A padding byte set, header MAC recomputed.",
            "Malformed",
            base.resigned(|raw| raw[hl - MAC_LEN - 1] = 1),
        ),
        base.fail(
            "fail_unsorted_context",
            "Context pairs swapped (not sorted), MAC recomputed.",
            "Malformed",
            base.resigned(|raw| {
                let ec = header::encode_context(&ctx(&[("app", "keywarden"), ("tenant", "t-1")]))
                    .unwrap();
                let (first, second) = (&ec[2..2 + 4 + 3 + 9], &ec[2 + 4 + 3 + 9..]);
                let swapped = [&ec[..2], second, first].concat();
                raw[50..50 + ec.len()].copy_from_slice(&swapped);
            }),
        ),
        base.fail(
            "fail_flipped_header_byte",
            "One salt bit flipped.",
            "Tampered",
            flip(b(), 20),
        ),
        base.fail(
            "fail_modified_context",
            "One context value bit flipped; the key service refuses to unwrap.",
            "Wrap:InvalidCiphertext",
            flip(b(), ec_value),
        ),
        base.fail(
            "fail_flipped_mac",
            "One header MAC bit flipped.",
            "Tampered",
            flip(b(), hl - 1),
        ),
        base.fail(
            "fail_flipped_segment_byte",
            "One ciphertext bit flipped in segment 1.",
            "Tampered",
            flip(b(), base.segment(1).start + 10),
        ),
        base.fail(
            "fail_flipped_final_tag",
            "One tag bit flipped in the final segment.",
            "Tampered",
            flip(b(), base.bytes.len() - 1),
        ),
        base.fail(
            "fail_truncated_header",
            "Cut inside the header.",
            "Truncated",
            b()[..100].to_vec(),
        ),
        base.fail(
            "fail_header_only",
            "Header without any segment.",
            "Truncated",
            b()[..hl].to_vec(),
        ),
        base.fail(
            "fail_truncated_at_segment_boundary",
            "Cut after segment 1.",
            "Truncated",
            b()[..base.segment(1).end].to_vec(),
        ),
        base.fail(
            "fail_truncated_mid_segment",
            "Cut in the middle of segment 2 (reads as a bad final segment).",
            "Tampered",
            b()[..base.segment(2).start + 2000].to_vec(),
        ),
        base.fail(
            "fail_extra_trailing_segment",
            "A copy of segment 0 appended.",
            "Tampered",
            [b(), b()[base.segment(0)].to_vec()].concat(),
        ),
        base.fail(
            "fail_trailing_bytes",
            "Seven zero bytes appended.",
            "Tampered",
            [b(), vec![0; 7]].concat(),
        ),
        base.fail(
            "fail_swapped_segments",
            "Segments 0 and 1 swapped.",
            "Tampered",
            {
                let mut v = b();
                let (s0, s1) = (base.segment(0), base.segment(1));
                let first = v[s0.clone()].to_vec();
                v.copy_within(s1.clone(), s0.start);
                v[s1].copy_from_slice(&first);
                v
            },
        ),
        base.fail(
            "fail_dropped_segment",
            "Segment 1 removed.",
            "Tampered",
            [&b()[..base.segment(1).start], &b()[base.segment(1).end..]].concat(),
        ),
        {
            let mut v = base.fail(
                "fail_unknown_key",
                "The reader holds none of the CMKs.",
                "Wrap:NotFound",
                b(),
            );
            v.json["local_wrapper_keys"] = json!({});
            v
        },
    ];
    let exact = seal(3, &[K1], &EncryptionContext::new(), 2 * S as usize, S, 4096);
    vectors.push(exact.fail(
        "fail_missing_final_segment",
        "ok_exact_segments without its empty final segment.",
        "Truncated",
        exact.bytes[..exact.bytes.len() - TAG_LEN].to_vec(),
    ));
    vectors.push(full_final_segment());
    vectors.push(wrong_data_key());
    vectors
}

/// A non-conforming writer that marks a full-size segment final: readers never accept it.
fn full_final_segment() -> Vector {
    let sealed = seal(7, &[K1], &EncryptionContext::new(), 0, S, 4096);
    let keys = FileKeys::derive(&sealed.key.data_key, 12, &SALT, &[]).unwrap();
    let mut bytes = sealed.bytes[..sealed.header_len].to_vec();
    let plaintext = pattern(2 * S as usize);
    for (i, chunk) in plaintext.chunks(S as usize).enumerate() {
        let mut slot = chunk.to_vec();
        slot.resize(chunk.len() + TAG_LEN, 0);
        crate::schedule::seal_segment(keys.body(), i as u64, i == 1, &mut slot, chunk.len())
            .unwrap();
        bytes.extend_from_slice(&slot);
    }
    sealed.fail(
        "fail_full_final_segment",
        "Two full segments, the second flagged final (writers must end with a short segment).",
        "Truncated",
        bytes,
    )
}

/// The wrapped key holds another data key than the one the MAC and body were made with.
fn wrong_data_key() -> Vector {
    let sealed = seal(8, &[K1], &EncryptionContext::new(), 500, S, 4096);
    let (_, other) = wrapper(99)
        .generate_data_key(K1, &EncryptionContext::new())
        .unwrap();
    let mut raw = header::encode_unsigned(12, &SALT, &[], &[other], sealed.header_len);
    let keys = FileKeys::derive(&sealed.key.data_key, 12, &SALT, &[]).unwrap();
    sign_header(&keys, &mut raw);
    let mut body = Vec::new();
    stream::encrypt_body(keys.body(), S as usize, &sealed.plaintext[..], &mut body).unwrap();
    sealed.fail(
        "fail_wrong_data_key",
        "The wrapped key unwraps to a different data key than the header MAC and body use.",
        "Tampered",
        [raw, body].concat(),
    )
}

fn all_vectors() -> Vec<Vector> {
    let mut all = valid_vectors();
    all.extend(failing_vectors());
    all
}

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn json_text(v: &Vector) -> String {
    serde_json::to_string_pretty(&v.json).unwrap() + "\n"
}

#[test]
#[ignore = "writes tests/vectors; run after a deliberate format change"]
fn regenerate_vectors() {
    for v in all_vectors() {
        std::fs::write(vectors_dir().join(format!("{}.kenv", v.name)), &v.bytes).unwrap();
        std::fs::write(
            vectors_dir().join(format!("{}.json", v.name)),
            json_text(&v),
        )
        .unwrap();
    }
}

#[test]
fn committed_vectors_are_current() {
    for v in all_vectors() {
        let kenv = std::fs::read(vectors_dir().join(format!("{}.kenv", v.name))).unwrap();
        assert!(
            kenv == v.bytes,
            "{}.kenv is stale: regenerate the vectors",
            v.name
        );
        let json = std::fs::read_to_string(vectors_dir().join(format!("{}.json", v.name))).unwrap();
        assert_eq!(
            json,
            json_text(&v),
            "{}.json is stale: regenerate the vectors",
            v.name
        );
    }
}
