//! `keywarden serve` under real faults: a broken installation refuses to start (wrong or
//! missing root key, missing database or instance.json, a damaged database page), and a log
//! or disk that cannot be written never lets a call act unaudited (a stderr pipe whose reader
//! exited, a stderr pipe nobody reads, the log's file system full, the data dir's file system
//! full). The file-system cases mount a small tmpfs and need root; as another user they say
//! so and do nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Server, bin, field};

/// A `keywarden serve` of these tests: the harness's server, stopped with a check.
struct Node(Server);

impl Node {
    /// Starts a server on `<home>/data`, its log going to `stderr`; panics unless it listens.
    fn start(home: &Path, stderr: Stdio, log: &str) -> Node {
        Self::start_with(home, &[], stderr, log)
    }

    /// [`Node::start`] with extra `serve` flags.
    fn start_with(home: &Path, extra: &[&str], stderr: Stdio, log: &str) -> Node {
        Node(Server::start_logged(home, extra, stderr, log))
    }

    /// `keywarden kms <action> <params>` through this server's profile.
    fn call(&self, action: &str, params: &[&str]) -> Output {
        let mut args = vec!["kms", action];
        args.extend_from_slice(params);
        self.0.cli(&args)
    }

    /// A call that must succeed; its JSON answer.
    fn kms(&self, action: &str, params: &[&str]) -> serde_json::Value {
        self.0.kms(action, params)
    }

    /// SIGTERM; the server must exit cleanly.
    fn stop(self) {
        let status = self.0.terminate();
        assert!(status.success(), "server exit: {status}");
    }
}

