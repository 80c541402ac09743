//! The keywarden KMS server: the Alibaba Cloud KMS API (2016-01-20) over HTTPS, on an embedded
//! SQLite store by default, or as one of several stateless nodes on a PostgreSQL store
//! ([`StoreLocation`]).
//!
//! Request path: [`listener`] (connection bound) → [`tls_config`] (rustls, hot reload) →
//! [`http`] (parse) → [`auth`] (signature, timestamp, nonce) → [`limits`] (rate limit per access
//! key) → [`ops`] (one file per action) → [`kms`] (state, caches) → `keywarden_store`; every call
//! ends in the [`audit`] trail. Key changes that must happen
//! exactly once across servers (state, rotation, destruction) go through [`lifecycle`]; the
//! [`scheduler`] destroys keys whose deletion window ended and rotates keys that are due.
//! Start-up: [`bootstrap`] prepares the data dir, [`tls`] the certificates, [`serve`] runs
//! (with the scheduler) until SIGTERM or Ctrl-C.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod action;
pub mod audit;
pub mod audit_retention;
pub mod auth;
pub mod authz;
pub mod bootstrap;
pub mod cache;
pub mod caller;
pub mod error;
pub mod exchange;
pub mod files;
pub mod guards;
pub mod hello;
pub mod http;
pub mod key_policy;
pub mod kms;
mod kms_identity;
pub mod lifecycle;
pub mod limits;
pub mod listener;
pub mod ops;
pub mod ram;
pub mod request;
pub mod resolve;
pub mod scheduler;
pub mod table;
pub mod tls;
pub mod tls_config;
pub mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum_server::Handle;
use axum_server::accept::DefaultAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};

use crate::guards::{AppState, Guards};
use crate::listener::{BoundedListener, Peer};
use crate::tls_config::TlsFiles;
use crate::wire::ApiShapedAcceptor;

pub use audit::AuditOptions;
pub use bootstrap::{BootstrapError, CredentialsFile};
pub use kms::{Kms, KmsOptions};
pub use limits::LimitsConfig;
pub use scheduler::SchedulerOptions;

/// Where the installation's durable state lives (`--store`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// `keywarden.db` in the data dir: one server process (the default).
    Sqlite,
    /// A PostgreSQL database (a `postgres://` URL) that several stateless nodes share.
    Postgres(String),
}

impl StoreLocation {
    /// Parses `--store`: `sqlite`, or a `postgres://` / `postgresql://` URL.
    pub fn parse(text: &str) -> Result<StoreLocation, String> {
        if text == "sqlite" {
            Ok(StoreLocation::Sqlite)
        } else if keywarden_store::postgres::is_postgres_url(text) {
            Ok(StoreLocation::Postgres(text.to_owned()))
        } else {
            Err("expected `sqlite` or a postgres:// URL".to_owned())
        }
    }

    /// Whether several nodes may share it (its changes are announced between them).
    pub fn is_shared(&self) -> bool {
        matches!(self, StoreLocation::Postgres(_))
    }
}

/// The longest a node may act on state another node changed, on a shared store: the cache
/// TTL there is at most this (changes are normally announced within milliseconds; the TTL is
/// the bound when an announcement is lost).
pub const SHARED_STALENESS_BOUND: Duration = Duration::from_secs(1);

/// The cache TTL on a shared store unless `--cache-ttl` says otherwise.
pub const SHARED_CACHE_TTL: Duration = Duration::from_millis(500);

/// What `keywarden serve` was asked to do.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The data dir.
    pub data_dir: PathBuf,
    /// Where the durable state lives.
    pub store: StoreLocation,
    /// The root key file (`--root-key-file`); `None`: `<data-dir>/root.key`.
    pub root_key_file: Option<PathBuf>,
    /// Connections to a PostgreSQL store.
    pub pg: keywarden_store::postgres::PgOptions,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Serve HTTPS with the generated certificates (else plain HTTP).
    pub tls: bool,
    /// Extra names for the server certificate.
    pub tls_sans: Vec<String>,
    /// Region id for ARNs (first start records it).
    pub region: Option<String>,
    /// Cache options.
    pub kms: KmsOptions,
    /// The operator's certificate chain (PEM) instead of the generated one; needs `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// The private key of `tls_cert` (PEM, mode 0600).
    pub tls_key: Option<PathBuf>,
    /// Require client certificates issued by this CA (PEM).
    pub tls_client_ca: Option<PathBuf>,
    /// Rate limit, connection bound, timeouts.
    pub limits: LimitsConfig,
    /// Create a new installation even though the data dir holds other files (`--init`);
    /// without it state is created only in an absent or empty directory.
    pub init: bool,
    /// Keep audit records this many days (`--audit-retention`); `None`: forever.
    pub audit_retention_days: Option<u32>,
}

