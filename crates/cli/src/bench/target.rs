//! Where `bench kms` connects: the endpoint split into scheme, `Host` header and TCP address,
//! and one HTTP/1.1 connection over TCP or TLS (tokio-rustls, trusting the configured CA) driven
//! by hyper's low-level client (`hyper::client::conn::http1`), no pool.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The request body type: every request carries its parameters in the query.
pub type ReqBody = Empty<Bytes>;

/// The CA bundle used when none is configured (as `keywarden_client` does).
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A resolved endpoint.
pub struct Target {
    /// The `Host` header value (`host[:port]` as written in the endpoint).
    pub host: String,
    /// The address to connect to.
    pub addr: SocketAddr,
    /// TLS, when the endpoint is `https://`.
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

/// The parts of `scheme://host[:port][/]`.
#[derive(Debug, PartialEq, Eq)]
struct Endpoint<'a> {
    https: bool,
    /// As written, for the `Host` header.
    authority: &'a str,
    /// Without brackets or port, for name resolution and the TLS server name.
    hostname: &'a str,
    port: u16,
}

fn parse_endpoint(endpoint: &str) -> anyhow::Result<Endpoint<'_>> {
    let (https, rest) = if let Some(rest) = endpoint.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = endpoint.strip_prefix("http://") {
        (false, rest)
    } else {
        anyhow::bail!("endpoint {endpoint:?} must start with https:// or http://");
    };
    let authority = rest.trim_end_matches('/');
    anyhow::ensure!(
        !authority.is_empty() && !authority.contains('/'),
        "endpoint {endpoint:?}: bench kms needs scheme://host[:port] without a path"
    );
    let default_port = if https { 443 } else { 80 };
    let (hostname, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6
                .split_once(']')
                .with_context(|| format!("endpoint {endpoint:?}: unclosed ["))?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(p) => p
            .parse()
            .with_context(|| format!("endpoint {endpoint:?}: bad port {p:?}"))?,
        None => default_port,
    };
    Ok(Endpoint {
        https,
        authority,
        hostname,
        port,
    })
}

impl Target {
    /// Resolves `endpoint`; for `https://`, trusts `ca_file` (else the system bundle).
    pub async fn resolve(endpoint: &str, ca_file: Option<&Path>) -> anyhow::Result<Self> {
        let ep = parse_endpoint(endpoint)?;
        let addr = tokio::net::lookup_host((ep.hostname, ep.port))
            .await
            .with_context(|| format!("resolving {}", ep.hostname))?
            .next()
            .with_context(|| format!("{} has no address", ep.hostname))?;
        let tls = if ep.https {
            let name = ServerName::try_from(ep.hostname.to_owned())
                .with_context(|| format!("{:?} is not a TLS server name", ep.hostname))?;
            Some((TlsConnector::from(Arc::new(client_config(ca_file)?)), name))
        } else {
            None
        };
        Ok(Self {
            host: ep.authority.to_owned(),
            addr,
            tls,
        })
    }

    /// The scheme, for the report.
    pub fn transport(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Opens one connection: the request sender, and the future that does the connection's I/O
    /// (to be polled by the caller, in the same task as its requests).
    pub async fn connect(&self) -> anyhow::Result<Conn> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .with_context(|| format!("connecting to {}", self.addr))?;
        tcp.set_nodelay(true)?;
        match &self.tls {
            None => {
                let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await?;
                Ok((
                    sender,
                    Box::pin(async move { conn.await.map_err(Into::into) }),
                ))
            }
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .context("TLS handshake")?;
                let (sender, conn) = http1::handshake(TokioIo::new(tls)).await?;
                Ok((
                    sender,
                    Box::pin(async move { conn.await.map_err(Into::into) }),
                ))
            }
        }
    }
}

/// An open connection: its request sender and its I/O future.
pub type Conn = (SendRequest<ReqBody>, ConnDriver);

/// A connection's I/O future.
pub type ConnDriver =
    std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>;

/// TLS 1.3/1.2 with the aws-lc-rs provider, ALPN `http/1.1`, trusting the certificates of
/// `ca_file` (else of the system bundle).
fn client_config(ca_file: Option<&Path>) -> anyhow::Result<rustls::ClientConfig> {
    let path = ca_file.unwrap_or(Path::new(SYSTEM_ROOTS));
    let pem = std::fs::read(path).with_context(|| format!("CA file {}", path.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        // A system bundle may hold certificates rustls cannot use; skip those.
        let _ = roots.add(cert.with_context(|| format!("CA file {}", path.display()))?);
    }
    anyhow::ensure!(
        !roots.is_empty(),
        "CA file {} holds no usable certificate",
        path.display()
    );
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = parse_endpoint("https://127.0.0.1:8443/").unwrap();
        assert_eq!(
            e,
            Endpoint {
                https: true,
                authority: "127.0.0.1:8443",
                hostname: "127.0.0.1",
                port: 8443
            }
        );
        let e = parse_endpoint("http://localhost").unwrap();
        assert_eq!((e.hostname, e.port, e.https), ("localhost", 80, false));
        let e = parse_endpoint("https://[::1]:9000").unwrap();
        assert_eq!(
            (e.authority, e.hostname, e.port),
            ("[::1]:9000", "::1", 9000)
        );
        assert!(parse_endpoint("ftp://x").is_err());
        assert!(parse_endpoint("http://x:y").is_err());
        assert!(parse_endpoint("http://x/kms").is_err());
    }
}
