//! End-to-end: `keywarden encrypt / decrypt / rewrap / inspect` against a real server, with the
//! failure cases a script relies on (exit codes, no partial output, no silent replacement).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{Server, field};

fn random_file(path: &Path, len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ len as u64;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    std::fs::write(path, &data).unwrap();
    data
}

fn new_key(server: &Server, alias: &str) -> String {
    let k = server.kms("CreateKey", &[]);
    let id = field(&k, "KeyMetadata.KeyId");
    server.kms("CreateAlias", &["--AliasName", alias, "--KeyId", &id]);
    id
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn file_round_trips_multi_key_rewrap_and_inspect() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    let k1 = new_key(&server, "alias/files1");
    let k2 = new_key(&server, "alias/files2");
    let dir = home.path();
    // Around the 1 MiB segment size: empty, one byte, exactly one segment, several.
    for len in [0usize, 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 12345] {
        let plain = dir.join(format!("p{len}"));
        let data = random_file(&plain, len);
        let enc = dir.join(format!("p{len}.kenv"));
        let dec = dir.join(format!("p{len}.out"));
        let p = plain.to_str().unwrap();
        let e = enc.to_str().unwrap();
        ok(&server.cli(&[
            "encrypt",
            "--key-id",
            "alias/files1",
            "--key-id",
            &k2,
            "--context",
            "app=web",
            p,
            "-o",
            e,
        ]));
        let info: serde_json::Value =
            serde_json::from_slice(&server.cli(&["inspect", e]).stdout).unwrap();
        assert_eq!(info["KeyIds"], serde_json::json!([k1, k2]));
        assert_eq!(info["EncryptionContext"]["app"], "web");
        assert_eq!(info["PlaintextLength"], serde_json::json!(len));
        ok(&server.cli(&["decrypt", e, "-o", dec.to_str().unwrap()]));
        assert_eq!(std::fs::read(&dec).unwrap(), data, "len {len}");
    }
    // Rewrap to the second key only, then disable nothing but prove the first key is no longer needed:
    let enc = dir.join("p1.kenv");
    ok(&server.cli(&["rewrap", "--key-id", "alias/files2", enc.to_str().unwrap()]));
    let info: serde_json::Value =
        serde_json::from_slice(&server.cli(&["inspect", enc.to_str().unwrap()]).stdout).unwrap();
    assert_eq!(info["KeyIds"], serde_json::json!([k2]));
    let dec = dir.join("p1.rewrapped");
    ok(&server.cli(&[
        "decrypt",
        enc.to_str().unwrap(),
        "-o",
        dec.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read(&dec).unwrap(),
        std::fs::read(dir.join("p1")).unwrap()
    );
}

#[test]
fn stdin_to_stdout_both_formats() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    new_key(&server, "alias/pipe");
    let data = random_file(&home.path().join("in"), 300_000);
    for format in ["kenv", "seed"] {
        let run = |args: &[&str], input: &[u8]| -> Vec<u8> {
            let mut child = Command::new(common::bin())
                .args(args)
                .env("KEYWARDEN_CONFIG", &server.config)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let input = input.to_vec();
            let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
            let out = child.wait_with_output().unwrap();
            writer.join().unwrap().unwrap();
            assert!(out.status.success(), "{args:?}");
            out.stdout
        };
        let enc = run(
            &[
                "encrypt",
                "--format",
                format,
                "--key-id",
                "alias/pipe",
                "-",
                "-o",
                "-",
            ],
            &data,
        );
        assert_ne!(enc, data);
        let dec = run(&["decrypt", "-", "-o", "-"], &enc);
        assert_eq!(dec, data, "{format}");
    }
}

#[test]
fn failures_have_distinct_exit_codes_and_leave_no_output() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    new_key(&server, "alias/fail");
    let dir = home.path();
    let plain = dir.join("plain");
    random_file(&plain, 2 * (1 << 20) + 100);
    let enc = dir.join("enc");
    ok(&server.cli(&[
        "encrypt",
        "--key-id",
        "alias/fail",
        plain.to_str().unwrap(),
        "-o",
        enc.to_str().unwrap(),
    ]));
    let good = std::fs::read(&enc).unwrap();
    let out = dir.join("out");
    let o = out.to_str().unwrap();
    let try_decrypt = |bytes: &[u8]| -> Option<i32> {
        let bad = dir.join("bad");
        std::fs::write(&bad, bytes).unwrap();
        let code = server
            .cli(&["decrypt", bad.to_str().unwrap(), "-o", o])
            .status
            .code();
        assert!(!out.exists(), "no output after a failure");
        let leftovers: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("keywarden"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        code
    };
    let mut flipped = good.clone();
    let last = flipped.len() - 10;
    flipped[last] ^= 1;
    assert_eq!(try_decrypt(&flipped), Some(8), "tampered body");
    let mut header = good.clone();
    header[40] ^= 1;
    assert_eq!(try_decrypt(&header), Some(8), "tampered header");
    let header_len = 4096;
    let seg = (1 << 20) + 16;
    assert_eq!(
        try_decrypt(&good[..header_len + 2 * seg]),
        Some(9),
        "cut at a segment boundary"
    );
    let mut extended = good.clone();
    extended.extend_from_slice(&good[header_len..header_len + seg]);
    assert!(
        matches!(try_decrypt(&extended), Some(8 | 9)),
        "data after the final segment"
    );
    assert_eq!(try_decrypt(b"just some text\n"), Some(7), "not an envelope");
    assert_eq!(try_decrypt(&good[..100]), Some(9), "truncated header");

    // Existing output is never replaced without --force.
    std::fs::write(&out, b"precious").unwrap();
    assert_ne!(
        server
            .cli(&["decrypt", enc.to_str().unwrap(), "-o", o])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    ok(&server.cli(&["decrypt", "--force", enc.to_str().unwrap(), "-o", o]));
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&plain).unwrap());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600,
        "plaintext is private"
    );

    // Unknown key: the KMS refuses (5).
    let code = server
        .cli(&[
            "encrypt",
            "--key-id",
            "alias/none",
            plain.to_str().unwrap(),
            "-o",
            dir.join("x").to_str().unwrap(),
        ])
        .status
        .code();
    assert_eq!(code, Some(5));
    assert!(!dir.join("x").exists());
}

