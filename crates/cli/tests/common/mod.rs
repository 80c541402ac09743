//! Test harness: runs the real `keywarden` binary (server and CLI) in temp directories.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of the binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_keywarden"))
}

/// A running `keywarden serve`.
pub struct Server {
    pub child: Child,
    pub endpoint: String,
    pub data_dir: PathBuf,
    pub config: PathBuf,
}

impl Server {
    /// Starts a server on a free port with a profile at `<home>/config.json`.
    pub fn start(home: &Path, extra: &[&str]) -> Server {
        Self::start_logged(home, extra, Stdio::inherit(), "warn")
    }

    /// [`Server::start`] with its log (filter `log`) going to `stderr`.
    pub fn start_logged(home: &Path, extra: &[&str], stderr: Stdio, log: &str) -> Server {
        let data_dir = home.join("data");
        let config = home.join("config.json");
        let mut child = Command::new(bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir)
            .args(extra)
            .env("KEYWARDEN_CONFIG", &config)
            .env("KEYWARDEN_LOG", log)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read listening line");
        let endpoint = line
            .trim()
            .strip_prefix("keywarden listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        // The profile is written just after the listening line; wait for it when expected.
        if !extra.contains(&"--no-profile") {
            let deadline = Instant::now() + Duration::from_secs(10);
            let current = || std::fs::read_to_string(&config).unwrap_or_default();
            while !current().contains(&endpoint) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Server {
            child,
            endpoint,
            data_dir,
            config,
        }
    }

    /// Runs `keywarden <args>` against this server using only its profile.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(bin())
            .args(args)
            .env("KEYWARDEN_CONFIG", &self.config)
            .env_remove("KEYWARDEN_ENDPOINT")
            .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
            .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
            .env_remove("KEYWARDEN_CA_FILE")
            .output()
            .expect("run cli")
    }

    /// Runs `keywarden kms <action> <params>` and parses the JSON on success.
    pub fn kms(&self, action: &str, params: &[&str]) -> serde_json::Value {
        let mut args = vec!["kms", action];
        args.extend_from_slice(params);
        let out = self.cli(&args);
        assert!(
            out.status.success(),
            "kms {action} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }

    /// SIGKILL.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        self.child.wait().expect("wait")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Field `path` (dot-separated) of a JSON value as a string.
pub fn field(v: &serde_json::Value, path: &str) -> String {
    path.split('.')
        .fold(v, |v, k| &v[k])
        .as_str()
        .unwrap_or_else(|| panic!("no string at {path} in {v}"))
        .to_owned()
}

/// `keywarden audit --data-dir <data> <args>`.
pub fn audit(data: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("audit")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("run keywarden audit")
}

/// Runs `sql` on `<data>/keywarden.db` with the audit trail's guarding triggers dropped, as
/// someone with write access to the file would.
pub fn tamper(data: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(data.join("keywarden.db")).expect("open the database");
    conn.execute_batch(&format!(
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete; \
         DROP TRIGGER IF EXISTS audit_anchor_forward; DROP TRIGGER IF EXISTS audit_anchor_no_delete; \
         {sql}"
    ))
    .expect("tamper");
}

/// Copies the files (not the subdirectories) of `from` into `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}
