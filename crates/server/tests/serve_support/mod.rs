//! A real server in-process (`prepare` + `serve_until` on its own runtime thread) and clients at
//! the byte level: raw HTTP/1.1 over TCP or rustls, requests signed with ACS3, certificates made
//! with rcgen. For tests of what happens on the wire: limits, timeouts, TLS.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use keywarden_server::{Prepared, ServeConfig};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;

/// A server running in this process.
pub struct Served {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl Served {
    /// Starts a server on `data_dir` (plain HTTP unless `edit` turns TLS on), on a free port.
    pub fn start(
        data_dir: &Path,
        edit: impl FnOnce(&mut ServeConfig) + Send + 'static,
        tune: impl FnOnce(&mut Prepared) + Send + 'static,
    ) -> Served {
        let mut config = ServeConfig::new(data_dir.to_owned());
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.tls = false;
        edit(&mut config);
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut prepared = keywarden_server::prepare(config)
                    .await
                    .map_err(|e| e.to_string())?;
                tune(&mut prepared);
                let shutdown = async move {
                    let _ = stopped.await;
                };
                keywarden_server::serve_until(
                    prepared,
                    move |addr| {
                        let _ = addr_tx.send(addr);
                    },
                    shutdown,
                )
                .await
                .map_err(|e| e.to_string())
            })
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server listens");
        Served {
            addr,
            data_dir: data_dir.to_owned(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Graceful shutdown (drains, flushes the audit trail); the server's result.
    pub fn stop(mut self) -> Result<(), String> {
        self.stop_now()
    }

    fn stop_now(&mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(t) => t.join().unwrap(),
            None => Ok(()),
        }
    }

    /// The bootstrap admin's access key id and secret.
    pub fn credentials(&self) -> (String, String) {
        let c: Value =
            serde_json::from_slice(&std::fs::read(self.data_dir.join("credentials.json")).unwrap())
                .unwrap();
        (
            c["AccessKeyId"].as_str().unwrap().to_owned(),
            c["AccessKeySecret"].as_str().unwrap().to_owned(),
        )
    }

    /// A signed `POST /?...` for `action` (ACS3, the new SDK's default), as raw bytes.
    pub fn signed(&self, action: &str, params: &[(&str, &str)]) -> Vec<u8> {
        let (ak, secret) = self.credentials();
        signed_request(&self.addr.to_string(), action, params, &ak, &secret)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.stop_now();
    }
}

/// A signed request for `host`, `Connection: close`.
pub fn signed_request(
    host: &str,
    action: &str,
    params: &[(&str, &str)],
    ak: &str,
    secret: &str,
) -> Vec<u8> {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let now = keywarden_core::dates::format_unix(keywarden_core::dates::now_unix());
    let signed =
        keywarden_client::signer::sign_acs3(host, action, "2016-01-20", &params, ak, secret, &now);
    let mut req = format!("POST /?{} HTTP/1.1\r\n", signed.query);
    for (name, value) in &signed.headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str("content-length: 0\r\nconnection: close\r\n\r\n");
    req.into_bytes()
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Parses a complete `Connection: close` answer.
pub fn parse_answer(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Sends `request` over plain TCP and reads the answer to the end of the connection.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    parse_answer(&raw)
}

/// `GET /health`, `Connection: close`.
pub const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";

/// A CA or leaf certificate with its key, as PEM.
pub struct Pem {
    pub cert: String,
    pub key: String,
    params: CertificateParams,
    key_pair: KeyPair,
}

impl Pem {
    /// A new CA named `name`.
    pub fn ca(name: &str) -> Pem {
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        p.distinguished_name = dn;
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key_pair = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key_pair).unwrap();
        Pem {
            cert: cert.pem(),
            key: key_pair.serialize_pem(),
            params: p,
            key_pair,
        }
    }

    /// A server certificate for localhost / 127.0.0.1 issued by this CA, named `cn`.
    pub fn server(&self, cn: &str) -> Pem {
        self.leaf(cn, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate issued by this CA.
    pub fn client(&self, cn: &str) -> Pem {
        self.leaf(cn, ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn leaf(&self, cn: &str, usage: ExtendedKeyUsagePurpose) -> Pem {
        let mut p =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        p.distinguished_name = dn;
        p.extended_key_usages = vec![usage];
        let key_pair = KeyPair::generate().unwrap();
        let issuer = Issuer::new(self.params.clone(), &self.key_pair);
        let cert = p.signed_by(&key_pair, &issuer).unwrap();
        Pem {
            cert: cert.pem(),
            key: key_pair.serialize_pem(),
            params: p,
            key_pair,
        }
    }

    /// The certificate in DER.
    pub fn der(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(self.cert.as_bytes()).unwrap()
    }

    /// Writes the certificate and key (0600) into `dir` as `<name>.pem` / `<name>.key`.
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let cert = dir.join(format!("{name}.pem"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, &self.cert).unwrap();
        std::fs::write(&key, &self.key).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        (cert, key)
    }
}

/// A CA certificate file's first certificate.
pub fn pem_cert(path: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).unwrap()
}

/// A rustls client configuration trusting `cas`, with an optional client certificate,
/// limited to `versions` (all rustls has when empty).
pub fn client_config(
    cas: &[CertificateDer<'static>],
    client: Option<&Pem>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in cas {
        roots.add(ca.clone()).unwrap();
    }
    let versions = if versions.is_empty() {
        rustls::DEFAULT_VERSIONS
    } else {
        versions
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some(c) => builder
            .with_client_auth_cert(
                vec![c.der()],
                PrivateKeyDer::from_pem_slice(c.key.as_bytes()).unwrap(),
            )
            .unwrap(),
    };
    Arc::new(config)
}

/// A TLS connection to `addr` (SNI `localhost`), handshake done.
pub type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// Connects and completes the handshake.
pub fn tls_connect(addr: SocketAddr, config: &Arc<rustls::ClientConfig>) -> std::io::Result<Tls> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let conn = rustls::ClientConnection::new(
        Arc::clone(config),
        ServerName::try_from("localhost").unwrap(),
    )
    .map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

/// The certificate the server presented.
pub fn peer_cert(tls: &Tls) -> CertificateDer<'static> {
    tls.conn.peer_certificates().unwrap()[0]
        .clone()
        .into_owned()
}

/// Sends one keep-alive `GET /health` over `tls` and reads its answer (status line + JSON).
pub fn tls_health(tls: &mut Tls) -> std::io::Result<u16> {
    tls.write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n")?;
    tls.flush()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tls.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed",
            ));
        }
        raw.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&raw).contains("\"ok\"}") {
            return Ok(parse_answer(&raw).status);
        }
    }
}

