//! The client profile file: `$KEYWARDEN_CONFIG`, else `~/.keywarden/config.json`, mode 0600.
//! It holds the endpoint, the CA file, and either the access key itself or the path of a
//! credentials file (what `keywarden serve` writes, so that the secret is not copied).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A stored client profile. Every field is optional; settings fill the gaps.
#[derive(Default, Serialize, Deserialize)]
pub struct Profile {
    /// `https://host:port`.
    #[serde(rename = "Endpoint", skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The access key id.
    #[serde(rename = "AccessKeyId", skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The access key secret.
    #[serde(rename = "AccessKeySecret", skip_serializing_if = "Option::is_none")]
    pub access_key_secret: Option<String>,
    /// A `credentials.json` holding `AccessKeyId` and `AccessKeySecret`.
    #[serde(rename = "CredentialsFile", skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<PathBuf>,
    /// PEM bundle of CAs to trust.
    #[serde(rename = "CaFile", skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Region id sent with requests.
    #[serde(rename = "RegionId", skip_serializing_if = "Option::is_none")]
    pub region_id: Option<String>,
}

/// The profile path: `$KEYWARDEN_CONFIG`, else `$HOME/.keywarden/config.json`.
pub fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KEYWARDEN_CONFIG") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".keywarden").join("config.json"))
}

/// Reads a profile; a missing file is an empty profile.
pub fn load(path: &Path) -> std::io::Result<Profile> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Profile::default()),
        Err(e) => Err(e),
    }
}

/// Writes a profile with mode 0600 (directory 0700), replacing any previous one atomically.
pub fn save(path: &Path, profile: &Profile) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&serde_json::to_vec_pretty(profile).map_err(std::io::Error::other)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.json");
        assert!(load(&path).unwrap().endpoint.is_none());
        let p = Profile {
            endpoint: Some("https://127.0.0.1:8443".into()),
            ..Profile::default()
        };
        save(&path, &p).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            load(&path).unwrap().endpoint.as_deref(),
            Some("https://127.0.0.1:8443")
        );
    }
}
