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
//! `--root-key-file` puts the root key elsewhere than `<data-dir>/root.key`.
//!
//! **On a shared store** (`--store postgres://...`, [`open_shared`]) the database holds the
//! identity (account, region, root key check value) instead of `instance.json`, and the data
//! dir only this node's TLS material and client profile. The first node on an empty database
//! initializes it (generating the root key unless the file exists, and writing the bootstrap
//! admin's `credentials.json`); a node that finds it initialized joins it with an empty data
//! dir, given the installation's root key. The database is reached before anything is written,
//! so a start against an unreachable database leaves nothing behind.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keywarden_core::model::Realm;
use keywarden_core::policy::ADMINISTRATOR_ACCESS;
use keywarden_core::secret::SecretBytes;
use keywarden_core::wrap::{ROOT_KEY_LEN, RootKey};
use keywarden_store::postgres::{PgOptions, PgStore, redacted};
use keywarden_store::sqlite::SqliteStore;
use keywarden_store::{
    AccessKeyRecord, AttachmentRecord, InstanceRecord, KeyStore, POLICY_SYSTEM, PRINCIPAL_USER,
    StoreError, UserRecord,
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
    /// Part of an installation is missing: the server will not guess (a new root key would
    /// orphan every sealed key; a new database or account would silently lose or rename them).
    #[error("{path} is missing, but {present} exists: {advice}")]
    Missing {
        /// The missing file.
        path: PathBuf,
        /// A file of the installation that does exist.
        present: PathBuf,
        /// What to do.
        advice: &'static str,
    },
    /// `root.key` is not the key the database was sealed with.
    #[error(
        "{path} does not match the database {db} (root key check value differs): it is not the root key of this installation; restore the right root.key from the backup taken with this database"
    )]
    RootKeyMismatch {
        /// The root key file.
        path: PathBuf,
        /// The database.
        db: PathBuf,
    },
    /// `instance.json` (or `--region`) disagrees with the identity recorded in the database.
    #[error("{path}: {detail}; the database {db} records account {account} in region {region}")]
    InstanceMismatch {
        /// The file (or flag) that disagrees.
        path: PathBuf,
        /// How.
        detail: String,
        /// The database.
        db: PathBuf,
        /// The recorded account.
        account: String,
        /// The recorded region.
        region: String,
    },
    /// The directory holds other files but no installation: state is only created in an empty
    /// directory, or with `--init`.
    #[error(
        "{dir} is not empty and holds no keywarden installation; pass --init to create one there"
    )]
    NotEmpty {
        /// The data dir.
        dir: PathBuf,
    },
    /// The database failed to open (damaged, newer schema, unreadable).
    #[error("{path}: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: keywarden_store::StoreError,
    },
    /// The store failed.
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

/// The files of an installation in a data dir.
struct Layout {
    dir: PathBuf,
    root_key: PathBuf,
    db: PathBuf,
    instance: PathBuf,
    credentials: PathBuf,
}

impl Layout {
    fn of(dir: &Path, root_key_file: Option<&Path>) -> Self {
        Self {
            dir: dir.to_owned(),
            root_key: root_key_file.map_or_else(|| dir.join("root.key"), Path::to_owned),
            db: dir.join("keywarden.db"),
            instance: dir.join("instance.json"),
            credentials: dir.join("credentials.json"),
        }
    }

    /// The first file of the installation in the data dir that exists, if any (a root key
    /// kept elsewhere may exist before the installation does).
    fn any_present(&self) -> Option<&Path> {
        [&self.root_key, &self.db, &self.instance, &self.credentials]
            .into_iter()
            .map(PathBuf::as_path)
            .filter(|p| p.starts_with(&self.dir))
            .find(|p| p.exists())
    }

    /// Refuses unless `path` exists (naming `present`, which does).
    fn require(
        &self,
        path: &Path,
        present: &Path,
        advice: &'static str,
    ) -> Result<(), BootstrapError> {
        if path.exists() {
            return Ok(());
        }
        Err(BootstrapError::Missing {
            path: path.to_owned(),
            present: present.to_owned(),
            advice,
        })
    }
}

/// Whether `dir` is absent or empty.
fn is_empty_dir(dir: &Path) -> Result<bool, BootstrapError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io_err(dir)(e)),
    }
}

