//! First start and every start of a data dir:
//!
//! ```text
//! <data-dir>/            0700
//!   root.key             0600  32 random bytes; wraps every CMK version and access-key secret
//!   keywarden.db         SQLite store (WAL)
//!   instance.json        {"AccountId","RegionId"} of this installation
//!   credentials.json     0600  the bootstrap admin access key {"AccessKeyId","AccessKeySecret"}
//!   tls/                 0700  ca.pem, ca.key (0600), server.pem, server.key (0600)
//! ```
//! Existing files are reused; secrets are never printed or logged. The bootstrap access key
//! belongs to the RAM user `admin`, created with the system policy `AdministratorAccess` (also
//! for data dirs from before RAM users); a bootstrap key deleted through RAM is not recreated.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keywarden_core::model::Realm;
use keywarden_core::policy::ADMINISTRATOR_ACCESS;
use keywarden_core::secret::SecretBytes;
use keywarden_core::wrap::{ROOT_KEY_LEN, RootKey};
use keywarden_store::sqlite::SqliteStore;
use keywarden_store::{
    AccessKeyRecord, AttachmentRecord, KeyStore, POLICY_SYSTEM, PRINCIPAL_USER, StoreError,
    UserRecord,
};
use serde::{Deserialize, Serialize};

use crate::files::{ensure_private_dir, read_private, write_new_private, write_public};
use crate::kms::{Kms, KmsOptions, SystemClock};

