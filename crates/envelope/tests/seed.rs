//! The 4-line seed format: reading pycryptodome-made files, round trips and every error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufReader, Cursor};

use keywarden_envelope::seed::{self, SeedKey};
use keywarden_envelope::{Error, WrapError, WrapErrorKind};

const VECTORS: &str = include_str!("vectors/seed_eax_pycryptodome.json");

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + 7) % 251) as u8).collect()
}

struct PyFile {
    key: Vec<u8>,
    blob: Vec<u8>,
    len: usize,
    text: String,
}

fn python_files() -> Vec<PyFile> {
    let json: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| PyFile {
            key: hex::decode(f["key"].as_str().unwrap()).unwrap(),
            blob: hex::decode(f["blob"].as_str().unwrap()).unwrap(),
            len: f["len"].as_u64().unwrap() as usize,
            text: f["file"].as_str().unwrap().to_owned(),
        })
        .collect()
}

/// Both decryptors on `file`, with an unwrapper that expects `blob` and returns `key`.
fn both(file: &[u8], blob: &[u8], key: &[u8]) -> [(Result<u64, Error>, Vec<u8>); 2] {
    let unwrap = |seen: &[u8]| {
        assert_eq!(seen, blob);
        SeedKey::new(key)
    };
    let mut one = Vec::new();
    let r1 = seed::decrypt(file, &mut one, unwrap);
    let mut two = Vec::new();
    let r2 = seed::decrypt_verified(Cursor::new(file), &mut two, unwrap);
    [(r1, one), (r2, two)]
}

#[test]
fn reads_files_written_by_pycryptodome() {
    for f in python_files() {
        assert!(seed::is_seed(f.text.as_bytes()));
        for (result, out) in both(f.text.as_bytes(), &f.blob, &f.key) {
            assert_eq!(result.unwrap(), f.len as u64);
            assert_eq!(out, pattern(f.len));
        }
    }
}

#[test]
fn tolerates_crlf_and_missing_final_newline() {
    let f = &python_files()[3];
    let crlf = f.text.replace('\n', "\r\n");
    let no_final = f.text.trim_end().to_owned();
    let trailing_space = format!("{}\n  \n", f.text);
    for text in [crlf, no_final, trailing_space] {
        for (result, out) in both(text.as_bytes(), &f.blob, &f.key) {
            assert_eq!(result.unwrap(), f.len as u64);
            assert_eq!(out, pattern(f.len));
        }
    }
}

#[test]
fn round_trip_across_decoder_chunks() {
    let key = SeedKey::new(&[4; 32]).unwrap();
    for len in [0, 1, 786_431, 786_432, 786_433, 3 << 20] {
        let data = pattern(len);
        let mut file = Vec::new();
        assert_eq!(
            seed::encrypt(b"wrapped", &key, &data[..], &mut file).unwrap(),
            len as u64
        );
        // A small BufReader capacity forces many fill_buf calls in the decoder.
        let mut out = Vec::new();
        let reader = BufReader::with_capacity(1000, &file[..]);
        seed::decrypt(reader, &mut out, |_| SeedKey::new(&[4; 32])).unwrap();
        assert!(out == data, "len {len}");
        for (result, out) in both(&file, b"wrapped", &[4; 32]) {
            assert_eq!(result.unwrap(), len as u64);
            assert!(out == data, "len {len}");
        }
    }
}

#[test]
fn a_modified_ciphertext_is_tampered_and_verified_mode_writes_nothing() {
    let f = &python_files()[3];
    let mut lines: Vec<String> = f.text.lines().map(str::to_owned).collect();
    let flipped = if lines[2].starts_with('A') { "B" } else { "A" };
    lines[2].replace_range(0..1, flipped);
    let text = lines.join("\n") + "\n";
    let [(one, _), (two, two_out)] = both(text.as_bytes(), &f.blob, &f.key);
    assert!(matches!(one, Err(Error::Tampered)));
    assert!(matches!(two, Err(Error::Tampered)));
    assert!(two_out.is_empty());
    // A wrong key is the same error.
    let [(one, _), (two, two_out)] = both(f.text.as_bytes(), &f.blob, &[0; 32]);
    assert!(matches!(one, Err(Error::Tampered)));
    assert!(matches!(two, Err(Error::Tampered)));
    assert!(two_out.is_empty());
}

#[test]
fn structural_errors() {
    let f = &python_files()[2];
    let lines: Vec<&str> = f.text.lines().collect();
    let join = |parts: &[&str]| parts.iter().map(|l| format!("{l}\n")).collect::<String>();
    type Check = fn(&Error) -> bool;
    let cases: Vec<(String, Check)> = vec![
        (String::new(), |e| matches!(e, Error::NotEnvelope)),
        ("\u{89}KENV".into(), |e| matches!(e, Error::NotEnvelope)),
        (lines[0].to_owned(), |e| matches!(e, Error::Truncated)),
        (join(&lines[..1]), |e| matches!(e, Error::Truncated)),
        (join(&lines[..2]), |e| matches!(e, Error::Truncated)),
        (format!("{}\n{}\n{}", lines[0], lines[1], lines[2]), |e| {
            matches!(e, Error::Truncated)
        }),
        (join(&lines[..3]), |e| matches!(e, Error::Truncated)),
        (format!("{}junk", f.text), |e| {
            matches!(e, Error::TrailingData)
        }),
        (
            join(&[lines[0], lines[1], lines[2], lines[3], lines[3]]),
            |e| matches!(e, Error::TrailingData),
        ),
        (join(&[lines[0], "AAAA", lines[2], lines[3]]), |e| {
            matches!(e, Error::Malformed(_))
        }),
        (join(&[lines[0], "not base64!", lines[2], lines[3]]), |e| {
            matches!(e, Error::Malformed(_))
        }),
        (join(&[lines[0], lines[1], "A*==", lines[3]]), |e| {
            matches!(e, Error::Malformed(_))
        }),
        (join(&[lines[0], lines[1], lines[2], "AAAA"]), |e| {
            matches!(e, Error::Malformed(_))
        }),
    ];
    for (text, expected) in cases {
        for (result, _) in both(text.as_bytes(), &f.blob, &f.key) {
            let err = result.expect_err(&text);
            assert!(expected(&err), "{text:?}: {err:?}");
        }
    }
}

#[test]
fn unwrap_errors_pass_through() {
    let f = &python_files()[1];
    let r = seed::decrypt(f.text.as_bytes(), Vec::new(), |_| {
        Err(WrapError::new(WrapErrorKind::Unauthorized, "no").into())
    });
    assert!(matches!(r, Err(Error::Wrap(ref e)) if e.kind() == WrapErrorKind::Unauthorized));
    let r = seed::decrypt(f.text.as_bytes(), Vec::new(), |_| SeedKey::new(&[1; 7]));
    assert!(matches!(r, Err(Error::InvalidArgument(_))));
}

#[test]
fn detection() {
    assert!(seed::is_seed(b"ODZhOWVmZDkt"));
    assert!(seed::is_seed(b"QUJD\r\nxyz"));
    assert!(!seed::is_seed(b""));
    assert!(!seed::is_seed(b"\n"));
    assert!(!seed::is_seed(b"\x89KENV\r\n\x1a"));
    assert!(!seed::is_seed(b"hello world"));
}