/// Opens everything in `data_dir`, returning the server state; creates a new installation
/// only in an absent or empty directory, or, with `init`, in one holding no installation.
///
/// An existing installation must be whole and consistent: `root.key`, `keywarden.db` and
/// `instance.json` all present, the root key's check value and the account and region equal to
/// what the database recorded at its creation, and the database undamaged (`PRAGMA
/// quick_check`). Otherwise the start is refused with a message naming the file: never a new
/// root key, database or account beside existing state.
pub async fn open_with(
    data_dir: &Path,
    region: Option<&str>,
    opts: KmsOptions,
    init: bool,
) -> Result<Arc<Kms>, BootstrapError> {
    open_sqlite(data_dir, None, region, opts, init).await
}

/// [`open_with`], with the root key at `root_key_file` instead of `<data-dir>/root.key`.
pub async fn open_sqlite(
    data_dir: &Path,
    root_key_file: Option<&Path>,
    region: Option<&str>,
    opts: KmsOptions,
    init: bool,
) -> Result<Arc<Kms>, BootstrapError> {
    let layout = Layout::of(data_dir, root_key_file);
    let kms = match layout.any_present() {
        None => {
            if !init && !is_empty_dir(data_dir)? {
                return Err(BootstrapError::NotEmpty {
                    dir: data_dir.to_owned(),
                });
            }
            create(&layout, region, opts).await?
        }
        Some(present) => {
            let present = present.to_owned();
            reopen(&layout, &present, region, opts).await?
        }
    };
    admin_credentials(&kms, &layout.credentials).await?;
    Ok(kms)
}

/// [`open_with`] without `--init`: state is created only in an absent or empty directory.
pub async fn open(
    data_dir: &Path,
    region: Option<&str>,
    opts: KmsOptions,
) -> Result<Arc<Kms>, BootstrapError> {
    open_with(data_dir, region, opts, false).await
}

/// A new installation: the root key (written first, synced), `instance.json`, then the
/// database with the identity and the root key's check value.
async fn create(
    layout: &Layout,
    region: Option<&str>,
    opts: KmsOptions,
) -> Result<Arc<Kms>, BootstrapError> {
    ensure_private_dir(&layout.dir).map_err(io_err(&layout.dir))?;
    let (root, _) = root_key_or_new(&layout.root_key)?;
    let inst = Instance {
        account_id: random_digits(16)?,
        region_id: region.unwrap_or("local").to_owned(),
    };
    let text =
        serde_json::to_vec_pretty(&inst).map_err(|e| BootstrapError::Crypto(e.to_string()))?;
    write_public(&layout.instance, &text).map_err(io_err(&layout.instance))?;
    let store = open_store(layout).await?;
    let recorded = store.init_instance(&instance_record(&inst, &root)).await?;
    checked_kms(layout, store, root, &inst, region, &recorded, opts)
}

/// An existing installation, checked whole before anything is served.
async fn reopen(
    layout: &Layout,
    present: &Path,
    region: Option<&str>,
    opts: KmsOptions,
) -> Result<Arc<Kms>, BootstrapError> {
    const RESTORE: &str = "restore it from the backup (root.key, keywarden.db and instance.json are backed up and restored together); if this directory never served (an interrupted first start), remove it and start again";
    layout.require(&layout.root_key, present, RESTORE)?;
    layout.require(&layout.db, present, RESTORE)?;
    layout.require(&layout.instance, present, RESTORE)?;
    let root = root_key(&layout.root_key)?;
    let inst = read_instance(&layout.instance)?;
    let store = open_store(layout).await?;
    let recorded = match store.instance().await? {
        Some(recorded) => recorded,
        // A database from before check values (or from a first start interrupted before it
        // recorded one): adopt this root key only if it opens what the database holds.
        None => adopt(layout, &*store, &root, &inst).await?,
    };
    checked_kms(layout, store, root, &inst, region, &recorded, opts)
}

