//! End-to-end: one wire code, one exit code, whichever command met it. Each class of failure
//! (refused, credentials, unreachable, bad parameter, a blob that does not open) is pinned for
//! `kms`, `encrypt` (kenv and seed) and `decrypt` (kenv and seed), with stderr naming the code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Server, field};

/// A server with one enabled key and a file encrypted under it in each format.
struct Fixture {
    home: tempfile::TempDir,
    server: Server,
    key: String,
    plain: PathBuf,
    /// `(format, encrypted file)`.
    files: Vec<(&'static str, PathBuf)>,
    /// Output paths handed out so far.
    outputs: Cell<usize>,
}

impl Fixture {
    fn new() -> Fixture {
        let home = tempfile::tempdir().unwrap();
        let server = Server::start(home.path(), &[]);
        let key = new_key(&server);
        let plain = home.path().join("plain");
        std::fs::write(&plain, b"exit codes are an API").unwrap();
        let mut fixture = Fixture {
            home,
            server,
            key,
            plain,
            files: Vec::new(),
            outputs: Cell::new(0),
        };
        let key = fixture.key.clone();
        fixture.files = fixture.encrypt_all(&key, "");
        fixture
    }

    fn dir(&self) -> &Path {
        self.home.path()
    }

    /// Encrypts the plaintext under `key` in both formats; `tag` tells the files apart.
    fn encrypt_all(&self, key: &str, tag: &str) -> Vec<(&'static str, PathBuf)> {
        ["kenv", "seed"]
            .into_iter()
            .map(|format| {
                let out = self.dir().join(format!("file{tag}.{format}"));
                let args = encrypt_args(format, key, &self.plain, &out);
                ok(&self.server.cli(&strs(&args)));
                (format, out)
            })
            .collect()
    }

    /// `keywarden <prefix> <args>` (`prefix`: client flags, given before the command).
    fn run(&self, prefix: &[String], args: &[String]) -> Output {
        let all: Vec<String> = prefix.iter().chain(args).cloned().collect();
        self.server.cli(&strs(&all))
    }

    /// The calls that use `key`: `kms GenerateDataKey` and `encrypt` in both formats.
    fn key_calls(&self, key: &str) -> Vec<(String, Vec<String>)> {
        let mut calls = vec![(
            "kms".to_owned(),
            owned(&["kms", "GenerateDataKey", "--KeyId", key]),
        )];
        for format in ["kenv", "seed"] {
            let out = self.fresh_output();
            calls.push((
                format!("encrypt --format {format}"),
                encrypt_args(format, key, &self.plain, &out),
            ));
        }
        calls
    }