impl ServeConfig {
    /// The defaults of `keywarden serve` for `data_dir`: HTTPS with the generated certificate
    /// on `127.0.0.1:8443`, default caches and limits.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            store: StoreLocation::Sqlite,
            root_key_file: None,
            pg: keywarden_store::postgres::PgOptions::default(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            tls: true,
            tls_sans: Vec::new(),
            region: None,
            kms: KmsOptions::default(),
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            limits: LimitsConfig::default(),
            init: false,
            audit_retention_days: None,
        }
    }
}

/// The HTTP server of `serve` and `bench hello`: HTTP/1.1 only, with bounded request heads and
/// the header and first-request timeouts (crate::limits).
pub(crate) fn http_server(
    listener: BoundedListener,
    handle: Handle<Peer>,
    limits: &LimitsConfig,
) -> axum_server::Server<Peer> {
    let mut server = axum_server::Server::<Peer>::from_listener(listener)
        .handle(handle)
        .http1_only()
        .first_request_timeout(limits.header_timeout);
    server
        .http_builder()
        .http1()
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits::MAX_HEADER_BYTES)
        .max_headers(limits::MAX_HEADERS);
    server
}

/// A prepared server: state opened, TLS files ready, not yet listening.
pub struct Prepared {
    /// Shared state.
    pub kms: Arc<Kms>,
    /// The generated TLS files, when TLS is on with them (not with `tls_cert`).
    pub tls: Option<tls::TlsPaths>,
    /// What the TLS configuration is built from (and watched for changes), when TLS is on.
    pub tls_files: Option<TlsFiles>,
    /// How often the TLS files are checked for changes (SIGHUP reloads at once).
    pub tls_reload_every: Duration,
    /// The audit writer's queue, batch size and head-logging cadence.
    pub audit: AuditOptions,
    /// The bootstrap admin credentials file.
    pub credentials: PathBuf,
    /// The lifecycle scheduler (deletions, rotations); defaults to a tick every 5 s.
    pub scheduler: SchedulerOptions,
    config: ServeConfig,
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The data dir could not be prepared.
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    /// Listening or TLS set-up failed.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
    /// The TLS certificate, key or client CA is not usable.
    #[error(transparent)]
    Tls(#[from] tls_config::TlsConfigError),
    /// The serve options contradict each other.
    #[error("{0}")]
    Config(String),
}

/// Opens the data dir and prepares TLS (first start creates everything).
pub async fn prepare(config: ServeConfig) -> Result<Prepared, ServeError> {
    let region = config.region.as_deref();
    let root_key_file = config.root_key_file.as_deref();
    let kms = match &config.store {
        StoreLocation::Sqlite => {
            bootstrap::open_sqlite(
                &config.data_dir,
                root_key_file,
                region,
                config.kms,
                config.init,
            )
            .await?
        }
        StoreLocation::Postgres(url) => {
            if config.kms.cache_ttl > SHARED_STALENESS_BOUND {
                return Err(ServeError::Config(format!(
                    "--cache-ttl {:?} exceeds {SHARED_STALENESS_BOUND:?}: on a shared store the cache TTL bounds how long a node may act on another node's stale state",
                    config.kms.cache_ttl
                )));
            }
            bootstrap::open_shared(
                &config.data_dir,
                url,
                root_key_file,
                region,
                config.kms,
                config.pg,
            )
            .await?
        }
    };
    kms.authz.set_secure_transport(config.tls);
    let (tls, tls_files) = prepare_tls(&config)?;
    Ok(Prepared {
        kms,
        tls,
        tls_files,
        tls_reload_every: tls_config::RELOAD_POLL,
        audit: AuditOptions::default(),
        credentials: config.data_dir.join("credentials.json"),
        scheduler: SchedulerOptions::default(),
        config,
    })
}

/// The operator's certificate, or the generated one (issued now if needed); checked by building
/// the TLS configuration once, so that a bad file fails the start rather than every handshake.
fn prepare_tls(
    config: &ServeConfig,
) -> Result<(Option<tls::TlsPaths>, Option<TlsFiles>), ServeError> {
    let operator = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
        (None, None) => None,
        _ => {
            return Err(ServeError::Config(
                "--tls-cert and --tls-key go together".into(),
            ));
        }
    };
    if !config.tls {
        if operator.is_some() || config.tls_client_ca.is_some() {
            return Err(ServeError::Config(
                "--tls-cert, --tls-key and --tls-client-ca need TLS (drop --no-tls)".into(),
            ));
        }
        return Ok((None, None));
    }
    let (generated, (cert, key)) = match operator {
        Some(pair) => (None, pair),
        None => {
            let paths =
                tls::ensure(&config.data_dir, &config.tls_sans).map_err(BootstrapError::from)?;
            let pair = (paths.cert.clone(), paths.key.clone());
            (Some(paths), pair)
        }
    };
    let files = TlsFiles {
        cert,
        key,
        client_ca: config.tls_client_ca.clone(),
    };
    tls_config::server_config(&files)?;
    Ok((generated, Some(files)))
}

