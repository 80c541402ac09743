//! The generated TLS material: a private CA (`tls/ca.pem`, key `tls/ca.key`) and a server
//! certificate it signs (`tls/server.pem`, `tls/server.key`) valid for localhost, 127.0.0.1, ::1
//! and the operator's `--tls-san` names. The server certificate is reissued when the requested
//! names change; the CA stays, so clients keep trusting `tls/ca.pem`.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::files::{ensure_private_dir, read_private, write_new_private, write_public};

/// Paths of the TLS files in a data dir.
#[derive(Debug, Clone)]
pub struct TlsPaths {
    /// CA certificate (give this to clients).
    pub ca_cert: PathBuf,
    /// CA private key (0600).
    pub ca_key: PathBuf,
    /// Server certificate chain.
    pub cert: PathBuf,
    /// Server private key (0600).
    pub key: PathBuf,
    /// The names the server certificate was issued for, one per line.
    pub names: PathBuf,
}

impl TlsPaths {
    /// The files under `<data_dir>/tls/`.
    pub fn new(data_dir: &Path) -> Self {
        let d = data_dir.join("tls");
        Self {
            ca_cert: d.join("ca.pem"),
            ca_key: d.join("ca.key"),
            cert: d.join("server.pem"),
            key: d.join("server.key"),
            names: d.join("server.names"),
        }
    }
}

/// Why TLS material could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// File system failure.
    #[error("TLS files: {0}")]
    Io(#[from] std::io::Error),
    /// Certificate generation failure.
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
}

/// Ensures the CA and a server certificate covering `extra_sans` exist; returns their paths.
pub fn ensure(data_dir: &Path, extra_sans: &[String]) -> Result<TlsPaths, TlsError> {
    let paths = TlsPaths::new(data_dir);
    if let Some(dir) = paths.ca_cert.parent() {
        ensure_private_dir(dir)?;
    }
    let ca_key = ensure_ca(&paths)?;
    let names = wanted_names(extra_sans);
    let current = std::fs::read_to_string(&paths.names).unwrap_or_default();
    if current != names.join("\n") || !paths.cert.exists() || !paths.key.exists() {
        issue_server_cert(&paths, &ca_key, &names)?;
    }
    Ok(paths)
}

fn wanted_names(extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for n in extra {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    names
}

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "keywarden local CA");
    dn.push(DnType::OrganizationName, "keywarden");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = time_from_now(-1);
    p.not_after = time_from_now(3650);
    p
}

fn time_from_now(days: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::days(days)
}

fn ensure_ca(paths: &TlsPaths) -> Result<KeyPair, TlsError> {
    if paths.ca_key.exists() && paths.ca_cert.exists() {
        let pem = String::from_utf8(read_private(&paths.ca_key)?)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        return Ok(KeyPair::from_pem(&pem)?);
    }
    let key = KeyPair::generate()?;
    let cert = ca_params().self_signed(&key)?;
    write_new_private(&paths.ca_key, key.serialize_pem().as_bytes())?;
    write_public(&paths.ca_cert, cert.pem().as_bytes())?;
    Ok(key)
}

fn issue_server_cert(paths: &TlsPaths, ca_key: &KeyPair, names: &[String]) -> Result<(), TlsError> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => Ok(SanType::DnsName(n.clone().try_into()?)),
        })
        .collect::<Result<_, rcgen::Error>>()?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "keywarden");
    p.distinguished_name = dn;
    p.not_before = time_from_now(-1);
    p.not_after = time_from_now(825);
    let key = KeyPair::generate()?;
    let issuer = Issuer::new(ca_params(), ca_key);
    let cert = p.signed_by(&key, &issuer)?;
    let _ = std::fs::remove_file(&paths.key);
    write_new_private(&paths.key, key.serialize_pem().as_bytes())?;
    write_public(&paths.cert, cert.pem().as_bytes())?;
    write_public(&paths.names, names.join("\n").as_bytes())?;
    Ok(())
}