#[test]
fn directory_trees_round_trip_atomically() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    new_key(&server, "alias/tree");
    let src = home.path().join("src");
    std::fs::create_dir_all(src.join("a/b/c")).unwrap();
    std::fs::create_dir_all(src.join("empty")).unwrap();
    for i in 0..40 {
        random_file(&src.join(format!("a/small{i}.txt")), i * 37);
    }
    random_file(&src.join("a/b/c/big.bin"), 2 * (1 << 20) + 7);
    random_file(&src.join("name with spaces.kenv.txt"), 10);
    let enc = home.path().join("enc");
    let dec = home.path().join("dec");
    ok(&server.cli(&[
        "encrypt",
        "-r",
        "--key-id",
        "alias/tree",
        src.to_str().unwrap(),
        "-o",
        enc.to_str().unwrap(),
    ]));
    assert!(enc.join("a/b/c/big.bin.kenv").is_file());
    assert!(enc.join("empty").is_dir());
    ok(&server.cli(&[
        "decrypt",
        "-r",
        enc.to_str().unwrap(),
        "-o",
        dec.to_str().unwrap(),
    ]));
    let diff = Command::new("diff")
        .args(["-r"])
        .arg(&src)
        .arg(&dec)
        .status()
        .unwrap();
    assert!(diff.success(), "trees differ");

    // A tampered member fails the whole run and leaves no output tree.
    let victim = enc.join("a/small3.txt.kenv");
    let mut bytes = std::fs::read(&victim).unwrap();
    let n = bytes.len() - 1;
    bytes[n] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    let dec2 = home.path().join("dec2");
    assert_eq!(
        server
            .cli(&[
                "decrypt",
                "-r",
                enc.to_str().unwrap(),
                "-o",
                dec2.to_str().unwrap()
            ])
            .status
            .code(),
        Some(8)
    );
    assert!(!dec2.exists());
    let stray: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("keywarden-"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}
