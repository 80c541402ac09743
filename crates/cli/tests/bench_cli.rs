//! `keywarden bench kms` and `keywarden bench hello` end to end: the load generator against a
//! real `keywarden serve` (RPC v1 and ACS3, over the generated TLS), its failure with a wrong
//! secret (non-zero exit, the error code printed), and against the `bench hello` responder, plain
//! and TLS. Only counts are asserted, never speed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use common::{Server, bin, field};
use serde_json::Value;

fn bench_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn assert_clean_run(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "bench failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v = bench_json(out);
    assert!(v["Requests"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["Ok"], v["Requests"], "{v}");
    assert_eq!(v["Non200"], 0, "{v}");
    assert_eq!(v["Failed"], 0, "{v}");
    v
}

const LOAD: &[&str] = &["--duration", "1", "--connections", "2", "--json"];

#[test]
fn generate_data_key_v1_and_acs3_against_serve() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &["--rate-limit", "0"]);
    for signature in ["v1", "acs3"] {
        let mut args = vec!["bench", "kms", "--action", "GenerateDataKey"];
        args.extend_from_slice(&["--signature", signature]);
        args.extend_from_slice(LOAD);
        let v = assert_clean_run(&server.cli(&args));
        assert_eq!(v["Signature"], signature);
        assert_eq!(v["Transport"], "https");
        assert_eq!(v["Connections"], 2);
    }
}

#[test]
fn a_wrong_secret_fails_with_the_error_code() {
    let home = tempfile::tempdir().unwrap();
    // Every request fails authentication: the per-address failure limit is off here.
    let server = Server::start(
        home.path(),
        &["--rate-limit", "0", "--auth-failure-rate", "0"],
    );
    let key = field(&server.kms("CreateKey", &[]), "KeyMetadata.KeyId");
    let mut args = vec![
        "--access-key-secret",
        "wrong",
        "bench",
        "kms",
        "--key-id",
        &key,
    ];
    args.extend_from_slice(LOAD);
    let out = server.cli(&args);
    assert!(!out.status.success());
    let v = bench_json(&out);
    assert_eq!(v["Ok"], 0, "{v}");
    assert!(v["Non200"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["Errors"][0]["Code"], "SignatureDoesNotMatch", "{v}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SignatureDoesNotMatch"), "{stderr}");
    // Text output: one line per kind of error, however many requests failed.
    let text = server.cli(&args[..args.len() - 1]);
    assert!(!text.status.success());
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("x HTTP 400 SignatureDoesNotMatch"),
        "{stdout}"
    );
    assert!(stdout.lines().count() < 10, "{stdout}");
}

/// A running `keywarden bench hello`.
struct Hello {
    child: Child,
    endpoint: String,
    ca: Option<String>,
}

impl Hello {
    fn start(extra: &[&str]) -> Hello {
        let child = Command::new(bin())
            .args(["bench", "hello", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Owned by `Hello` at once, so that a failed start still kills it (Drop).
        let mut hello = Hello {
            child,
            endpoint: String::new(),
            ca: None,
        };
        let stdout = hello.child.stdout.take().unwrap();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(path) = line.strip_prefix("CA certificate: ") {
                hello.ca = Some(path.to_owned());
            } else if let Some(ep) = line.strip_prefix("keywarden bench hello listening on ") {
                hello.endpoint = ep.to_owned();
                return hello;
            }
        }
        panic!("bench hello ended without a listening line");
    }

    /// `bench kms --no-setup` against it with made-up credentials and no profile.
    fn bench(&self, home: &Path, action: &str) -> Output {
        let mut cmd = Command::new(bin());
        cmd.args(["--endpoint", &self.endpoint]).args([
            "--access-key-id",
            "any",
            "--access-key-secret",
            "thing",
        ]);
        if let Some(ca) = &self.ca {
            cmd.args(["--ca-file", ca]);
        }
        cmd.args(["bench", "kms", "--no-setup", "--action", action])
            .args(LOAD)
            .env("KEYWARDEN_CONFIG", home.join("none.json"))
            .env_remove("KEYWARDEN_ENDPOINT")
            .env_remove("KEYWARDEN_CA_FILE")
            .output()
            .unwrap()
    }
}

impl Drop for Hello {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn bench_hello_answers_plain_and_tls() {
    let home = tempfile::tempdir().unwrap();
    let plain = Hello::start(&[]);
    let addr = plain.endpoint.strip_prefix("http://").unwrap();
    let mut raw = std::net::TcpStream::connect(addr).unwrap();
    raw.write_all(b"POST /?Action=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("x-acs-request-id: "), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert!(body["CiphertextBlob"].is_string(), "{body}");
    assert_clean_run(&plain.bench(home.path(), "Decrypt"));

    let certs = home.path().join("certs");
    let tls = Hello::start(&["--tls", "--cert-dir", certs.to_str().unwrap()]);
    assert!(tls.endpoint.starts_with("https://"));
    assert_eq!(
        tls.ca.as_deref(),
        Some(certs.join("tls/ca.pem").to_str().unwrap())
    );
    let v = assert_clean_run(&tls.bench(home.path(), "Encrypt"));
    assert_eq!(v["Transport"], "https");
}