    /// `decrypt` of each file in `files`.
    fn decrypt_calls(&self, files: &[(&'static str, PathBuf)]) -> Vec<(String, Vec<String>)> {
        files
            .iter()
            .map(|(format, file)| {
                let out = self.fresh_output();
                let args = owned(&[
                    "decrypt",
                    file.to_str().unwrap(),
                    "-o",
                    out.to_str().unwrap(),
                ]);
                (format!("decrypt {format}"), args)
            })
            .collect()
    }

    /// Every command of the matrix, on the enabled key and its files.
    fn all_calls(&self) -> Vec<(String, Vec<String>)> {
        let mut calls = self.key_calls(&self.key);
        calls.extend(self.decrypt_calls(&self.files));
        calls
    }

    /// An output path not used yet (outputs must not exist: no `--force`).
    fn fresh_output(&self) -> PathBuf {
        let n = self.outputs.get();
        self.outputs.set(n + 1);
        self.dir().join(format!("out-{n}"))
    }

    /// A RAM user with an access key and no policy: `(id, secret)`.
    fn user_without_policies(&self) -> (String, String) {
        ok(&self
            .server
            .cli(&["ram", "CreateUser", "--UserName", "nobody"]));
        let out = self
            .server
            .cli(&["ram", "CreateAccessKey", "--UserName", "nobody"]);
        ok(&out);
        let ak: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            field(&ak, "AccessKey.AccessKeyId"),
            field(&ak, "AccessKey.AccessKeySecret"),
        )
    }
}

fn new_key(server: &Server) -> String {
    field(&server.kms("CreateKey", &[]), "KeyMetadata.KeyId")
}

fn encrypt_args(format: &str, key: &str, input: &Path, output: &Path) -> Vec<String> {
    owned(&[
        "encrypt",
        "--format",
        format,
        "--key-id",
        key,
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ])
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts the exit code and that stderr names `needle` (the wire code).
fn expect(what: &str, out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{what}: {stderr}");
    assert!(stderr.contains(needle), "{what}: no {needle:?} in {stderr}");
}

#[test]
fn refused_keys_exit_5() {
    let fx = Fixture::new();
    let disabled = new_key(&fx.server);
    fx.server.kms("DisableKey", &["--KeyId", &disabled]);
    for (what, args) in fx.key_calls(&disabled) {
        expect(&what, &fx.run(&[], &args), 5, "Rejected.Disabled");
    }
    let missing = [
        ("alias/missing", "Forbidden.AliasNotFound"),
        (
            "0b7f7b5e-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
            "Forbidden.KeyNotFound",
        ),
    ];
    for (key, code) in missing {
        for (what, args) in fx.key_calls(key) {
            expect(&format!("{what} {key}"), &fx.run(&[], &args), 5, code);
        }
    }
    // Files whose key was disabled after they were written.
    let later = new_key(&fx.server);
    let files = fx.encrypt_all(&later, "-later");
    fx.server.kms("DisableKey", &["--KeyId", &later]);
    for (what, args) in fx.decrypt_calls(&files) {
        expect(&what, &fx.run(&[], &args), 5, "Rejected.Disabled");
    }
}

#[test]
fn a_user_without_permission_exits_5() {
    let fx = Fixture::new();
    let (id, secret) = fx.user_without_policies();
    let as_user = owned(&["--access-key-id", &id, "--access-key-secret", &secret]);
    for (what, args) in fx.all_calls() {
        expect(&what, &fx.run(&as_user, &args), 5, "Forbidden.NoPermission");
    }
    let out = fx.run(&as_user, &owned(&["ram", "ListUsers"]));
    expect("ram ListUsers", &out, 5, "Forbidden.NoPermission");
}

#[test]
fn a_wrong_secret_exits_3() {
    let fx = Fixture::new();
    let (id, _) = fx.user_without_policies();
    let wrong = owned(&[
        "--access-key-id",
        &id,
        "--access-key-secret",
        "not-the-secret",
    ]);
    for (what, args) in fx.all_calls() {
        expect(&what, &fx.run(&wrong, &args), 3, "SignatureDoesNotMatch");
    }
    let unknown = owned(&["--access-key-id", "LTAInobody", "--access-key-secret", "x"]);
    for (what, args) in fx.all_calls() {
        expect(
            &what,
            &fx.run(&unknown, &args),
            3,
            "InvalidAccessKeyId.NotFound",
        );
    }
}

#[test]
fn an_unreachable_endpoint_exits_4() {
    let fx = Fixture::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = owned(&["--endpoint", &format!("https://127.0.0.1:{port}")]);
    for (what, args) in fx.all_calls() {
        expect(&what, &fx.run(&nowhere, &args), 4, "cannot reach the KMS");
    }
}

#[test]
fn a_bad_parameter_exits_6() {
    let fx = Fixture::new();
    let out = fx.run(
        &[],
        &owned(&[
            "kms",
            "GenerateDataKey",
            "--KeyId",
            &fx.key,
            "--NumberOfBytes",
            "0",
        ]),
    );
    expect("kms", &out, 6, "InvalidParameter");
    // Larger than the API's EncryptionContext (8192 characters), small enough for the header.
    let mut kenv = encrypt_args("kenv", &fx.key, &fx.plain, &fx.fresh_output());
    kenv.extend(owned(&["--context", &format!("big={}", "x".repeat(9000))]));
    expect("encrypt kenv", &fx.run(&[], &kenv), 6, "InvalidParameter");
    let seed = encrypt_args("seed", "", &fx.plain, &fx.fresh_output());
    expect("encrypt seed", &fx.run(&[], &seed), 6, "MissingParameter");
}

#[test]
fn a_foreign_blob_exits_8_on_decrypt() {
    let fx = Fixture::new();
    let other_home = tempfile::tempdir().unwrap();
    let other = Server::start(other_home.path(), &[]);
    let other_key = new_key(&other);
    let foreign: Vec<(&'static str, PathBuf)> = ["kenv", "seed"]
        .into_iter()
        .map(|format| {
            let out = fx.dir().join(format!("foreign.{format}"));
            let args = encrypt_args(format, &other_key, &fx.plain, &out);
            ok(&other.cli(&strs(&args)));
            (format, out)
        })
        .collect();
    for (what, args) in fx.decrypt_calls(&foreign) {
        expect(&what, &fx.run(&[], &args), 8, "InvalidParameter");
    }
    let blob = field(
        &other.kms("Encrypt", &["--KeyId", &other_key, "--Plaintext", "hi"]),
        "CiphertextBlob",
    );
    let out = fx.run(&[], &owned(&["kms", "Decrypt", "--CiphertextBlob", &blob]));
    expect("kms Decrypt", &out, 8, "InvalidParameter");
}
