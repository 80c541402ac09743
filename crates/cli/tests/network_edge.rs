//! What a stranger on the network can cost a real `keywarden serve`, and what it answers below
//! the API: idle connections from one host, failed authentications from one address, and
//! requests hyper cannot parse (which must still get the API's JSON error shape).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn addr_of(server: &Server) -> SocketAddr {
    server
        .endpoint
        .strip_prefix("http://")
        .expect("a plain-HTTP server")
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

/// A connection to `to` from the loopback address `source` (any 127.x.y.z is on `lo`).
async fn connect_from(source: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse().unwrap())?;
    socket.connect(to).await
}

/// Sends `request` from `source` and reads the answer until the server closes or `patience`.
async fn exchange(source: &str, to: SocketAddr, request: &[u8], patience: Duration) -> Vec<u8> {
    let mut s = connect_from(source, to).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let _ = tokio::time::timeout(patience, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if complete(&out) {
                        break;
                    }
                }
            }
        }
    })
    .await;
    out
}

/// Whether `answer` holds a whole response (head and `content-length` bytes of body).
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    body.len() >= length
}

/// The status and JSON body of a whole answer.
fn parse(answer: &[u8]) -> (u16, serde_json::Value) {
    let text = String::from_utf8(answer.to_vec()).expect("UTF-8 answer");
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {text:?}"));
    let status = head[9..12].parse().unwrap();
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: body {body:?}"));
    (status, json)
}

fn plain_server(home: &std::path::Path, extra: &[&str]) -> Server {
    let mut args = vec!["--no-tls"];
    args.extend_from_slice(extra);
    Server::start(home, &args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_below_the_api_has_the_error_shape() {
    let home = tempfile::tempdir().unwrap();
    let server = plain_server(home.path(), &[]);
    let to = addr_of(&server);
    let many_headers: String = (0..70).map(|i| format!("X-H{i}: v\r\n")).collect();
    let long_uri = format!("GET /?{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "URI over the limit",
            long_uri.into_bytes(),
            414,
            "RequestURITooLong",
        ),
        (
            "more than 64 headers",
            format!("GET / HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").into_bytes(),
            431,
            "RequestHeaderFieldsTooLarge",
        ),
        (
            "a NUL in a header",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n".to_vec(),
            400,
            "MalformedRequest",
        ),
        (
            "duplicate Content-Length",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
                .to_vec(),
            400,
            "MalformedRequest",
        ),
        (
            "negative Content-Length",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
            400,
            "MalformedRequest",
        ),
        (
            "non-ASCII request line",
            "G\u{c9}T / HTTP/1.1\r\nHost: x\r\n\r\n".as_bytes().to_vec(),
            400,
            "MalformedRequest",
        ),
        (
            "non-ASCII path (parsed, then routed)",
            "GET /\u{e9} HTTP/1.1\r\nHost: x\r\n\r\n"
                .as_bytes()
                .to_vec(),
            404,
            "InvalidAction.NotFound",
        ),
        (
            "garbage bytes",
            b"\x16\x03\x01\xff\xfe garbage\r\n\r\n".to_vec(),
            400,
            "MalformedRequest",
        ),
    ];
    for (what, request, status, code) in cases {
        let answer = exchange("127.0.0.1", to, &request, Duration::from_secs(10)).await;
        let (got_status, body) = parse(&answer);
        assert_eq!(got_status, status, "{what}: {body}");
        assert_eq!(body["Code"], code, "{what}");
        assert!(!body["Message"].as_str().unwrap().is_empty(), "{what}");
        let id = body["RequestId"].as_str().unwrap();
        assert_eq!(id.len(), 36, "{what}");
        assert!(
            String::from_utf8_lossy(&answer).contains(&format!("x-acs-request-id: {id}")),
            "{what}"
        );
    }
    // The server is still well after all that.
    let health = exchange(
        "127.0.0.1",
        to,
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(parse(&health).1["Status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_holding_idle_connections_does_not_starve_the_others() {
    let home = tempfile::tempdir().unwrap();
    // Small bounds, same shape as the defaults (1024 overall, 256 per address).
    let server = plain_server(
        home.path(),
        &["--max-connections", "32", "--max-connections-per-ip", "8"],
    );
    let to = addr_of(&server);
    // 127.0.0.2 keeps 100 silent connections open, reconnecting whenever one is cut.
    let stop = Arc::new(AtomicBool::new(false));
    let mut attackers = Vec::new();
    for _ in 0..100 {
        let stop = Arc::clone(&stop);
        attackers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = connect_from("127.0.0.2", to).await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let mut buf = [0u8; 64];
                let _ = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf)).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A normal client from another address is answered, each time, well within an SDK's
    // 10 s read timeout (without the per-address cap every slot is held for the 10 s header
    // timeout and these wait in the backlog).
    for i in 0..6 {
        let answer = exchange(
            "127.0.0.1",
            to,
            b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
            Duration::from_secs(4),
        )
        .await;
        assert!(
            complete(&answer),
            "request {i} was not answered: {answer:?}"
        );
        assert_eq!(parse(&answer).1["Status"], "ok");
    }
    // And a signed API call goes through too.
    let regions = tokio::task::spawn_blocking(move || {
        let v = server.kms("DescribeRegions", &[]);
        drop(server);
        v
    })
    .await
    .unwrap();
    assert!(regions["Regions"].is_object(), "{regions}");
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        a.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_are_throttled_per_address() {
    let home = tempfile::tempdir().unwrap();
    let server = plain_server(
        home.path(),
        &["--auth-failure-rate", "1", "--auth-failure-burst", "5"],
    );
    let to = addr_of(&server);
    let forged = |nonce: usize| {
        format!(
            "GET /?Action=DescribeRegions&Version=2016-01-20&Format=JSON&AccessKeyId=LTAIunknown{nonce}\
             &SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&SignatureNonce=n{nonce}\
             &Timestamp=2026-01-01T00%3A00%3A00Z&Signature=AAAA HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        .into_bytes()
    };
    let mut codes = Vec::new();
    for i in 0..8 {
        let answer = exchange("127.0.0.3", to, &forged(i), Duration::from_secs(10)).await;
        codes.push(parse(&answer).1["Code"].as_str().unwrap().to_owned());
    }
    assert!(
        codes[..5]
            .iter()
            .all(|c| c == "InvalidAccessKeyId.NotFound"),
        "{codes:?}"
    );
    assert!(codes[5..].iter().all(|c| c == "Throttling"), "{codes:?}");
    // Another address (the CLI's, 127.0.0.1) is not affected, and signs correctly.
    let regions = tokio::task::spawn_blocking(move || server.kms("DescribeRegions", &[]))
        .await
        .unwrap();
    assert!(regions["Regions"].is_object(), "{regions}");
}
