//! From a `postgres://` URL to a connection configuration and a TLS connector.
//!
//! The URL is libpq's: `postgres://user:password@host:port/database?sslmode=...`. Recognized
//! beyond what tokio-postgres parses itself:
//!
//! - `sslmode`: `disable` (plain TCP), `prefer` (the default, as with libpq: TLS when the server
//!   offers it, unverified), `require` (TLS, unverified: protects against a passive listener
//!   only), `verify-full` (TLS, the server's certificate must chain to `sslrootcert` and name
//!   the host). `allow` and `verify-ca` are refused rather than approximated.
//! - `sslrootcert`: a PEM file of trusted CA certificates (required by `verify-full`).
//! - the password, when the URL has none: `PGPASSWORD`, else the first line of the file named
//!   by `KEYWARDEN_STORE_PASSWORD_FILE` (refused unless only its owner may read it).
//!
//! The password never appears in errors or logs: [`redacted`] is what may be shown of a URL.

use std::os::unix::fs::PermissionsExt;
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::error::PgStoreError;

/// Whether a store URL names PostgreSQL.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The URL with any password replaced by `***`, for messages.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// What it takes to open connections: the configuration and the TLS connector for it.
pub(super) struct Target {
    pub(super) config: tokio_postgres::Config,
    pub(super) tls: MakeRustlsConnect,
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    Disable,
    Prefer,
    Require,
    VerifyFull,
}

/// Parses `url` (see the module docs).
pub(super) fn target(url: &str) -> Result<Target, PgStoreError> {
    let bad = |why: String| PgStoreError::BadUrl(format!("{}: {why}", redacted(url)));
    if !is_postgres_url(url) {
        return Err(bad("not a postgres:// URL".into()));
    }
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut tls = Tls::Prefer;
    let mut root_cert = None;
    let mut passed = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "sslmode" => {
                tls = match value {
                    "disable" => Tls::Disable,
                    "prefer" => Tls::Prefer,
                    "require" => Tls::Require,
                    "verify-full" => Tls::VerifyFull,
                    other => {
                        return Err(bad(format!(
                            "sslmode={other} is not supported (use disable, prefer, require or verify-full)"
                        )));
                    }
                }
            }
            "sslrootcert" => root_cert = Some(value.to_owned()),
            _ => passed.push(pair),
        }
    }
    let rest = if passed.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", passed.join("&"))
    };
    let mut config = tokio_postgres::Config::from_str(&rest).map_err(|e| bad(e.to_string()))?;
    if config.get_password().is_none() {
        if let Some(password) = password_from_env().map_err(bad)? {
            config.password(password);
        }
    }
    config.ssl_mode(match tls {
        Tls::Disable => SslMode::Disable,
        Tls::Prefer => SslMode::Prefer,
        Tls::Require | Tls::VerifyFull => SslMode::Require,
    });
    if config.get_application_name().is_none() {
        config.application_name("keywarden");
    }
    let client = match tls {
        Tls::VerifyFull => {
            let path =
                root_cert.ok_or_else(|| bad("sslmode=verify-full needs sslrootcert".into()))?;
            verified_client(&path).map_err(bad)?
        }
        _ => unverified_client(),
    };
    Ok(Target {
        config,
        tls: MakeRustlsConnect::new(client),
    })
}

/// `PGPASSWORD`, else the first line of `KEYWARDEN_STORE_PASSWORD_FILE`.
fn password_from_env() -> Result<Option<String>, String> {
    if let Ok(password) = std::env::var("PGPASSWORD") {
        return Ok(Some(password));
    }
    let Ok(path) = std::env::var("KEYWARDEN_STORE_PASSWORD_FILE") else {
        return Ok(None);
    };
    let mode = std::fs::metadata(&path)
        .map_err(|e| format!("{path}: {e}"))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "{path} has mode {:o}; a password file must be readable by its owner only (chmod 600 it)",
            mode & 0o777
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    Ok(Some(text.lines().next().unwrap_or_default().to_owned()))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A client that checks the server's certificate against the CAs in `path` and the host name.
fn verified_client(path: &str) -> Result<rustls::ClientConfig, String> {
    let pem = std::fs::read(path).map_err(|e| format!("sslrootcert {path}: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("sslrootcert {path}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert {path}: no certificate in it"));
    }
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

/// A client that encrypts but accepts any certificate (libpq's `prefer` and `require`).
fn unverified_client() -> rustls::ClientConfig {
    let provider = provider();
    let verifier = Arc::new(AnyCertificate(provider.clone()));
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| rustls::ClientConfig::builder())
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth()
}

/// Accepts any server certificate, but still checks that the handshake is signed by its key.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redacted("postgres://kw:s3cret@db:5432/kw?sslmode=require"),
            "postgres://kw:***@db:5432/kw?sslmode=require"
        );
        assert_eq!(redacted("postgres://kw@db/kw"), "postgres://kw@db/kw");
    }

    #[test]
    fn sslmodes() {
        let t = target("postgres://kw@127.0.0.1:5432/kw?sslmode=disable").unwrap();
        assert_eq!(t.config.get_ssl_mode(), SslMode::Disable);
        assert_eq!(t.config.get_dbname(), Some("kw"));
        let t = target("postgres://kw@127.0.0.1/kw").unwrap();
        assert_eq!(t.config.get_ssl_mode(), SslMode::Prefer);
        for refused in ["allow", "verify-ca", "nonsense"] {
            let url = format!("postgres://kw:pw@h/kw?sslmode={refused}");
            let err = target(&url).err().unwrap().to_string();
            assert!(
                err.contains("not supported") && !err.contains("pw@"),
                "{err}"
            );
        }
        let err = target("postgres://kw@h/kw?sslmode=verify-full")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("sslrootcert"), "{err}");
        assert!(target("mysql://h/kw").is_err());
    }
}
