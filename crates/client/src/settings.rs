//! Client settings, resolved field by field: command-line flag, then environment
//! (`KEYWARDEN_ENDPOINT`, `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET`,
//! `KEYWARDEN_CA_FILE`), then the profile.

use std::path::{Path, PathBuf};

use keywarden_core::secret::SecretString;

use crate::profile::{self, Profile};

/// Resolved settings for a [`crate::KmsClient`].
pub struct Settings {
    /// `https://host:port` or `http://host:port`.
    pub endpoint: String,
    /// Access key id.
    pub access_key_id: String,
    /// Access key secret.
    pub access_key_secret: SecretString,
    /// CA bundle to trust for HTTPS.
    pub ca_file: Option<PathBuf>,
    /// Region id.
    pub region: String,
}

/// What the command line gave (each `None` falls through to env, then profile).
#[derive(Default, Debug, Clone)]
pub struct Overrides {
    /// `--endpoint`.
    pub endpoint: Option<String>,
    /// `--access-key-id`.
    pub access_key_id: Option<String>,
    /// `--access-key-secret` (prefer the environment).
    pub access_key_secret: Option<String>,
    /// `--ca-file`.
    pub ca_file: Option<PathBuf>,
    /// `--profile` path.
    pub profile: Option<PathBuf>,
}

/// Why settings could not be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A required setting is nowhere.
    #[error(
        "no {0} configured: pass {1}, set {2}, or run `keywarden configure` (or `keywarden serve` on this machine)"
    )]
    Missing(&'static str, &'static str, &'static str),
    /// The profile or credentials file could not be read.
    #[error("{0}")]
    File(#[from] std::io::Error),
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[derive(serde::Deserialize)]
struct CredentialsFile {
    #[serde(rename = "AccessKeyId")]
    id: String,
    #[serde(rename = "AccessKeySecret")]
    secret: String,
}

fn read_credentials(path: &Path) -> std::io::Result<CredentialsFile> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

impl Settings {
    /// Resolves settings from `o`, the environment, and the profile.
    pub fn resolve(o: &Overrides) -> Result<Self, SettingsError> {
        let profile_path = o.profile.clone().or_else(profile::default_path);
        let p = match &profile_path {
            Some(path) => profile::load(path)?,
            None => Profile::default(),
        };
        let from_file = match (
            &o.access_key_id,
            env("ALIBABA_CLOUD_ACCESS_KEY_ID"),
            &p.credentials_file,
        ) {
            (None, None, Some(path)) if p.access_key_id.is_none() => Some(read_credentials(path)?),
            _ => None,
        };
        let endpoint = o
            .endpoint
            .clone()
            .or_else(|| env("KEYWARDEN_ENDPOINT"))
            .or(p.endpoint)
            .ok_or(SettingsError::Missing(
                "endpoint",
                "--endpoint",
                "KEYWARDEN_ENDPOINT",
            ))?;
        let access_key_id = o
            .access_key_id
            .clone()
            .or_else(|| env("ALIBABA_CLOUD_ACCESS_KEY_ID"))
            .or(p.access_key_id)
            .or_else(|| from_file.as_ref().map(|c| c.id.clone()))
            .ok_or(SettingsError::Missing(
                "access key id",
                "--access-key-id",
                "ALIBABA_CLOUD_ACCESS_KEY_ID",
            ))?;
        let secret = o
            .access_key_secret
            .clone()
            .or_else(|| env("ALIBABA_CLOUD_ACCESS_KEY_SECRET"))
            .or(p.access_key_secret)
            .or_else(|| from_file.map(|c| c.secret))
            .ok_or(SettingsError::Missing(
                "access key secret",
                "--access-key-secret",
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            ))?;
        let ca_file = o
            .ca_file
            .clone()
            .or_else(|| env("KEYWARDEN_CA_FILE").map(PathBuf::from))
            .or(p.ca_file);
        Ok(Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            access_key_id,
            access_key_secret: SecretString::new(secret),
            ca_file,
            region: p.region_id.unwrap_or_else(|| "local".into()),
        })
    }
}
