//! The keywarden KMS server: the Alibaba Cloud KMS API (2016-01-20) over HTTPS, on an embedded
//! SQLite store by default.
//!
//! Request path: [`http`] (parse) → [`auth`] (signature, timestamp, nonce) → [`ops`] (one file
//! per action) → [`kms`] (state, caches) → `keywarden_store`. Key changes that must happen
//! exactly once across servers (state, rotation, destruction) go through [`lifecycle`]; the
//! [`scheduler`] destroys keys whose deletion window ended and rotates keys that are due.
//! Start-up: [`bootstrap`] prepares the data dir, [`tls`] the certificates, [`serve`] runs
//! (with the scheduler) until SIGTERM or Ctrl-C.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
pub mod bootstrap;
pub mod cache;
pub mod error;
pub mod files;
pub mod http;
pub mod kms;
pub mod lifecycle;
pub mod ops;
pub mod request;
pub mod scheduler;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;

pub use bootstrap::{BootstrapError, CredentialsFile};
pub use kms::{Kms, KmsOptions};
pub use scheduler::SchedulerOptions;

/// What `keywarden serve` was asked to do.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The data dir.
    pub data_dir: PathBuf,
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
}

/// A prepared server: state opened, TLS files ready, not yet listening.
pub struct Prepared {
    /// Shared state.
    pub kms: Arc<Kms>,
    /// TLS files, when TLS is on.
    pub tls: Option<tls::TlsPaths>,
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
}

/// Opens the data dir and prepares TLS (first start creates everything).
pub async fn prepare(config: ServeConfig) -> Result<Prepared, ServeError> {
    let kms = bootstrap::open(&config.data_dir, config.region.as_deref(), config.kms).await?;
    let tls = if config.tls {
        Some(tls::ensure(&config.data_dir, &config.tls_sans).map_err(BootstrapError::from)?)
    } else {
        None
    };
    Ok(Prepared {
        kms,
        tls,
        credentials: config.data_dir.join("credentials.json"),
        scheduler: SchedulerOptions::default(),
        config,
    })
}

/// Serves until SIGTERM or Ctrl-C, then drains connections for up to 10 s, with the lifecycle
/// [`scheduler`] running alongside. `on_listening` is called with the bound address once the
/// server accepts connections.
pub async fn serve(
    prepared: Prepared,
    on_listening: impl FnOnce(SocketAddr) + Send + 'static,
) -> Result<(), ServeError> {
    let scheduler = scheduler::spawn(Arc::clone(&prepared.kms), prepared.scheduler);
    let served = listen(&prepared, on_listening).await;
    scheduler.abort();
    served
}

async fn listen(
    prepared: &Prepared,
    on_listening: impl FnOnce(SocketAddr) + Send + 'static,
) -> Result<(), ServeError> {
    let handle = Handle::new();
    let app =
        http::router(Arc::clone(&prepared.kms)).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(shutdown_on_signal(handle.clone()));
    let watcher = handle.clone();
    tokio::spawn(async move {
        if let Some(addr) = watcher.listening().await {
            on_listening(addr);
        }
    });
    match &prepared.tls {
        Some(paths) => {
            let rustls = RustlsConfig::from_pem_file(&paths.cert, &paths.key).await?;
            axum_server::bind_rustls(prepared.config.listen, rustls)
                .handle(handle)
                .serve(app)
                .await?;
        }
        None => {
            axum_server::bind(prepared.config.listen)
                .handle(handle)
                .serve(app)
                .await?
        }
    }
    Ok(())
}

async fn shutdown_on_signal(handle: Handle<SocketAddr>) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining connections");
    handle.graceful_shutdown(Some(Duration::from_secs(10)));
}
