//! End-to-end: `keywarden serve` and `keywarden kms` as a user runs them, with the profile the
//! server writes, exit codes, durability across SIGKILL, and graceful SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::{Server, field};

#[test]
fn seed_flow_with_zero_setup() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    assert!(server.endpoint.starts_with("https://127.0.0.1:"));
    let key = server.kms("CreateKey", &[]);
    let key_id = field(&key, "KeyMetadata.KeyId");
    server.kms(
        "CreateAlias",
        &["--AliasName", "alias/Apollo/WorkKey", "--KeyId", &key_id],
    );
    let dk = server.kms(
        "GenerateDataKey",
        &["--KeyId", "alias/Apollo/WorkKey", "--NumberOfBytes", "32"],
    );
    assert_eq!(field(&dk, "KeyId"), key_id);
    let blob = field(&dk, "CiphertextBlob");
    let dec = server.kms("Decrypt", &["--CiphertextBlob", &blob]);
    assert_eq!(field(&dec, "Plaintext"), field(&dk, "Plaintext"));
    assert_eq!(
        field(&dec, "KeyVersionId"),
        field(&key, "KeyMetadata.PrimaryKeyVersion")
    );
}

#[test]
fn exit_codes_tell_failures_apart() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    let code = |args: &[&str]| server.cli(args).status.code();
    assert_eq!(
        code(&[
            "kms",
            "DescribeKey",
            "--KeyId",
            "00000000-0000-0000-0000-000000000000"
        ]),
        Some(5)
    );
    assert_eq!(
        code(&[
            "kms",
            "GenerateDataKey",
            "--KeyId",
            "alias/none",
            "--NumberOfBytes",
            "2000"
        ]),
        Some(6)
    );
    assert_eq!(code(&["kms", "DescribeKey", "KeyId"]), Some(2));
    assert_eq!(
        code(&[
            "--access-key-id",
            "KWnope",
            "--access-key-secret",
            "x",
            "kms",
            "ListKeys"
        ]),
        Some(3)
    );
    let creds: serde_json::Value =
        serde_json::from_slice(&std::fs::read(server.data_dir.join("credentials.json")).unwrap())
            .unwrap();
    let id = field(&creds, "AccessKeyId");
    assert_eq!(
        code(&[
            "--access-key-id",
            &id,
            "--access-key-secret",
            "wrong",
            "kms",
            "ListKeys"
        ]),
        Some(3)
    );
    assert_eq!(
        code(&["--endpoint", "https://127.0.0.1:1", "kms", "ListKeys"]),
        Some(4)
    );
    let out = server.cli(&["kms", "DescribeKey", "--KeyId", "alias/missing"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Forbidden.AliasNotFound"), "{err}");
    assert!(out.stdout.is_empty(), "errors go to stderr only");
}

#[test]
fn acknowledged_keys_survive_sigkill_and_sigterm_is_graceful() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    let mut created = Vec::new();
    for i in 0..5 {
        let k = server.kms("CreateKey", &["--Description", &format!("k{i}")]);
        let id = field(&k, "KeyMetadata.KeyId");
        server.kms(
            "CreateAlias",
            &["--AliasName", &format!("alias/durable{i}"), "--KeyId", &id],
        );
        let enc = server.kms("Encrypt", &["--KeyId", &id, "--Plaintext", "keep me"]);
        created.push((id, field(&enc, "CiphertextBlob")));
    }
    server.kill();

    let server = Server::start(home.path(), &[]);
    for (i, (id, blob)) in created.iter().enumerate() {
        let d = server.kms("DescribeKey", &["--KeyId", &format!("alias/durable{i}")]);
        assert_eq!(&field(&d, "KeyMetadata.KeyId"), id);
        let p = server.kms("Decrypt", &["--CiphertextBlob", blob]);
        assert_eq!(field(&p, "Plaintext"), "keep me");
    }
    let status = server.terminate();
    assert!(status.success(), "SIGTERM exits cleanly, got {status:?}");
}

#[test]
fn data_dir_permissions_and_no_plain_secrets() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    let dk = server.kms("CreateKey", &[]);
    let dk = server.kms(
        "GenerateDataKey",
        &["--KeyId", &field(&dk, "KeyMetadata.KeyId")],
    );
    let mode = |p: &str| {
        std::fs::metadata(server.data_dir.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700);
    for secret_file in [
        "credentials.json",
        "root.key",
        "tls/ca.key",
        "tls/server.key",
    ] {
        assert_eq!(mode(secret_file), 0o600, "{secret_file}");
    }
    assert_eq!(
        std::fs::metadata(&server.config)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let creds: serde_json::Value =
        serde_json::from_slice(&std::fs::read(server.data_dir.join("credentials.json")).unwrap())
            .unwrap();
    let secret = field(&creds, "AccessKeySecret");
    let plaintext = field(&dk, "Plaintext");
    let root = std::fs::read(server.data_dir.join("root.key")).unwrap();
    for name in ["keywarden.db", "keywarden.db-wal"] {
        let path = server.data_dir.join(name);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        for (what, needle) in [
            ("secret", secret.as_bytes()),
            ("data key", plaintext.as_bytes()),
            ("root key", &root[..]),
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{what} found in {name}"
            );
        }
    }
}

/// A SIGHUP (reload the TLS certificate) that arrives the moment the server says it listens
/// reloads, never ends the process by the signal's default action: the handler is installed
/// before the first connection is served.
#[test]
fn sighup_right_after_the_listening_line_reloads() {
    for _ in 0..5 {
        let home = tempfile::tempdir().unwrap();
        let mut server = Server::start(home.path(), &["--no-profile"]);
        let pid = server.child.id().to_string();
        let hup = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap();
        assert!(hup.success());
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(
            server.child.try_wait().unwrap().is_none(),
            "the server survived the SIGHUP"
        );
        assert!(server.terminate().success());
    }
}

/// A SIGTERM that arrives the moment the server says it listens stops it gracefully (exit 0),
/// never by the signal's default action: the handler is installed before the listening line.
#[test]
fn sigterm_right_after_the_listening_line_is_graceful() {
    for _ in 0..5 {
        let home = tempfile::tempdir().unwrap();
        let server = Server::start(home.path(), &["--no-profile"]);
        let status = server.terminate();
        assert!(status.success(), "{status:?}");
    }
}
