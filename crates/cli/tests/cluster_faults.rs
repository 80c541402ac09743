//! Faults made real under several `keywarden serve` processes on PostgreSQL: a node killed
//! with SIGKILL under load, the database server itself stopped and restarted under load (a
//! throwaway cluster of this test's own, made with `initdb` and run with `pg_ctl`, as the
//! `postgres` user when the test runs as root), and a database unreachable at start.
//!
//! What must hold: the other nodes keep serving; calls during an outage fail fast with the
//! retryable 503 `ServiceUnavailableTemporary` (never a hang, never another answer); nodes
//! recover by themselves within 5 s of the database being back; no acknowledged write is lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Server, bin};
use keywarden_client::{KmsClient, Settings};
use keywarden_core::secret::SecretString;
use keywarden_store::postgres::testing::TestDatabase;

/// How long a call may take, at most, while the database is away (the pool's 2 s acquire
/// timeout, plus margin for a loaded machine).
const FAIL_FAST: Duration = Duration::from_secs(4);

/// How soon after the database is back every call must succeed again.
const RECOVERY: Duration = Duration::from_secs(5);

fn test_database() -> TestDatabase {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(TestDatabase::create())
        .unwrap()
}

/// A node on `url` in `home`; `first` initializes the store, the others join with a copy of
/// its root key and bootstrap credentials.
fn node(home: &Path, url: &str, first: Option<&Server>) -> Server {
    if let Some(first) = first {
        let data = home.join("data");
        std::fs::create_dir_all(&data).unwrap();
        for file in ["root.key", "credentials.json"] {
            std::fs::copy(first.data_dir.join(file), data.join(file)).unwrap();
        }
    }
    let args = ["--no-tls", "--store", url, "--store-connections", "4"];
    // The nodes' logs (warnings during the outages) go to a file beside their home dirs.
    let log = std::fs::File::create(home.with_extension("log")).unwrap();
    Server::start_logged(home, &args, log.into(), "warn")
}

/// A client of `server` as the bootstrap admin.
fn client(server: &Server) -> KmsClient {
    let creds: serde_json::Value =
        serde_json::from_slice(&std::fs::read(server.data_dir.join("credentials.json")).unwrap())
            .unwrap();
    KmsClient::new(Settings {
        endpoint: server.endpoint.clone(),
        access_key_id: creds["AccessKeyId"].as_str().unwrap().to_owned(),
        access_key_secret: SecretString::new(creds["AccessKeySecret"].as_str().unwrap().to_owned()),
        ca_file: None,
        region: "local".into(),
    })
    .unwrap()
}

/// One call's outcome.
#[derive(Debug)]
struct Outcome {
    at: Instant,
    took: Duration,
    /// `Ok(key id)` for an acknowledged CreateKey, `Ok("")` for another success, else the
    /// error code (or `unreachable`).
    result: Result<String, String>,
}

/// Calls CreateKey (and GenerateDataKey on `warm`) through `client` until `stop`.
fn load(client: &KmsClient, warm: &str, stop: &AtomicBool) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut turn = 0u64;
    while !stop.load(Ordering::Relaxed) {
        turn += 1;
        let at = Instant::now();
        let result = if turn % 2 == 0 {
            client
                .call("CreateKey", &[])
                .map(|v| v["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned())
        } else {
            client
                .call("GenerateDataKey", &[("KeyId".into(), warm.to_owned())])
                .map(|_| String::new())
        };
        let result = result.map_err(|e| e.code().unwrap_or("unreachable").to_owned());
        out.push(Outcome {
            at,
            took: at.elapsed(),
            result,
        });
    }
    out
}

/// Every acknowledged CreateKey of `outcomes` is a key `client` can describe.
fn assert_acknowledged_keys_exist(client: &KmsClient, outcomes: &[Outcome]) -> usize {
    let mut n = 0;
    for key in outcomes.iter().filter_map(|o| o.result.as_ref().ok()) {
        if key.is_empty() {
            continue;
        }
        client
            .call("DescribeKey", &[("KeyId".into(), key.clone())])
            .unwrap_or_else(|e| panic!("acknowledged key {key} is lost: {e}"));
        n += 1;
    }
    n
}

#[test]
fn a_node_killed_under_load_loses_no_acknowledged_write() {
    let db = test_database();
    let homes = tempfile::tempdir().unwrap();
    let a = node(&homes.path().join("a"), db.url(), None);
    let b = node(&homes.path().join("b"), db.url(), Some(&a));
    let c = node(&homes.path().join("c"), db.url(), Some(&a));
    let clients = [client(&a), client(&b), client(&c)];
    let warm = clients[0].call("CreateKey", &[]).unwrap()["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let stop = AtomicBool::new(false);
    let (killed_at, outcomes) = std::thread::scope(|s| {
        let loaders: Vec<_> = clients
            .iter()
            .map(|client| s.spawn(|| load(client, &warm, &stop)))
            .collect();
        std::thread::sleep(Duration::from_secs(1));
        let killed_at = Instant::now();
        b.kill();
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::Relaxed);
        let outcomes: Vec<Vec<Outcome>> = loaders.into_iter().map(|l| l.join().unwrap()).collect();
        (killed_at, outcomes)
    });
    for (name, node) in [("a", &outcomes[0]), ("c", &outcomes[2])] {
        let after = node
            .iter()
            .filter(|o| o.at > killed_at + Duration::from_millis(100));
        let (ok, failed): (Vec<_>, Vec<_>) = after.partition(|o| o.result.is_ok());
        assert!(
            failed.is_empty(),
            "node {name} failed after b died: {failed:?}"
        );
        assert!(
            ok.len() > 5,
            "node {name} kept serving ({} calls)",
            ok.len()
        );
    }
    let mut acknowledged = 0;
    for node in &outcomes {
        acknowledged += assert_acknowledged_keys_exist(&clients[0], node);
        acknowledged += assert_acknowledged_keys_exist(&clients[2], node);
    }
    assert!(
        acknowledged > 10,
        "{acknowledged} acknowledged keys checked"
    );
}

/// A PostgreSQL cluster of this test's own: `initdb` in a temp dir, `pg_ctl` to start and
/// stop it, as the `postgres` user when run as root (PostgreSQL refuses to run as root).
struct OwnCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl OwnCluster {
    fn init() -> OwnCluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries in /usr/lib/postgresql")
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .find(|p| p.join("initdb").exists())
            .expect("an initdb");
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = OwnCluster { dir, bin, port };
        if is_root() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(cluster.dir.path(), std::fs::Permissions::from_mode(0o777))
                .unwrap();
        }
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "--auth=trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
            ],
        );
        cluster.start();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// A PostgreSQL program, to be run as `postgres` when this test runs as root.
    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    /// Runs a PostgreSQL program and requires success.
    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .output()
            .expect("run a PostgreSQL program");
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