/// The parameters of an RPC v1 call (HMAC-SHA1, the old SDK's scheme and the new SDK's
/// `signature_algorithm='v2'`) of `action` of API `version` with this nonce and timestamp,
/// `Signature` included.
#[allow(clippy::too_many_arguments)]
pub fn rpc_v1_params(
    action: &str,
    version: &str,
    params: &[(&str, &str)],
    ak: &str,
    secret: &str,
    nonce: &str,
    timestamp: &str,
) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = [
        ("Action", action),
        ("Version", version),
        ("Format", "JSON"),
        ("AccessKeyId", ak),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce),
        ("Timestamp", timestamp),
    ]
    .iter()
    .chain(params)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let sts =
        keywarden_core::sign::rpc_v1::string_to_sign("POST", keywarden_core::sign::pairs(&all));
    let signature = keywarden_core::sign::rpc_v1::sign(secret, &sts);
    all.push(("Signature".into(), signature));
    all
}

/// `POST /?<params>` for `host` with `extra` headers (which RPC v1 does not sign),
/// `Connection: close`.
pub fn rpc_v1_post(host: &str, params: &[(String, String)], extra: &[(&str, &str)]) -> Vec<u8> {
    let query = keywarden_core::sign::percent::encode_query(params);
    let mut req = format!("POST /?{query} HTTP/1.1\r\nhost: {host}\r\n");
    for (name, value) in extra {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str("content-length: 0\r\nconnection: close\r\n\r\n");
    req.into_bytes()
}

/// An RPC v1 request signed now with a fresh nonce by `ak`/`secret`, with `extra` unsigned
/// headers, as raw bytes.
pub fn rpc_v1_request(
    host: &str,
    version: &str,
    action: &str,
    params: &[(&str, &str)],
    (ak, secret): (&str, &str),
    extra: &[(&str, &str)],
) -> Vec<u8> {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let now = keywarden_core::dates::format_unix(keywarden_core::dates::now_unix());
    let params = rpc_v1_params(action, version, params, ak, secret, &nonce, &now);
    rpc_v1_post(host, &params, extra)
}
