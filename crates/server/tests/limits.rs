//! The request limits on the wire, against a real server in-process: per-access-key rate limit
//! (Throttling with `x-acs-retry-after`), the connection bound (excess connections wait and
//! are served when a slot frees), header and body read timeouts (slowloris), and the header
//! size limit. After each abuse the server still answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod serve_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use keywarden_server::LimitsConfig;
use serve_support::{HEALTH, Served, exchange, parse_answer};

fn with_limits(
    edit: impl FnOnce(&mut LimitsConfig),
) -> impl FnOnce(&mut keywarden_server::ServeConfig) {
    move |c| edit(&mut c.limits)
}

/// N + k calls at once: N pass, k get 400 `Throttling` with a positive `x-acs-retry-after`
/// (milliseconds), and the audit trail records them.
#[test]
fn the_rate_limit_throttles_per_access_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(
        dir.path(),
        with_limits(|l| {
            l.rate_limit = 1;
            l.rate_burst = 5;
        }),
        |_| {},
    );
    let mut codes = Vec::new();
    for _ in 0..8 {
        let answer = exchange(server.addr, &server.signed("DescribeRegions", &[]));
        match answer.status {
            200 => codes.push("ok".to_owned()),
            400 => {
                assert_eq!(answer.json()["Code"], "Throttling", "{}", answer.body);
                let retry: u64 = answer
                    .header("x-acs-retry-after")
                    .expect("retry-after header")
                    .parse()
                    .unwrap();
                assert!((1..=1000).contains(&retry), "retry after {retry} ms");
                codes.push("Throttling".to_owned());
            }
            other => panic!("unexpected status {other}: {}", answer.body),
        }
    }
    assert_eq!(codes.iter().filter(|c| *c == "ok").count(), 5, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| *c == "Throttling").count(), 3);
    // Unauthenticated requests are not counted against the key (and are refused anyway).
    let (ak, _) = server.credentials();
    let forged = serve_support::signed_request(
        &server.addr.to_string(),
        "DescribeRegions",
        &[],
        &ak,
        "wrong secret",
    );
    assert_eq!(
        exchange(server.addr, &forged).json()["Code"],
        "SignatureDoesNotMatch"
    );
    // The bucket refills: after a second, one more call passes.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        exchange(server.addr, &server.signed("DescribeRegions", &[])).status,
        200
    );
    server.stop().unwrap();
}

/// With `max_connections` 2, a third connection is accepted by the kernel but not served
/// until one of the first two closes; the server stays healthy.
#[test]
fn connections_beyond_the_bound_wait_for_a_free_slot() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(
        dir.path(),
        with_limits(|l| {
            l.max_connections = 2;
            l.header_timeout = Duration::from_secs(30);
        }),
        |_| {},
    );
    let first = TcpStream::connect(server.addr).unwrap();
    let _second = TcpStream::connect(server.addr).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut third = TcpStream::connect(server.addr).unwrap();
    third.write_all(HEALTH).unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut buf = [0u8; 512];
    let waited = third.read(&mut buf);
    assert!(
        waited.is_err(),
        "the third connection must not be served while two are open: {waited:?}"
    );
    let freed = Instant::now();
    drop(first);
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut raw = Vec::new();
    third.read_to_end(&mut raw).unwrap();
    assert_eq!(parse_answer(&raw).status, 200);
    assert!(freed.elapsed() < Duration::from_secs(5));
    // Many more clients than slots are all served, in turn.
    let clients: Vec<_> = (0..20)
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || exchange(addr, HEALTH).status)
        })
        .collect();
    drop(_second);
    for c in clients {
        assert_eq!(c.join().unwrap(), 200);
    }
    server.stop().unwrap();
}