/// Opens (or, on an empty database, creates) an installation on a PostgreSQL store shared by
/// several nodes; `data_dir` holds this node's TLS material and bootstrap credentials. See the
/// module docs. A root key that does not match the database's check value is refused, naming
/// both; a root key this start generated is removed again when another node won the race to
/// initialize the database.
pub async fn open_shared(
    data_dir: &Path,
    url: &str,
    root_key_file: Option<&Path>,
    region: Option<&str>,
    opts: KmsOptions,
    pg: PgOptions,
) -> Result<Arc<Kms>, BootstrapError> {
    let layout = Layout::of(data_dir, root_key_file);
    let db = PathBuf::from(redacted(url));
    let store = PgStore::connect(url, pg)
        .await
        .map_err(|source| BootstrapError::Database {
            path: db.clone(),
            source,
        })?;
    let store: Arc<dyn KeyStore> = Arc::new(store);
    ensure_private_dir(&layout.dir).map_err(io_err(&layout.dir))?;
    let (recorded, root) = match store.instance().await? {
        Some(recorded) => {
            layout.require(
                &layout.root_key,
                &db,
                "every node of one store uses the installation's root key: copy it from the first node (mode 0600), or pass --root-key-file",
            )?;
            (recorded, root_key(&layout.root_key)?)
        }
        None => initialize_shared(&layout, &db, &*store, region).await?,
    };
    if !root.matches_check_value(&recorded.root_key_check) {
        return Err(BootstrapError::RootKeyMismatch {
            path: layout.root_key.clone(),
            db,
        });
    }
    let inst = Instance {
        account_id: recorded.account_id.clone(),
        region_id: recorded.region_id.clone(),
    };
    let layout = Layout { db, ..layout };
    let kms = checked_kms(&layout, store, root, &inst, region, &recorded, opts)?;
    admin_credentials(&kms, &layout.credentials).await?;
    Ok(kms)
}

/// Records a new installation's identity in an empty shared store, with the root key at
/// `layout.root_key` (generated now unless the file exists). Returns the identity the store
/// holds afterwards, and that root key. When another node initialized the store first with another root key, the
/// start is refused (and a root key generated here is removed again, since it seals nothing).
async fn initialize_shared(
    layout: &Layout,
    db: &Path,
    store: &dyn KeyStore,
    region: Option<&str>,
) -> Result<(InstanceRecord, RootKey), BootstrapError> {
    let (root, generated) = root_key_or_new(&layout.root_key)?;
    let inst = Instance {
        account_id: random_digits(16)?,
        region_id: region.unwrap_or("local").to_owned(),
    };
    let mine = instance_record(&inst, &root);
    let recorded = store.init_instance(&mine).await?;
    if recorded != mine && !root.matches_check_value(&recorded.root_key_check) {
        if generated {
            std::fs::remove_file(&layout.root_key).map_err(io_err(&layout.root_key))?;
        }
        return Err(BootstrapError::RootKeyMismatch {
            path: layout.root_key.clone(),
            db: db.to_owned(),
        });
    }
    if recorded == mine {
        tracing::info!(root_key = %layout.root_key.display(), "initialized the shared store; give every other node a copy of this root key");
    }
    Ok((recorded, root))
}

/// The identity of a new installation (or of an adopted database) with `root`'s check value.
fn instance_record(inst: &Instance, root: &RootKey) -> InstanceRecord {
    InstanceRecord {
        account_id: inst.account_id.clone(),
        region_id: inst.region_id.clone(),
        root_key_check: root.check_value().to_vec(),
        created_ms: crate::audit::now_ms(),
    }
}

/// The server state, once the root key, `instance.json` and `--region` agree with the identity
/// the database recorded (whose account and region name every ARN).
fn checked_kms(
    layout: &Layout,
    store: Arc<dyn KeyStore>,
    root: RootKey,
    inst: &Instance,
    region: Option<&str>,
    recorded: &InstanceRecord,
    opts: KmsOptions,
) -> Result<Arc<Kms>, BootstrapError> {
    check_instance(layout, &root, inst, region, recorded)?;
    let realm = Realm {
        region: recorded.region_id.clone(),
        account: recorded.account_id.clone(),
    };
    Ok(Arc::new(Kms::new(
        store,
        root,
        realm,
        Arc::new(SystemClock),
        opts,
    )))
}

/// Opens the database (private mode for it and its side files).
async fn open_store(layout: &Layout) -> Result<Arc<dyn KeyStore>, BootstrapError> {
    // SQLite gives its -wal, -shm and side files the mode of the database file: make it private.
    ensure_private_file(&layout.db).map_err(io_err(&layout.db))?;
    let store = SqliteStore::open(&layout.db)
        .await
        .map_err(|source| BootstrapError::Database {
            path: layout.db.clone(),
            source,
        })?;
    Ok(Arc::new(store))
}

