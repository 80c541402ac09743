//! The audit trail end to end: a real `keywarden serve`, calls that succeed and fail (including
//! unauthenticated ones), then `keywarden audit` on the data dir: every call listed once with the
//! right fields and no secret, the chain verified, the logged head accepted, and tampering
//! (a changed field, a deleted row, a cut tail) reported with the record's seq and exit code 10.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{audit, bin, copy_dir, tamper};
use keywarden_client::{ClientError, KmsClient, Settings};
use keywarden_core::secret::SecretString;
use serde_json::Value;

/// Exit code of a failed verification (`exit::AUDIT_TAMPERED`).
const TAMPERED: i32 = 10;

struct Serve {
    child: Child,
    endpoint: String,
    data: PathBuf,
    log: PathBuf,
}

impl Serve {
    fn start(home: &Path, extra: &[&str]) -> Serve {
        let data = home.join("data");
        let log = home.join("serve.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut child = Command::new(bin())
            .args([
                "serve",
                "--no-profile",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(&data)
            .args(extra)
            .env("KEYWARDEN_LOG", "info")
            .env("KEYWARDEN_CONFIG", home.join("config.json"))
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let endpoint = line
            .trim()
            .strip_prefix("keywarden listening on ")
            .unwrap_or_else(|| panic!("unexpected {line:?}"))
            .to_owned();
        Serve {
            child,
            endpoint,
            data,
            log,
        }
    }

    fn credentials(&self) -> (String, String) {
        let c: Value =
            serde_json::from_slice(&std::fs::read(self.data.join("credentials.json")).unwrap())
                .unwrap();
        (
            c["AccessKeyId"].as_str().unwrap().to_owned(),
            c["AccessKeySecret"].as_str().unwrap().to_owned(),
        )
    }

    fn client(&self, ak: &str, secret: &str) -> KmsClient {
        KmsClient::new(Settings {
            endpoint: self.endpoint.clone(),
            access_key_id: ak.to_owned(),
            access_key_secret: SecretString::new(secret.to_owned()),
            ca_file: Some(self.data.join("tls/ca.pem")),
            region: "local".into(),
        })
        .unwrap()
    }

    /// SIGTERM; the exit code.
    fn terminate(mut self) -> i32 {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap().code().unwrap_or(-1)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn records(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// What one call should have left in the trail.
struct Expect {
    action: &'static str,
    outcome: String,
    status: u64,
    access_key: String,
    user: Option<&'static str>,
    key_id: Option<String>,
    version: Option<String>,
    context: Option<Value>,
}

/// The request id and outcome of a call.
fn outcome(r: &Result<Value, ClientError>) -> (String, String, u64) {
    match r {
        Ok(v) => (
            v["RequestId"].as_str().unwrap().to_owned(),
            "Success".into(),
            200,
        ),
        Err(ClientError::Api {
            request_id,
            code,
            status,
            ..
        }) => (request_id.clone(), code.clone(), u64::from(*status)),
        Err(e) => panic!("transport failure: {e}"),
    }
}

/// The head the server logged at shutdown (`audit_head=<seq>:<hash>`).
fn logged_final_head(log: &str) -> String {
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("audit trail closed"))
        .unwrap_or_else(|| panic!("no final head in the log:\n{log}"));
    let start = line.find("audit_head=").unwrap() + "audit_head=".len();
    line[start..].split_whitespace().next().unwrap().to_owned()
}

#[test]
fn every_call_is_audited_and_tampering_is_reported() {
    let home = tempfile::tempdir().unwrap();
    let server = Serve::start(home.path(), &[]);
    let (ak, secret) = server.credentials();
    let admin = server.client(&ak, &secret);
    let mut expected: HashMap<String, Expect> = HashMap::new();
    let mut expect = |r: &Result<Value, ClientError>, e: Expect| {
        let (id, code, status) = outcome(r);
        assert_eq!((&code, status), (&e.outcome, e.status), "{id}");
        expected.insert(id, e);
    };
    let base = |action, outcome: &str, status| Expect {
        action,
        outcome: outcome.to_owned(),
        status,
        access_key: ak.clone(),
        user: Some("admin"),
        key_id: None,
        version: None,
        context: None,
    };

    let created = admin.call("CreateKey", &[]);
    let key = created.as_ref().unwrap()["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    expect(
        &created,
        Expect {
            key_id: Some(key.clone()),
            ..base("kms:CreateKey", "Success", 200)
        },
    );
    let ctx = r#"{"tenant":"acme","purpose":"audit test"}"#;
    let secret_text = "very secret plaintext 1f0e";
    let encrypted = admin.call(
        "Encrypt",
        &params(&[
            ("KeyId", &key),
            ("Plaintext", secret_text),
            ("EncryptionContext", ctx),
        ]),
    );
    let version = encrypted.as_ref().unwrap()["KeyVersionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let blob = encrypted.as_ref().unwrap()["CiphertextBlob"]
        .as_str()
        .unwrap()
        .to_owned();
    expect(
        &encrypted,
        Expect {
            key_id: Some(key.clone()),
            version: Some(version.clone()),
            context: Some(serde_json::json!({"tenant": "acme", "purpose": "audit test"})),
            ..base("kms:Encrypt", "Success", 200)
        },
    );
    let data_key = admin.call("GenerateDataKey", &params(&[("KeyId", &key)]));
    let plaintext_key = data_key.as_ref().unwrap()["Plaintext"]
        .as_str()
        .unwrap()
        .to_owned();
    expect(
        &data_key,
        Expect {
            key_id: Some(key.clone()),
            version: Some(version.clone()),
            ..base("kms:GenerateDataKey", "Success", 200)
        },
    );
    let wrong_ctx = admin.call(
        "Decrypt",
        &params(&[
            ("CiphertextBlob", &blob),
            ("EncryptionContext", r#"{"tenant":"evil"}"#),
        ]),
    );
    expect(
        &wrong_ctx,
        Expect {
            context: Some(serde_json::json!({"tenant": "evil"})),
            ..base("kms:Decrypt", "InvalidParameter", 400)
        },
    );
    let missing = admin.call("DescribeKey", &params(&[("KeyId", "alias/nothing-here")]));
    expect(
        &missing,
        Expect {
            key_id: Some("alias/nothing-here".into()),
            ..base("kms:DescribeKey", "Forbidden.AliasNotFound", 404)
        },
    );
    let forged = server.client(&ak, "not the secret").call(
        "Encrypt",
        &params(&[
            ("KeyId", &key),
            ("Plaintext", "x"),
            ("EncryptionContext", ctx),
        ]),
    );
    expect(
        &forged,
        Expect {
            user: None,
            key_id: Some(key.clone()),
            ..base("kms:Encrypt", "SignatureDoesNotMatch", 400)
        },
    );
    let stranger = server.client("KWnobody", "x").call("ListKeys", &[]);
    expect(
        &stranger,
        Expect {
            access_key: "KWnobody".into(),
            user: None,
            ..base("kms:ListKeys", "InvalidAccessKeyId.NotFound", 404)
        },
    );

    let log_path = server.log.clone();
    assert_eq!(server.terminate(), 0);
    let log = std::fs::read_to_string(log_path).unwrap();
    let head = logged_final_head(&log);
    let data = home.path().join("data");

    // Every call, once, with its fields; nothing secret.
    let out = audit(&data, &["--verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("verified: 7 records"), "{stderr}");
    assert!(
        stderr.contains(&head),
        "the verified head is the logged one: {stderr}"
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    for secret_thing in [
        secret.as_str(),
        secret_text,
        plaintext_key.as_str(),
        blob.as_str(),
    ] {
        assert!(!text.contains(secret_thing), "the trail holds a secret");
        assert!(!log.contains(secret_thing), "the log holds a secret");
    }
    let listed = records(&out);
    assert_eq!(listed.len(), expected.len());
    for (i, r) in listed.iter().enumerate() {
        assert_eq!(r["seq"], i as u64 + 1);
        let id = r["request_id"].as_str().unwrap();
        let e = expected
            .remove(id)
            .unwrap_or_else(|| panic!("unexpected record {r}"));
        assert_eq!(r["action"], e.action, "{r}");
        assert_eq!(r["outcome_code"], e.outcome.as_str(), "{r}");
        assert_eq!(r["http_status"], e.status, "{r}");
        assert_eq!(r["access_key_id"], e.access_key.as_str(), "{r}");
        assert_eq!(r["user_name"].as_str(), e.user, "{r}");
        assert_eq!(r["source_ip"], "127.0.0.1", "{r}");
        assert_eq!(r["key_id"].as_str(), e.key_id.as_deref(), "{r}");
        assert_eq!(r["key_version_id"].as_str(), e.version.as_deref(), "{r}");
        assert_eq!(
            r["encryption_context"],
            e.context.unwrap_or(Value::Null),
            "{r}"
        );
        assert!(r["time_ms"].as_i64().unwrap() > 1_600_000_000_000);
        assert_eq!(r["hash"].as_str().unwrap().len(), 64);
    }
    assert!(expected.is_empty(), "calls missing from the trail");

    // The published head, --since, --quiet.
    assert!(
        audit(&data, &["--expect-head", &head, "-q"])
            .status
            .success()
    );
    assert!(records(&audit(&data, &["--since", "2100-01-01T00:00:00Z"])).is_empty());
    let third = listed[2]["time_ms"].as_i64().unwrap() / 1000;
    let since = audit(&data, &["--since", &third.to_string(), "--verify"]);
    assert!(since.status.success());
    assert!(records(&since).len() >= 5);
    assert!(records(&audit(&data, &["--verify", "--quiet"])).is_empty());

    // A changed field.
    let altered = home.path().join("altered");
    copy_dir(&data, &altered);
    tamper(
        &altered,
        "UPDATE audit_log SET outcome_code = 'Success' WHERE seq = 4;",
    );
    let out = audit(&altered, &["--verify"]);
    assert_eq!(out.status.code(), Some(TAMPERED));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("seq 4") && err.contains("altered"), "{err}");
    assert_eq!(
        records(&out).len(),
        3,
        "the records before the bad one are printed"
    );
    // A deleted record.
    let deleted = home.path().join("deleted");
    copy_dir(&data, &deleted);
    tamper(&deleted, "DELETE FROM audit_log WHERE seq = 2;");
    let out = audit(&deleted, &["--verify", "-q"]);
    assert_eq!(out.status.code(), Some(TAMPERED));
    assert!(String::from_utf8_lossy(&out.stderr).contains("seq 3"));
    // A cut tail verifies on its own, but not against the published head.
    let cut = home.path().join("cut");
    copy_dir(&data, &cut);
    tamper(&cut, "DELETE FROM audit_log WHERE seq >= 6;");
    assert!(audit(&cut, &["--verify", "-q"]).status.success());
    let out = audit(&cut, &["--expect-head", &head, "-q"]);
    assert_eq!(out.status.code(), Some(TAMPERED));
    assert!(String::from_utf8_lossy(&out.stderr).contains("removed from its end"));
    // A value its column cannot hold.
    let garbled = home.path().join("garbled");
    copy_dir(&data, &garbled);
    tamper(&garbled, "UPDATE audit_log SET hash = x'01' WHERE seq = 5;");
    let out = audit(&garbled, &["-q"]);
    assert_eq!(out.status.code(), Some(TAMPERED));
    assert!(String::from_utf8_lossy(&out.stderr).contains("seq 5"));
    // Without a data dir.
    let out = audit(&home.path().join("nowhere"), &["--verify"]);
    assert_eq!(out.status.code(), Some(1));
}

/// `keywarden audit` reads beside a running server, and after a SIGKILL the committed trail
/// still verifies: the chain is never left half-written.
#[test]
fn the_trail_is_readable_live_and_survives_sigkill() {
    let home = tempfile::tempdir().unwrap();
    let server = Serve::start(home.path(), &["--rate-limit", "0"]);
    let (ak, secret) = server.credentials();
    let client = server.client(&ak, &secret);
    for _ in 0..50 {
        client.call("DescribeRegions", &[]).unwrap();
    }
    // Live: every answered call appears within moments (group commit).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = audit(&server.data, &["--verify", "-q"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if String::from_utf8_lossy(&out.stderr).contains("verified: 50 records") {
            break;
        }
        assert!(Instant::now() < deadline, "records still missing");
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = server.log_text();
    assert!(log.contains("audit trail open (empty)"), "{log}");
    let data = server.data.clone();
    drop(server); // SIGKILL
    let out = audit(&data, &["--verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(records(&out).len(), 50);
    // A restart continues the same chain.
    let again = Serve::start(home.path(), &[]);
    again
        .client(&ak, &secret)
        .call("DescribeRegions", &[])
        .unwrap();
    assert!(again.log_text().contains("audit trail open"));
    assert_eq!(again.terminate(), 0);
    let out = audit(&data, &["--verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(records(&out).len(), 51);
}

/// The keywarden client waits as `x-acs-retry-after` says and tries again, so a burst over the
/// rate limit slows down instead of failing; the refusals are in the trail.
#[test]
fn the_client_retries_throttled_calls() {
    let home = tempfile::tempdir().unwrap();
    let server = Serve::start(home.path(), &["--rate-limit", "5", "--rate-burst", "1"]);
    let (ak, secret) = server.credentials();
    let client = server.client(&ak, &secret);
    let started = Instant::now();
    for _ in 0..6 {
        client.call("DescribeRegions", &[]).unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "paced by the limit"
    );
    let data = server.data.clone();
    assert_eq!(server.terminate(), 0);
    let listed = records(&audit(&data, &["--verify"]));
    let outcomes: Vec<&str> = listed
        .iter()
        .map(|r| r["outcome_code"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "Success").count(), 6);
    assert!(outcomes.contains(&"Throttling"), "{outcomes:?}");
}
