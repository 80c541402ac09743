//! End-to-end: `keywarden store migrate` moves a real SQLite installation (made by a real server,
//! then stopped) into a real PostgreSQL database (a throwaway one); a node started on it with the
//! old root key and credentials decrypts every old blob, resolves the old alias, and
//! `keywarden audit --verify --store <url>` proves the copied trail. Re-runs are safe.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::process::{Command, Output};

use common::{Server, bin, field};
use keywarden_store::postgres::testing::TestDatabase;

/// `keywarden store migrate --from <from> --to <url> <extra>` (the URL through KEYWARDEN_STORE
/// when `via_env`).
fn migrate(from: &std::path::Path, url: &str, via_env: bool) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(["store", "migrate", "--from"]).arg(from);
    if via_env {
        cmd.env("KEYWARDEN_STORE", url);
    } else {
        cmd.args(["--to", url]).env_remove("KEYWARDEN_STORE");
    }
    cmd.output().expect("run keywarden store migrate")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_sqlite_installation_moves_to_postgres() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(TestDatabase::create()).unwrap();
    let url = db.url().to_owned();

    // A SQLite installation with keys, a rotated key, an alias, a tag and blobs.
    let old = tempfile::tempdir().unwrap();
    let server = Server::start(old.path(), &["--no-tls"]);
    let mut blobs = Vec::new();
    let a = field(&server.kms("CreateKey", &[]), "KeyMetadata.KeyId");
    let b = field(&server.kms("CreateKey", &[]), "KeyMetadata.KeyId");
    server.kms("CreateAlias", &["--AliasName", "alias/app", "--KeyId", &a]);
    server.kms(
        "TagResource",
        &[
            "--KeyId",
            &b,
            "--Tags",
            r#"[{"TagKey":"env","TagValue":"prod"}]"#,
        ],
    );
    for (key, plaintext) in [(&a, "first"), (&b, "second")] {
        let enc = server.kms("Encrypt", &["--KeyId", key, "--Plaintext", plaintext]);
        blobs.push((field(&enc, "CiphertextBlob"), plaintext));
    }
    server.kms("CreateKeyVersion", &["--KeyId", &a]);
    let enc = server.kms("Encrypt", &["--KeyId", "alias/app", "--Plaintext", "third"]);
    blobs.push((field(&enc, "CiphertextBlob"), "third"));
    assert!(server.terminate().success());
    let old_data = old.path().join("data");

    // Migrate, then re-run: already migrated, nothing written.
    let out = migrate(&old_data, &url, false);
    let said = text(&out);
    println!("{said}");
    assert!(out.status.success(), "{said}");
    assert!(said.contains("copied"), "{said}");
    assert!(said.contains("verified"), "{said}");
    assert!(said.contains("--root-key-file"), "{said}");
    let out = migrate(&old_data, &url, true);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    println!("{said}");
    assert!(said.contains("already migrated"), "{said}");

    // A node on PostgreSQL with a new, empty data dir, the old root key and credentials.
    let new = tempfile::tempdir().unwrap();
    let new_data = new.path().join("data");
    std::fs::create_dir_all(&new_data).unwrap();
    std::fs::copy(
        old_data.join("credentials.json"),
        new_data.join("credentials.json"),
    )
    .unwrap();
    let root_key = old_data.join("root.key");
    let node = Server::start(
        new.path(),
        &[
            "--no-tls",
            "--store",
            &url,
            "--root-key-file",
            root_key.to_str().unwrap(),
        ],
    );
    for (blob, plaintext) in &blobs {
        let dec = node.kms("Decrypt", &["--CiphertextBlob", blob]);
        assert_eq!(field(&dec, "Plaintext"), *plaintext);
    }
    let described = node.kms("DescribeKey", &["--KeyId", "alias/app"]);
    assert_eq!(field(&described, "KeyMetadata.KeyId"), a);
    let enc = node.kms("Encrypt", &["--KeyId", "alias/app", "--Plaintext", "after"]);
    let dec = node.kms(
        "Decrypt",
        &["--CiphertextBlob", &field(&enc, "CiphertextBlob")],
    );
    assert_eq!(field(&dec, "Plaintext"), "after");
    assert!(node.terminate().success());

    // The copied trail, extended by the node, verifies.
    let out = Command::new(bin())
        .args(["audit", "--verify", "--quiet", "--store", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    // The PostgreSQL store moved on since: a re-run refuses, naming what differs.
    let out = migrate(&old_data, &url, false);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    println!("{said}");
    assert!(said.contains("holds other data"), "{said}");
    assert!(said.contains("audit records"), "{said}");
}

#[test]
fn missing_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://postgres@127.0.0.1:1/none?sslmode=disable";
    let out = migrate(dir.path(), url, false);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("holds no keywarden.db"),
        "{}",
        text(&out)
    );
    std::fs::write(dir.path().join("keywarden.db"), b"").unwrap();
    let out = migrate(dir.path(), url, false);
    assert!(!out.status.success());
    assert!(text(&out).contains("root key"), "{}", text(&out));
    let out = migrate(dir.path(), "sqlite", false);
    assert!(!out.status.success());
    assert!(text(&out).contains("postgres://"), "{}", text(&out));
}
