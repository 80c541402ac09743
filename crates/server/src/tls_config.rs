//! The server's rustls configuration, built from PEM files, and its hot reload.
//!
//! - **Versions**: TLS 1.3 and TLS 1.2 only (`with_protocol_versions`); rustls implements
//!   nothing older, so a TLS 1.1 or 1.0 client gets a `protocol_version` alert.
//! - **Certificate**: the chain and key given with `--tls-cert` / `--tls-key`, else the ones the
//!   server generated under `<data-dir>/tls/` (module [`crate::tls`]). The key must match the
//!   certificate, and its file must not be readable by group or others.
//! - **Client certificates**: with `--tls-client-ca`, every client must present a certificate
//!   that chains to that CA (rustls `WebPkiClientVerifier`); without it none is asked for.
//! - **ALPN**: `http/1.1` only; the server speaks HTTP/1.1 (see [`crate::limits`]).
//!
//! [`spawn_reloader`] polls the files' metadata every few seconds and reloads on SIGHUP. A new
//! configuration applies to new connections; established ones keep their session. When the new
//! files do not make a valid configuration (unreadable, a key that does not match, a half-written
//! file), the previous one stays in use and the failure is logged as an error; the next change
//! is tried again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use zeroize::Zeroizing;

use crate::files::read_private;

/// How often [`spawn_reloader`] looks at the files, by default.
pub const RELOAD_POLL: Duration = Duration::from_secs(2);

/// The PEM files a TLS configuration is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1), mode 0600.
    pub key: PathBuf,
    /// When set, clients must present a certificate issued by one of these CAs.
    pub client_ca: Option<PathBuf>,
}

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// A file holds no usable PEM item of the kind needed.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the material (for example a key that does not match the certificate).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client CA could not make a verifier.
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsConfigError + '_ {
    move |source| TlsConfigError::Io {
        path: path.to_owned(),
        source,
    }
}

fn pem_err(path: &Path, reason: impl Into<String>) -> TlsConfigError {
    TlsConfigError::Pem {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Builds the server configuration from `files` (blocking: reads the files).
pub fn server_config(files: &TlsFiles) -> Result<ServerConfig, TlsConfigError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let chain = certificates(&files.cert)?;
    let key = private_key(&files.key)?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(ca)? {
                roots.add(cert)?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let pem = std::fs::read(path).map_err(io_err(path))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(path, e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_err(path, "no CERTIFICATE in the file"));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    let pem = Zeroizing::new(read_private(path).map_err(io_err(path))?);
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| pem_err(path, format!("no private key: {e}")))
}

/// What identifies a file's version: modification time, length, inode.
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len(), meta.ino()))
}

fn stamps(files: &TlsFiles) -> Vec<Stamp> {
    let mut out = vec![stamp(&files.cert), stamp(&files.key)];
    if let Some(ca) = &files.client_ca {
        out.push(stamp(ca));
    }
    out
}

/// Rebuilds the configuration from `files` and installs it in `config`; on failure keeps the
/// current one. Returns whether it reloaded.
pub async fn reload(files: &TlsFiles, config: &RustlsConfig) -> bool {
    let owned = files.clone();
    let built = tokio::task::spawn_blocking(move || server_config(&owned)).await;
    match built {
        Ok(Ok(new)) => {
            config.reload_from_config(Arc::new(new));
            tracing::info!(cert = %files.cert.display(), "TLS configuration reloaded; new connections use it");
            true
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "TLS reload failed: still serving the previous certificate");
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "TLS reload task failed: still serving the previous certificate");
            false
        }
    }
}

/// Watches `files` (every `every`, and on SIGHUP) and reloads `config` when they change.
pub fn spawn_reloader(
    files: TlsFiles,
    config: RustlsConfig,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    // Installed now, before the server accepts its first connection, not when the task first
    // runs: a SIGHUP in between would otherwise end the process (its default action).
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    tokio::spawn(async move {
        let mut seen = stamps(&files);
        loop {
            let forced = tokio::select! {
                () = tokio::time::sleep(every) => false,
                Some(()) = async { match hangup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                } } => true,
            };
            let now = stamps(&files);
            if forced || now != seen {
                if forced {
                    tracing::info!("SIGHUP: reloading the TLS certificate");
                }
                // Remember the attempt either way: a bad file is retried when it changes again.
                seen = now;
                reload(&files, &config).await;
            }
        }
    })
}