/// Serves until SIGTERM or Ctrl-C, then drains connections for up to 10 s and flushes the audit
/// trail, with the lifecycle [`scheduler`] running alongside. `on_listening` is called with the
/// bound address once the server accepts connections.
pub async fn serve(
    prepared: Prepared,
    on_listening: impl FnOnce(SocketAddr) + Send + 'static,
) -> Result<(), ServeError> {
    serve_until(prepared, on_listening, shutdown_signal()).await
}

/// [`serve`], stopping when `shutdown` completes instead of on a signal (tests, embedding).
pub async fn serve_until(
    prepared: Prepared,
    on_listening: impl FnOnce(SocketAddr) + Send + 'static,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (sink, writer) = audit::start(Arc::clone(&prepared.kms.store), prepared.audit)
        .await
        .map_err(BootstrapError::from)?;
    let guards = Guards::new(Some(sink), &prepared.config.limits);
    let follower = prepared.kms.follow_changes();
    let scheduler = scheduler::spawn(Arc::clone(&prepared.kms), prepared.scheduler);
    let retention = prepared
        .config
        .audit_retention_days
        .map(|days| audit_retention::spawn(Arc::clone(&prepared.kms.store), days));
    let served = listen(&prepared, guards.clone(), on_listening, shutdown).await;
    scheduler.abort();
    if let Some(follower) = follower {
        follower.abort();
    }
    if let Some(retention) = retention {
        retention.abort();
    }
    // Calls cut off by the drain still run to their end (and queue their records).
    if !guards.wait_idle(Duration::from_secs(10)).await {
        tracing::error!(
            "API calls still running 10 s after the drain: their audit records are lost"
        );
    }
    // Every record of a finished call is queued by now: store them all, log the head.
    writer.finish().await;
    served
}

async fn listen(
    prepared: &Prepared,
    guards: Guards,
    on_listening: impl FnOnce(SocketAddr) + Send + 'static,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let limits = prepared.config.limits;
    let listener = BoundedListener::bind(
        prepared.config.listen,
        limits.max_connections,
        limits.max_connections_per_ip,
    )
    .await?;
    let handle: Handle<Peer> = Handle::new();
    let state = AppState {
        kms: Arc::clone(&prepared.kms),
        guards,
    };
    let app = http::guarded_router(state).into_make_service_with_connect_info::<SocketAddr>();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: draining connections");
        stopper.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    let watcher = handle.clone();
    tokio::spawn(async move {
        if let Some(addr) = watcher.listening().await {
            on_listening(addr.0);
        }
    });
    let server = http_server(listener, handle, &limits);
    match &prepared.tls_files {
        Some(files) => {
            let config = RustlsConfig::from_config(Arc::new(tls_config::server_config(files)?));
            let reloader = tls_config::spawn_reloader(
                files.clone(),
                config.clone(),
                prepared.tls_reload_every,
            );
            let acceptor =
                RustlsAcceptor::new(config).handshake_timeout(limits.tls_handshake_timeout);
            let served = server
                .acceptor(ApiShapedAcceptor(acceptor))
                .serve(app)
                .await;
            reloader.abort();
            served?;
        }
        None => {
            server
                .acceptor(ApiShapedAcceptor(DefaultAcceptor))
                .serve(app)
                .await?;
        }
    }
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C (`serve` and `bench hello`).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    // Installed now, not when the future is first polled: a SIGTERM that arrives just after
    // the server said it listens must stop it gracefully, not kill it by the default action.
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    async fn recv(s: &mut Option<Signal>) {
        match s {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    }
    async move {
        tokio::select! {
            () = recv(&mut term) => {},
            () = recv(&mut int) => {},
        }
    }
}
