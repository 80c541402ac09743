//! The audit trail's life cycle on a real `keywarden serve`: retention removes old records and
//! `keywarden audit --verify` still proves the rest (from the anchor the removal leaves, and
//! catches a record removed after it); `--since/--until --format` select and shape the export;
//! and a flood of unauthenticated requests costs a few aggregated records, not one each.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Output;

use common::{Server, audit, copy_dir, tamper};
use keywarden_store::KeyStore;
use keywarden_store::conformance::sample_audit_record;
use keywarden_store::sqlite::SqliteStore;

/// Exit code of a failed verification.
const TAMPERED: i32 = 10;

const DAY_MS: i64 = 86_400_000;

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_old_records_and_the_rest_still_verifies() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    // A first start creates the installation; then 50 records of 100 days ago and 5 of
    // yesterday join the trail (as a long-running server would have written them).
    assert!(Server::start(home.path(), &[]).terminate().success());
    {
        let store = SqliteStore::open(&data.join("keywarden.db")).await.unwrap();
        let now = now_ms();
        let old: Vec<_> = (0..50)
            .map(|i| sample_audit_record(&format!("old{i}"), now - 100 * DAY_MS + i))
            .collect();
        let recent: Vec<_> = (0..5)
            .map(|i| sample_audit_record(&format!("recent{i}"), now - DAY_MS + i))
            .collect();
        let before = store.audit_head().await.unwrap().map_or(0, |h| h.seq);
        assert_eq!(before, 0, "a start alone writes no record");
        store.append_audit(&old).await.unwrap();
        store.append_audit(&recent).await.unwrap();
    }
    let server = Server::start(home.path(), &["--audit-retention", "30"]);
    server.kms("DescribeRegions", &[]);
    assert!(server.terminate().success());

    let out = audit(&data, &["--verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("verified: 6 records, seq 51 to 56"),
        "{stderr}"
    );
    assert!(stderr.contains("from the retention anchor 50:"), "{stderr}");
    let printed = lines(&out);
    assert_eq!(printed.len(), 6);
    assert!(
        printed[0].contains("\"request_id\":\"recent0\""),
        "{}",
        printed[0]
    );

    // Removing a record after the anchor is caught; so is moving the anchor back.
    let cut = home.path().join("cut");
    copy_dir(&data, &cut);
    tamper(&cut, "DELETE FROM audit_log WHERE seq = 52;");
    let out = audit(&cut, &["--verify", "-q"]);
    assert_eq!(out.status.code(), Some(TAMPERED));
    assert!(String::from_utf8_lossy(&out.stderr).contains("seq 53"));
    let moved = home.path().join("moved");
    copy_dir(&data, &moved);
    tamper(&moved, "UPDATE audit_anchor SET seq = 49;");
    let out = audit(&moved, &["--verify", "-q"]);
    assert_eq!(out.status.code(), Some(TAMPERED));

    // Export: a time window, as a table.
    let recent0 = serde_json::from_str::<serde_json::Value>(&printed[0]).unwrap()["time_ms"]
        .as_i64()
        .unwrap();
    let since = (recent0 / 1000).to_string();
    let until = (recent0 / 1000 + 1).to_string();
    let out = audit(
        &data,
        &["--since", &since, "--until", &until, "--format", "table"],
    );
    assert!(out.status.success());
    let table = lines(&out);
    assert_eq!(
        table.len(),
        5,
        "the five of yesterday, not today's call: {table:?}"
    );
    assert!(
        table
            .iter()
            .all(|l| l.contains("kms:Encrypt") && l.contains("Success"))
    );
    assert!(!table[0].starts_with('{'), "not JSON");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unauthenticated_requests_costs_a_few_records() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &["--no-tls", "--auth-failure-rate", "0"]);
    let addr = server
        .endpoint
        .strip_prefix("http://")
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
    for i in 0..500 {
        let request = format!(
            "GET /?Action=ListKeys&Version=2016-01-20&AccessKeyId=LTAIflood{i}&SignatureMethod=HMAC-SHA1\
             &SignatureVersion=1.0&SignatureNonce=n{i}&Timestamp=2026-01-01T00%3A00%3A00Z&Signature=AA \
             HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        std::io::Write::write_all(&mut conn, request.as_bytes()).unwrap();
        read_answer(&mut reader);
    }
    server.kms("ListKeys", &[]);
    let data = server.data_dir.clone();
    assert!(server.terminate().success());
    let out = audit(&data, &["--verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: Vec<serde_json::Value> = lines(&out)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "one call, one group: {records:?}");
    let group = records
        .iter()
        .find(|r| r["outcome_code"] == "InvalidAccessKeyId.NotFound")
        .expect("the group");
    assert_eq!(group["count"], 500);
    assert_eq!(group["source_ip"], "127.0.0.1");
    assert!(group["access_key_id"].is_null(), "500 different keys");
    let call = records
        .iter()
        .find(|r| r["outcome_code"] == "Success")
        .unwrap();
    assert!(call.get("count").is_none(), "a call is one record");
}

/// Reads one HTTP answer (head and `content-length` body).
fn read_answer(reader: &mut impl std::io::BufRead) {
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0u8; length];
    std::io::Read::read_exact(reader, &mut body).unwrap();
}