#[test]
fn a_database_restart_under_load_fails_fast_and_recovers() {
    let pg = OwnCluster::init();
    let homes = tempfile::tempdir().unwrap();
    let a = node(&homes.path().join("a"), &pg.url(), None);
    let b = node(&homes.path().join("b"), &pg.url(), Some(&a));
    let clients = [client(&a), client(&b)];
    let warm = clients[0].call("CreateKey", &[]).unwrap()["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let stop = AtomicBool::new(false);
    let (back_at, outcomes) = std::thread::scope(|s| {
        let loaders: Vec<_> = clients
            .iter()
            .map(|client| s.spawn(|| load(client, &warm, &stop)))
            .collect();
        std::thread::sleep(Duration::from_secs(1));
        pg.stop();
        std::thread::sleep(Duration::from_secs(3));
        pg.start();
        let back_at = Instant::now();
        std::thread::sleep(RECOVERY + Duration::from_secs(2));
        stop.store(true, Ordering::Relaxed);
        let outcomes: Vec<Vec<Outcome>> = loaders.into_iter().map(|l| l.join().unwrap()).collect();
        (back_at, outcomes)
    });
    for (name, node) in ["a", "b"].iter().zip(&outcomes) {
        let slow: Vec<_> = node.iter().filter(|o| o.took > FAIL_FAST).collect();
        assert!(slow.is_empty(), "node {name}: calls that hung: {slow:?}");
        let wrong: Vec<_> = node
            .iter()
            .filter(|o| matches!(&o.result, Err(code) if code != "ServiceUnavailableTemporary"))
            .collect();
        assert!(
            wrong.is_empty(),
            "node {name}: answers other than the retryable 503: {wrong:?}"
        );
        assert!(
            node.iter().any(|o| o.result.is_err()),
            "node {name} saw the outage"
        );
        let late: Vec<_> = node
            .iter()
            .filter(|o| o.at > back_at + RECOVERY && o.result.is_err())
            .collect();
        assert!(
            late.is_empty(),
            "node {name} not recovered {RECOVERY:?} after the restart: {late:?}"
        );
        assert!(
            node.iter()
                .any(|o| o.at > back_at + RECOVERY && o.result.is_ok()),
            "node {name} serves again"
        );
    }
    let acknowledged: usize = outcomes
        .iter()
        .map(|node| assert_acknowledged_keys_exist(&clients[1], node))
        .sum();
    assert!(
        acknowledged > 10,
        "{acknowledged} acknowledged keys checked"
    );
}

#[test]
fn a_database_unreachable_at_start_is_a_clear_error_and_leaves_nothing() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://kw:s3cret@127.0.0.1:{port}/kw?sslmode=disable");
    let started = Instant::now();
    let out = Command::new(bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--store",
            &url,
            "--data-dir",
        ])
        .arg(&data)
        .env("KEYWARDEN_CONFIG", home.path().join("config.json"))
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "gave up in time"
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")),
        "names the store: {stderr}"
    );
    assert!(
        !stderr.contains("s3cret"),
        "never shows the password: {stderr}"
    );
    assert!(!data.exists(), "no data dir was created");
    assert!(
        !home.path().join("config.json").exists(),
        "no profile was written"
    );
}

#[test]
fn a_store_password_file_others_may_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let db = test_database();
    let home = tempfile::tempdir().unwrap();
    let secret = home.path().join("pg.password");
    std::fs::write(&secret, "s3cret\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let serve = |data: &str| {
        Command::new(bin())
            .args([
                "serve",
                "--no-tls",
                "--listen",
                "127.0.0.1:0",
                "--store",
                db.url(),
            ])
            .arg("--data-dir")
            .arg(home.path().join(data))
            .env("KEYWARDEN_CONFIG", home.path().join("config.json"))
            .env("KEYWARDEN_STORE_PASSWORD_FILE", &secret)
            .env_remove("PGPASSWORD")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let out = serve("a").wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pg.password has mode 644"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");

    // Private to its owner, it is used (the server here trusts any password).
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut child = serve("b");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("keywarden listening on"), "{line:?}");
    child.kill().unwrap();
    child.wait().unwrap();
}