/// Starts `serve` on `data_dir` expecting a refusal: it must exit non-zero within 20 s without
/// listening; its stderr.
fn refused(data_dir: &Path, config: &Path, extra: &[&str]) -> String {
    let out = Command::new("timeout")
        .arg("20")
        .arg(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("KEYWARDEN_CONFIG", config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stdout.contains("listening") && !matches!(out.status.code(), Some(0 | 124)),
        "the server started: {:?} {stdout} {stderr}",
        out.status
    );
    stderr
}

/// Request ids in the audit trail of `data_dir`, with their action and outcome (read from the
/// database of a stopped server), after `keywarden audit --verify` proved the chain.
fn audited(data_dir: &Path) -> Vec<(String, String, String)> {
    let verify = Command::new(bin())
        .args(["audit", "--verify", "--quiet", "--data-dir"])
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "audit --verify: {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let db = rusqlite::Connection::open(data_dir.join("keywarden.db")).unwrap();
    let mut stmt = db
        .prepare("SELECT request_id, action, outcome_code FROM audit_log ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_broken_installation_refuses_to_start_and_creates_nothing() {
    let home = tempfile::tempdir().unwrap();
    let (data, config) = (home.path().join("data"), home.path().join("config.json"));
    let node = Node::start(home.path(), Stdio::null(), "warn");
    let key = field(&node.kms("CreateKey", &[]), "KeyMetadata.KeyId");
    let blob = field(
        &node.kms("Encrypt", &["--KeyId", &key, "--Plaintext", "aGVsbG8="]),
        "CiphertextBlob",
    );
    node.stop();

    let file = |name: &str| data.join(name);
    let saved = home.path().join("saved");
    std::fs::create_dir(&saved).unwrap();
    for name in ["root.key", "keywarden.db", "instance.json"] {
        std::fs::copy(file(name), saved.join(name)).unwrap();
    }
    let restore = |name: &str| {
        std::fs::copy(saved.join(name), file(name)).unwrap();
    };
    let write = |name: &str, bytes: &[u8]| std::fs::write(file(name), bytes).unwrap();
    let root = std::fs::read(file("root.key")).unwrap();

    // A bit flipped in root.key, or 32 other bytes: not the key the database was sealed with.
    let mut flipped = root.clone();
    flipped[9] ^= 0x04;
    write("root.key", &flipped);
    let err = refused(&data, &config, &[]);
    assert!(
        err.contains("root.key does not match the database"),
        "{err}"
    );
    write("root.key", &[0x5a; 32]);
    let err = refused(&data, &config, &[]);
    assert!(
        err.contains("root.key does not match the database"),
        "{err}"
    );
    write("root.key", &root[..16]);
    let err = refused(&data, &config, &[]);
    assert!(
        err.contains("root.key") && err.contains("32 bytes"),
        "{err}"
    );
    restore("root.key");

    // A missing file is never re-created beside the rest.
    for (name, others) in [
        ("root.key", vec![]),
        ("keywarden.db", vec!["keywarden.db-wal", "keywarden.db-shm"]),
        ("instance.json", vec![]),
    ] {
        std::fs::remove_file(file(name)).unwrap();
        for other in others {
            let _ = std::fs::remove_file(file(other));
        }
        let err = refused(&data, &config, &[]);
        assert!(err.contains(&format!("{name} is missing")), "{name}: {err}");
        assert!(!file(name).exists(), "{name} was re-created");
        restore(name);
    }

    // instance.json naming another account, or --region another region: refused.
    let instance = std::fs::read_to_string(file("instance.json")).unwrap();
    let account = field(&serde_json::from_str(&instance).unwrap(), "AccountId");
    write(
        "instance.json",
        instance.replace(&account, "1111222233334444").as_bytes(),
    );
    let err = refused(&data, &config, &[]);
    assert!(
        err.contains("instance.json: names account 1111222233334444"),
        "{err}"
    );
    restore("instance.json");
    let err = refused(&data, &config, &["--region", "elsewhere"]);
    assert!(err.contains("--region"), "{err}");

    // Whole again: it starts and opens what it sealed before.
    let node = Node::start(home.path(), Stdio::null(), "warn");
    let plain = node.kms("Decrypt", &["--CiphertextBlob", &blob]);
    assert_eq!(field(&plain, "Plaintext"), "aGVsbG8=");
    node.stop();
}

#[test]
fn state_is_created_only_in_an_empty_directory_or_with_init() {
    let home = tempfile::tempdir().unwrap();
    let (data, config) = (home.path().join("data"), home.path().join("config.json"));
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("notes.txt"), "not a keywarden dir").unwrap();
    let err = refused(&data, &config, &[]);
    assert!(err.contains("pass --init"), "{err}");
    assert!(
        !data.join("root.key").exists(),
        "state created by a refused start"
    );
    let node = Node::start_with(home.path(), &["--init"], Stdio::null(), "warn");
    node.kms("CreateKey", &[]);
    node.stop();
    // Once created, the installation starts without --init.
    let node = Node::start(home.path(), Stdio::null(), "warn");
    node.stop();
}

#[test]
fn a_damaged_database_is_refused_at_start() {
    let home = tempfile::tempdir().unwrap();
    let (data, config) = (home.path().join("data"), home.path().join("config.json"));
    let node = Node::start(home.path(), Stdio::null(), "warn");
    for _ in 0..3 {
        node.kms("CreateKey", &[]);
    }
    node.stop();
    let db = data.join("keywarden.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    // Page 2 is the root of the first table (keys): overwrite it with garbage.
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 3 * 4096);
    bytes[4096..8192].fill(0xa5);
    std::fs::write(&db, &bytes).unwrap();
    let err = refused(&data, &config, &[]);
    assert!(
        err.contains("keywarden.db") && err.contains("damaged"),
        "{err}"
    );
}

/// Calls that must all succeed while the log cannot be written; the trail must hold each.
fn calls_succeed_and_are_audited(node: Node, data: &Path) {
    let key = field(&node.kms("CreateKey", &[]), "KeyMetadata.KeyId");
    let mut ids = Vec::new();
    for action in ["DisableKey", "EnableKey", "DescribeKey"] {
        ids.push(field(&node.kms(action, &["--KeyId", &key]), "RequestId"));
    }
    for _ in 0..20 {
        let gdk = node.kms("GenerateDataKey", &["--KeyId", &key]);
        ids.push(field(&gdk, "RequestId"));
    }
    node.stop();
    let trail = audited(data);
    for id in &ids {
        assert!(trail.iter().any(|(r, _, _)| r == id), "{id} not audited");
    }
}

#[test]
fn a_stderr_pipe_whose_reader_exited_does_not_stop_the_server() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let mut node = Node::start(home.path(), Stdio::piped(), "info");
    // The reader goes away: every later log write fails with EPIPE.
    drop(node.0.child.stderr.take());
    calls_succeed_and_are_audited(node, &data);
}

