//! TLS on the wire, against a real server in-process: the operator's certificate and its hot
//! reload (new connections get the new certificate, established ones keep theirs, a bad file
//! keeps the old one), required client certificates, and TLS 1.2+ only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod serve_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serve_support::{Pem, Served, client_config, peer_cert, tls_connect, tls_health};

/// A server with the operator's certificate `cert`/`key`, reloading every 100 ms.
fn operator_server(data: &Path, cert: &Path, key: &Path, client_ca: Option<&Path>) -> Served {
    let (cert, key) = (cert.to_owned(), key.to_owned());
    let client_ca = client_ca.map(Path::to_owned);
    Served::start(
        data,
        move |c| {
            c.tls = true;
            c.tls_cert = Some(cert);
            c.tls_key = Some(key);
            c.tls_client_ca = client_ca;
        },
        |p| p.tls_reload_every = Duration::from_millis(100),
    )
}

/// Waits until a new connection is served `want`.
fn wait_for_cert(
    server: &Served,
    config: &std::sync::Arc<rustls::ClientConfig>,
    want: &Pem,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(tls) = tls_connect(server.addr, config) {
            if peer_cert(&tls) == want.der() {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn the_operator_certificate_is_served_and_hot_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Pem::ca("operator CA");
    let other_ca = Pem::ca("next CA");
    let first = ca.server("first");
    let (cert, key) = first.write(dir.path(), "server");
    let server = operator_server(&dir.path().join("data"), &cert, &key, None);
    assert!(
        !dir.path().join("data/tls/server.pem").exists(),
        "no certificate is generated when the operator gives one"
    );
    let trust_both = client_config(&[ca.der(), other_ca.der()], None, &[]);
    let mut kept = tls_connect(server.addr, &trust_both).unwrap();
    assert_eq!(peer_cert(&kept), first.der());
    assert_eq!(tls_health(&mut kept).unwrap(), 200);

    // Replace both files: new connections get the new certificate...
    let second = other_ca.server("second");
    second.write(dir.path(), "server");
    assert!(wait_for_cert(&server, &trust_both, &second), "reloaded");
    // ...while the connection made before keeps its session.
    assert_eq!(tls_health(&mut kept).unwrap(), 200);
    assert_eq!(peer_cert(&kept), first.der());

    // A broken key, then a key that does not match: the previous certificate stays.
    std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nnot a key\n").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let tls = tls_connect(server.addr, &trust_both).unwrap();
    assert_eq!(peer_cert(&tls), second.der());
    let stranger = ca.server("stranger");
    std::fs::write(&key, &stranger.key).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        peer_cert(&tls_connect(server.addr, &trust_both).unwrap()),
        second.der()
    );
    // Completing the pair makes it valid again.
    std::fs::write(&cert, &stranger.cert).unwrap();
    assert!(
        wait_for_cert(&server, &trust_both, &stranger),
        "reloaded after the fix"
    );
    server.stop().unwrap();
}

#[test]
fn a_bad_certificate_at_start_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Pem::ca("operator CA");
    let a = ca.server("a");
    let b = ca.server("b");
    let (cert, _) = a.write(dir.path(), "a");
    let (_, key) = b.write(dir.path(), "b");
    let mut config = keywarden_server::ServeConfig::new(dir.path().join("data"));
    config.tls_cert = Some(cert.clone());
    config.tls_key = Some(key);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(keywarden_server::prepare(config.clone()))
        .err()
        .unwrap();
    assert!(err.to_string().contains("TLS configuration"), "{err}");
    config.tls_key = None;
    let err = rt
        .block_on(keywarden_server::prepare(config))
        .err()
        .unwrap();
    assert!(err.to_string().contains("go together"), "{err}");
}

#[test]
fn client_certificates_can_be_required() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Pem::ca("server CA");
    let clients = Pem::ca("client CA");
    let (cert, key) = ca.server("server").write(dir.path(), "server");
    let (clients_pem, _) = clients.write(dir.path(), "clients");
    let server = operator_server(&dir.path().join("data"), &cert, &key, Some(&clients_pem));

    let mut with_cert = tls_connect(
        server.addr,
        &client_config(&[ca.der()], Some(&clients.client("app")), &[]),
    )
    .unwrap();
    assert_eq!(tls_health(&mut with_cert).unwrap(), 200);

    // No certificate, or one from another CA: the handshake fails (with TLS 1.3 the client
    // learns it on its first read).
    let refused = |config| match tls_connect(server.addr, &config) {
        Err(_) => true,
        Ok(mut tls) => tls_health(&mut tls).is_err(),
    };
    assert!(
        refused(client_config(&[ca.der()], None, &[])),
        "no client certificate"
    );
    let outsider = Pem::ca("outsider");
    assert!(
        refused(client_config(&[ca.der()], Some(&outsider.client("x")), &[])),
        "a certificate from another CA"
    );
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        assert!(refused(client_config(&[ca.der()], None, &[version])));
    }
    server.stop().unwrap();
}

/// TLS 1.2 and 1.3 handshakes succeed; a TLS 1.1 ClientHello gets a `protocol_version` alert.
#[test]
fn only_tls_1_2_and_1_3_are_spoken() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(&dir.path().join("data"), |c| c.tls = true, |_| {});
    let ca = serve_support::pem_cert(&dir.path().join("data/tls/ca.pem"));
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let config = client_config(std::slice::from_ref(&ca), None, &[version]);
        let mut tls = tls_connect(server.addr, &config).unwrap();
        assert_eq!(tls.conn.protocol_version(), Some(version.version));
        assert_eq!(tls_health(&mut tls).unwrap(), 200);
    }
    for legacy in [0x0302u16, 0x0301] {
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(&legacy_client_hello(legacy)).unwrap();
        let mut answer = [0u8; 7];
        s.read_exact(&mut answer).unwrap();
        assert_eq!(answer[0], 0x15, "an alert record: {answer:?}");
        assert_eq!(answer[5], 2, "fatal");
        assert_eq!(answer[6], 70, "protocol_version");
    }
    // Control: the same hello at TLS 1.2 is answered with a ServerHello.
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&legacy_client_hello(0x0303)).unwrap();
    let mut answer = [0u8; 6];
    s.read_exact(&mut answer).unwrap();
    assert_eq!(
        (answer[0], answer[5]),
        (0x16, 2),
        "handshake record, ServerHello"
    );
    server.stop().unwrap();
}

/// A ClientHello offering only `version` (no supported_versions extension), otherwise
/// acceptable to the server (suites, groups and signature schemes it has), so that the version
/// is the only reason to refuse it.
fn legacy_client_hello(version: u16) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(&[7u8; 32]); // random
    body.push(0); // session id
    // ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-RSA-AES128-GCM-SHA256
    body.extend_from_slice(&[0, 4, 0xc0, 0x2b, 0xc0, 0x2f]);
    body.extend_from_slice(&[1, 0]); // compression: null
    let extensions: &[u8] = &[
        0x00, 0x0a, 0, 6, 0, 4, 0x00, 0x1d, 0x00, 0x17, // supported_groups: x25519, P-256
        0x00, 0x0b, 0, 2, 1, 0, // ec_point_formats: uncompressed
        0x00, 0x0d, 0, 6, 0, 4, 0x04, 0x03, 0x08, 0x04, // signature_algorithms
    ];
    body.extend_from_slice(&u16::try_from(extensions.len()).unwrap().to_be_bytes());
    body.extend_from_slice(extensions);
    let mut handshake = vec![1u8]; // ClientHello
    let len = u32::try_from(body.len()).unwrap().to_be_bytes();
    handshake.extend_from_slice(&len[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap().to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}