/// Refuses unless the root key, `instance.json` and `--region` agree with the database.
fn check_instance(
    layout: &Layout,
    root: &RootKey,
    inst: &Instance,
    region: Option<&str>,
    recorded: &InstanceRecord,
) -> Result<(), BootstrapError> {
    if !root.matches_check_value(&recorded.root_key_check) {
        return Err(BootstrapError::RootKeyMismatch {
            path: layout.root_key.clone(),
            db: layout.db.clone(),
        });
    }
    let mismatch = |path: PathBuf, detail: String| BootstrapError::InstanceMismatch {
        path,
        detail,
        db: layout.db.clone(),
        account: recorded.account_id.clone(),
        region: recorded.region_id.clone(),
    };
    if inst.account_id != recorded.account_id || inst.region_id != recorded.region_id {
        return Err(mismatch(
            layout.instance.clone(),
            format!(
                "names account {} in region {}",
                inst.account_id, inst.region_id
            ),
        ));
    }
    match region {
        Some(r) if r != recorded.region_id => Err(mismatch(
            PathBuf::from("--region"),
            format!(
                "asks for region {r}, but the region of an installation is fixed when it is created"
            ),
        )),
        _ => Ok(()),
    }
}

/// Records the identity of a database that has none yet, after proving that `root` is its
/// root key: it must open the sealed secret of an access key or the material of a key
/// version, whichever the database holds. A database that holds nothing sealed loses
/// nothing by being adopted.
async fn adopt(
    layout: &Layout,
    store: &dyn KeyStore,
    root: &RootKey,
    inst: &Instance,
) -> Result<InstanceRecord, BootstrapError> {
    let mismatch = || BootstrapError::RootKeyMismatch {
        path: layout.root_key.clone(),
        db: layout.db.clone(),
    };
    if let Some(sealed) = any_sealed(store).await? {
        if root.open(&sealed.aad, &sealed.bytes).is_err() {
            return Err(mismatch());
        }
    }
    let record = instance_record(inst, root);
    tracing::info!(db = %layout.db.display(), "recorded the root key's check value and the instance identity in the database");
    Ok(store.init_instance(&record).await?)
}

/// Something the root key sealed, with the associated data it was sealed with.
struct Sealed {
    aad: Vec<u8>,
    bytes: Vec<u8>,
}

/// The first sealed secret the store holds: an access key of a user, else a key version.
async fn any_sealed(store: &dyn KeyStore) -> Result<Option<Sealed>, BootstrapError> {
    for user in store.list_users(None, 100).await? {
        if let Some(key) = store
            .list_access_keys(&user.user_name)
            .await?
            .into_iter()
            .next()
        {
            return Ok(Some(Sealed {
                aad: keywarden_core::wrap::access_key_aad(&key.access_key_id),
                bytes: key.sealed_secret,
            }));
        }
    }
    let keys = store
        .list_keys(
            &keywarden_store::KeyFilter::default(),
            keywarden_store::Page {
                offset: 0,
                limit: 1,
            },
        )
        .await?;
    if let Some(key) = keys.items.into_iter().next() {
        // Destroyed keys keep no material (and are deleted with their versions).
        if let Some(version) = store.get_version(&key.primary_version_id).await? {
            return Ok(Some(Sealed {
                aad: keywarden_core::wrap::material_aad(&key.key_id, &version.version_id),
                bytes: version.sealed_material,
            }));
        }
    }
    Ok(None)
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

/// The root key at `path`, or a new one written there (first, synced, 0600) when the file does
/// not exist; `true` when it is new.
fn root_key_or_new(path: &Path) -> Result<(RootKey, bool), BootstrapError> {
    if path.exists() {
        return Ok((root_key(path)?, false));
    }
    let fresh = SecretBytes::random(ROOT_KEY_LEN)
        .map_err(|_| BootstrapError::Crypto("rng failure".into()))?;
    write_new_private(path, fresh.expose_secret()).map_err(io_err(path))?;
    Ok((root_key(path)?, true))
}

fn root_key(path: &Path) -> Result<RootKey, BootstrapError> {
    let bytes = SecretBytes::new(read_private(path).map_err(io_err(path))?);
    RootKey::new(&bytes).map_err(|e| BootstrapError::Corrupt {
        path: path.to_owned(),
        reason: format!("{e} (a root key is exactly {ROOT_KEY_LEN} bytes)"),
    })
}

fn read_instance(path: &Path) -> Result<Instance, BootstrapError> {
    let text = std::fs::read(path).map_err(io_err(path))?;
    serde_json::from_slice::<Instance>(&text).map_err(|e| BootstrapError::Corrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

async fn admin_credentials(kms: &Kms, path: &Path) -> Result<(), BootstrapError> {
    let first_start = kms.store.list_users(None, 1).await?.is_empty();
    if !path.exists() && !first_start {
        // Removed on purpose (the operator made other administrators) or lost: never a new
        // administrator key beside existing users.
        tracing::warn!(credentials = %path.display(), "no bootstrap credentials file; none is created for an existing installation");
        return Ok(());
    }
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
        None if first_start => {
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