/// A client that sends half a request head is cut off after the header timeout, and an idle
/// keep-alive connection too; other clients are served meanwhile.
#[test]
fn slow_headers_and_idle_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(
        dir.path(),
        with_limits(|l| l.header_timeout = Duration::from_secs(1)),
        |_| {},
    );
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: ")
        .unwrap();
    let started = Instant::now();
    // Others are served while the slow one hangs.
    for _ in 0..3 {
        assert_eq!(exchange(server.addr, HEALTH).status, 200);
    }
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest); // EOF (or a reset) once the server gives up
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "closed after {took:?}"
    );
    // A keep-alive connection idle after its request is closed after the same timeout.
    let mut idle = TcpStream::connect(server.addr).unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut raw = Vec::new();
    let _ = idle.read_to_end(&mut raw);
    assert!(String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 200"));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "idle connection closed after {took:?}"
    );
    assert_eq!(exchange(server.addr, HEALTH).status, 200);
    server.stop().unwrap();
}

/// A body that stops arriving gets 408 `RequestTimeout` and the connection is closed.
#[test]
fn a_stalled_body_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(
        dir.path(),
        with_limits(|l| l.body_timeout = Duration::from_secs(1)),
        |_| {},
    );
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.write_all(
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
          content-length: 100\r\n\r\nAction=Desc",
    )
    .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let answer = parse_answer(&raw);
    assert_eq!(answer.status, 408, "{raw:?}");
    assert_eq!(answer.json()["Code"], "RequestTimeout");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(exchange(server.addr, HEALTH).status, 200);
    server.stop().unwrap();
}

/// Request heads beyond 64 KiB (hyper's default is about 400 KiB) or 64 headers are refused
/// with 431 before any work.
#[test]
fn oversized_heads_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(dir.path(), |_| {}, |_| {});
    let long_query = format!(
        "GET /?Action={} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    // hyper refuses URIs over 64 KiB itself (414); the head limit (431) covers the rest.
    assert_eq!(exchange(server.addr, long_query.as_bytes()).status, 414);
    let big_header = format!(
        "GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-big: {}\r\n\r\n",
        "a".repeat(256 * 1024)
    );
    assert_eq!(exchange(server.addr, big_header.as_bytes()).status, 431);
    let mut many = String::from("GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n");
    for i in 0..100 {
        many.push_str(&format!("x-h{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(exchange(server.addr, many.as_bytes()).status, 431);
    // A request as large as the old SDK's largest (6 KiB Encrypt, percent-encoded) passes.
    let big_ok = format!(
        "GET /health?x={} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        "%41".repeat(6144)
    );
    assert_eq!(exchange(server.addr, big_ok.as_bytes()).status, 200);
    server.stop().unwrap();
}

/// Clients that send a call and hang up while it runs: every call that ran is audited (the
/// handler is not cancelled with its connection), and shutdown waits for them.
#[test]
fn calls_abandoned_by_their_client_are_still_audited() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(dir.path(), |_| {}, |_| {});
    for i in 0..20 {
        let mut s = TcpStream::connect(server.addr).unwrap();
        let desc = format!("abandoned {i}");
        s.write_all(&server.signed("CreateKey", &[("Description", &desc)]))
            .unwrap();
        // Hang up while the call runs (a key creation takes a store commit).
        std::thread::sleep(Duration::from_micros(200 * (i % 10)));
        drop(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    server.stop().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (records, keys) = rt.block_on(async {
        use keywarden_store::KeyStore;
        let store = keywarden_store::sqlite::SqliteStore::open(&dir.path().join("keywarden.db"))
            .await
            .unwrap();
        let records = store.list_audit(None, 0, 1000).await.unwrap();
        let keys = store
            .list_keys(
                &keywarden_store::KeyFilter::default(),
                keywarden_store::Page {
                    offset: 0,
                    limit: 1000,
                },
            )
            .await
            .unwrap();
        (records, keys.total)
    });
    let created: Vec<_> = records
        .iter()
        .filter(|r| r.record.action == "kms:CreateKey")
        .collect();
    assert_eq!(keys, created.len() as u64, "every key created is audited");
    assert!(
        created.iter().all(|r| r.record.outcome_code == "Success"),
        "{created:?}"
    );
    // Most calls ran before their client left (the others were never dispatched); without
    // the handler's own task, about a third of those that ran went unaudited.
    assert!(created.len() >= 5, "only {} calls ran", created.len());
}