#[test]
fn a_stderr_pipe_nobody_reads_does_not_block_the_server() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    // Trace logging (about 7 KB a call) on a pipe that is never read: its 64 KiB buffer fills
    // after a few calls.
    let mut node = Node::start(home.path(), Stdio::piped(), "trace");
    let _unread = node.0.child.stderr.take();
    calls_succeed_and_are_audited(node, &data);
}

/// A small tmpfs mounted for one test (root only), unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        let uid = Command::new("id").arg("-u").output().unwrap();
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        std::fs::create_dir_all(path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "mount tmpfs");
        Some(Tmpfs(path.to_owned()))
    }

    /// Writes zeros to `name` until the file system is full; the filler's path.
    fn fill(&self, name: &str) -> PathBuf {
        let path = self.0.join(name);
        let mut f = std::fs::File::create(&path).unwrap();
        for chunk in [1 << 20, 4096, 1] {
            let buf = vec![0u8; chunk];
            while f.write_all(&buf).is_ok() {}
        }
        let _ = f.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_log_file_system_does_not_stop_the_server() {
    let home = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&home.path().join("logfs"), "1m") else {
        return;
    };
    let data = home.path().join("data");
    let log = std::fs::File::create(fs.0.join("server.log")).unwrap();
    fs.fill("filler");
    let node = Node::start(home.path(), Stdio::from(log), "info");
    calls_succeed_and_are_audited(node, &data);
}

#[test]
fn a_full_data_disk_fails_calls_closed_and_recovers() {
    let home = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&home.path().join("disk"), "24m") else {
        return;
    };
    // Data dir, profile and log all on the small file system.
    let data = fs.0.join("data");
    let log = std::fs::File::create(fs.0.join("server.log")).unwrap();
    let node = Node::start(&fs.0, Stdio::from(log), "info");
    let key = field(&node.kms("CreateKey", &[]), "KeyMetadata.KeyId");
    let filler = fs.fill("filler");

    // Every call is answered, either done (and then audited) or refused with a retryable 503
    // having done nothing; never an effect without its record, never a call without an answer.
    let (mut done, mut refused) = (Vec::new(), 0);
    let mut disabled = false;
    for i in 0..30 {
        let action = ["DisableKey", "EnableKey", "GenerateDataKey"][i % 3];
        let out = node.call(action, &["--KeyId", &key]);
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            done.push(field(&v, "RequestId"));
            match action {
                "DisableKey" => disabled = true,
                "EnableKey" => disabled = false,
                _ => {}
            }
        } else if err.contains("ServiceUnavailableTemporary") {
            refused += 1;
        } else {
            // A data key of a key left disabled (its EnableKey was refused) is refused too.
            assert!(
                action == "GenerateDataKey" && disabled && err.contains("Rejected.Disabled"),
                "{action}: {err}"
            );
        }
    }
    assert!(refused > 0, "the disk was full, yet nothing was refused");

    // Room again: the server recovers by itself.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = node.call("GenerateDataKey", &["--KeyId", &key]);
        if out.status.success() {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {out:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let described = node.kms("DescribeKey", &["--KeyId", &key]);
    let expected = if disabled { "Disabled" } else { "Enabled" };
    assert_eq!(field(&described, "KeyMetadata.KeyState"), expected);
    node.stop();
    let trail = audited(&data);
    for id in &done {
        assert!(trail.iter().any(|(r, _, _)| r == id), "{id} not audited");
    }
}