/// Why the data dir could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// A file has unexpected content.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The store failed to open.
    #[error("store: {0}")]
    Store(#[from] keywarden_store::StoreError),
    /// TLS material failed.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// Randomness or sealing failed.
    #[error("crypto: {0}")]
    Crypto(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BootstrapError + '_ {
    move |source| BootstrapError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The bootstrap admin access key as written to `credentials.json`.
#[derive(Serialize, Deserialize)]
pub struct CredentialsFile {
    /// Public id.
    #[serde(rename = "AccessKeyId")]
    pub access_key_id: String,
    /// Secret (never logged).
    #[serde(rename = "AccessKeySecret")]
    pub access_key_secret: String,
}

#[derive(Serialize, Deserialize)]
struct Instance {
    #[serde(rename = "AccountId")]
    account_id: String,
    #[serde(rename = "RegionId")]
    region_id: String,
}

/// The name of the bootstrap admin user.
pub const ADMIN_USER: &str = "admin";

/// Opens (creating on first start) everything in `data_dir`, returning the server state.
pub async fn open(
    data_dir: &Path,
    region: Option<&str>,
    opts: KmsOptions,
) -> Result<Arc<Kms>, BootstrapError> {
    ensure_private_dir(data_dir).map_err(io_err(data_dir))?;
    let root = root_key(&data_dir.join("root.key"))?;
    let realm = instance(&data_dir.join("instance.json"), region)?;
    let db = data_dir.join("keywarden.db");
    // SQLite gives its -wal, -shm and side files the mode of the database file: make it private.
    for file in [db.clone(), data_dir.join("keywarden.db.nonces")] {
        ensure_private_file(&file).map_err(io_err(&file))?;
    }
    let store: Arc<dyn KeyStore> = Arc::new(SqliteStore::open(&db).await?);
    let kms = Arc::new(Kms::new(store, root, realm, Arc::new(SystemClock), opts));
    admin_credentials(&kms, &data_dir.join("credentials.json")).await?;
    Ok(kms)
}

/// Creates an empty file with mode 0600 if `path` does not exist.
fn ensure_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn root_key(path: &Path) -> Result<RootKey, BootstrapError> {
    if !path.exists() {
        let fresh = SecretBytes::random(ROOT_KEY_LEN)
            .map_err(|_| BootstrapError::Crypto("rng failure".into()))?;
        write_new_private(path, fresh.expose_secret()).map_err(io_err(path))?;
    }
    let bytes = SecretBytes::new(read_private(path).map_err(io_err(path))?);
    RootKey::new(&bytes).map_err(|e| BootstrapError::Corrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn instance(path: &Path, region: Option<&str>) -> Result<Realm, BootstrapError> {
    let inst = if path.exists() {
        let text = std::fs::read(path).map_err(io_err(path))?;
        serde_json::from_slice::<Instance>(&text).map_err(|e| BootstrapError::Corrupt {
            path: path.to_owned(),
            reason: e.to_string(),
        })?
    } else {
        let inst = Instance {
            account_id: random_digits(16)?,
            region_id: region.unwrap_or("local").to_owned(),
        };
        let text = serde_json::to_vec_pretty(
            &serde_json::json!({"AccountId": inst.account_id, "RegionId": inst.region_id}),
        )
        .map_err(|e| BootstrapError::Crypto(e.to_string()))?;
        write_public(path, &text).map_err(io_err(path))?;
        inst
    };
    Ok(Realm {
        region: region.map(str::to_owned).unwrap_or(inst.region_id),
        account: inst.account_id,
    })
}

async fn admin_credentials(kms: &Kms, path: &Path) -> Result<(), BootstrapError> {
    let creds = if path.exists() {
        let bytes = read_private(path).map_err(io_err(path))?;
        serde_json::from_slice::<CredentialsFile>(&bytes).map_err(|e| BootstrapError::Corrupt {
            path: path.to_owned(),
            reason: e.to_string(),
        })?
    } else {
        let creds = CredentialsFile {
            access_key_id: format!("KW{}", random_alnum(22)?),
            access_key_secret: random_alnum(30)?,
        };
        let text =
            serde_json::to_vec_pretty(&creds).map_err(|e| BootstrapError::Crypto(e.to_string()))?;
        write_new_private(path, &text).map_err(io_err(path))?;
        creds
    };
    let owner = match kms.store.get_access_key(&creds.access_key_id).await? {
        Some(key) => key.user_name,
        // No user yet: a first start, a data dir from before RAM users, or a start that stopped
        // before its user was written. With users, the key is missing because it was deleted
        // through RAM (DeleteAccessKey), and stays deleted.
        None if kms.store.list_users(None, 1).await?.is_empty() => {
            let sealed = kms
                .seal_secret(&creds.access_key_id, &creds.access_key_secret)
                .map_err(|e| BootstrapError::Crypto(e.to_string()))?;
            let record = AccessKeyRecord {
                access_key_id: creds.access_key_id.clone(),
                sealed_secret: sealed,
                status: keywarden_core::model::AccessKeyStatus::Active,
                user_name: ADMIN_USER.into(),
                creation_date: kms.now(),
            };
            kms.store.put_access_key(&record).await?;
            record.user_name
        }
        None => {
            tracing::warn!(
                access_key = creds.access_key_id,
                "the access key in credentials.json was deleted; it is not recreated"
            );
            return Ok(());
        }
    };
    ensure_admin_user(kms, &owner).await
}

/// Creates the owner of the bootstrap access key as a RAM user with `AdministratorAccess`, if
/// it does not exist yet (first start, or a data dir from before RAM users, whose bootstrap key
/// had full access). An existing user is left as it is: its policies are the administrator's
/// to change.
async fn ensure_admin_user(kms: &Kms, user_name: &str) -> Result<(), BootstrapError> {
    if kms.store.get_user(user_name).await?.is_some() {
        return Ok(());
    }
    let now = kms.now();
    let user = UserRecord {
        user_name: user_name.to_owned(),
        user_id: format!("1{}", random_digits(15)?),
        display_name: "keywarden administrator".into(),
        mobile_phone: String::new(),
        email: String::new(),
        comments: "created by keywarden serve for the bootstrap access key".into(),
        create_date: now,
        update_date: now,
    };
    match kms.store.create_user(&user).await {
        Ok(()) | Err(StoreError::AlreadyExists) => {}
        Err(e) => return Err(e.into()),
    }
    let attachment = AttachmentRecord {
        principal_type: PRINCIPAL_USER.into(),
        principal_name: user_name.to_owned(),
        policy_type: POLICY_SYSTEM.into(),
        policy_name: ADMINISTRATOR_ACCESS.name.into(),
        attach_date: now,
    };
    match kms.store.attach_policy(&attachment).await {
        Ok(()) | Err(StoreError::AlreadyExists) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn random_from(alphabet: &[u8], n: usize) -> Result<String, BootstrapError> {
    let bytes =
        SecretBytes::random(n * 2).map_err(|_| BootstrapError::Crypto("rng failure".into()))?;
    // Rejection-free mapping over 16-bit samples: the bias is below 2^-10 for these alphabets.
    Ok(bytes
        .expose_secret()
        .chunks_exact(2)
        .map(|c| {
            let v = u16::from_le_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ]);
            alphabet
                .get(usize::from(v) % alphabet.len())
                .copied()
                .map(char::from)
                .unwrap_or('0')
        })
        .collect())
}

fn random_alnum(n: usize) -> Result<String, BootstrapError> {
    random_from(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        n,
    )
}

fn random_digits(n: usize) -> Result<String, BootstrapError> {
    random_from(b"0123456789", n)
}
