//! `keywarden serve`: prepares the data dir, writes a default client profile when none exists,
//! and serves until SIGTERM.

use keywarden_client::profile::{self, Profile};
use std::io::Write;
use std::time::Duration;

use keywarden_server::{KmsOptions, LimitsConfig, ServeConfig};

use crate::cli::ServeArgs;

/// Runs the command.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    crate::logging::init()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let tls = !args.no_tls;
    let default_ttl = if args.store.is_shared() {
        keywarden_server::SHARED_CACHE_TTL
    } else {
        KmsOptions::default().cache_ttl
    };
    let config = ServeConfig {
        data_dir: args.data_dir.clone(),
        store: args.store.clone(),
        root_key_file: args.root_key_file.clone(),
        pg: keywarden_store::postgres::PgOptions {
            max_connections: usize::try_from(args.store_connections).unwrap_or(32),
            ..Default::default()
        },
        listen: args.listen,
        tls,
        tls_sans: args.tls_sans.clone(),
        region: args.region.clone(),
        kms: KmsOptions {
            cache_ttl: args.cache_ttl.unwrap_or(default_ttl),
        },
        tls_cert: args.tls_cert.clone(),
        tls_key: args.tls_key.clone(),
        tls_client_ca: args.tls_client_ca.clone(),
        limits: limits(&args),
        init: args.init,
        audit_retention_days: args.audit_retention,
    };
    let prepared = keywarden_server::prepare(config).await?;
    let data_dir = std::path::absolute(&args.data_dir)?;
    tracing::info!(data_dir = %data_dir.display(), "data dir ready");
    tracing::info!(credentials = %data_dir.join("credentials.json").display(), "bootstrap admin access key (full access) is in this file");
    if prepared.tls.is_some() {
        tracing::info!(ca = %data_dir.join("tls/ca.pem").display(), "clients must trust this CA certificate");
    } else if let Some(files) = &prepared.tls_files {
        tracing::info!(cert = %files.cert.display(), "serving the operator's TLS certificate");
    } else {
        tracing::warn!(
            "TLS is OFF (--no-tls): requests, data keys and plaintexts cross the network in clear. Use this for local development only."
        );
    }
    let no_profile = args.no_profile;
    // The generated CA; with an operator certificate the profile names no CA (system roots).
    let generated_ca = prepared
        .tls
        .as_ref()
        .map(|_| data_dir.join("tls").join("ca.pem"));
    keywarden_server::serve(prepared, move |addr| {
        let scheme = if tls { "https" } else { "http" };
        let endpoint = format!("{scheme}://{addr}");
        // Not `println!`: it panics when stdout is closed; the log line below says the same.
        let _ = writeln!(std::io::stdout(), "keywarden listening on {endpoint}");
        tracing::info!(%endpoint, "listening; GET /health answers when ready");
        if !no_profile {
            write_default_profile(&endpoint, &data_dir, generated_ca);
        }
    })
    .await?;
    tracing::info!("stopped");
    Ok(())
}

/// The request limits from the flags.
fn limits(args: &ServeArgs) -> LimitsConfig {
    LimitsConfig {
        rate_limit: args.rate_limit,
        rate_burst: args.rate_burst.unwrap_or(args.rate_limit).max(1),
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        max_connections_per_ip: usize::try_from(args.max_connections_per_ip).unwrap_or(usize::MAX),
        auth_failure_rate: args.auth_failure_rate,
        auth_failure_burst: args.auth_failure_burst,
        header_timeout: Duration::from_secs(args.header_timeout),
        body_timeout: Duration::from_secs(args.body_timeout),
        tls_handshake_timeout: Duration::from_secs(args.tls_handshake_timeout),
    }
}

/// Writes a profile pointing at this server when none exists yet, or refreshes the endpoint of
/// one that `serve` wrote earlier for this same data dir (the port may have changed).
fn write_default_profile(
    endpoint: &str,
    data_dir: &std::path::Path,
    generated_ca: Option<std::path::PathBuf>,
) {
    let Some(path) = profile::default_path() else {
        return;
    };
    let credentials = data_dir.join("credentials.json");
    let p = match profile::load(&path) {
        Ok(existing) if !path.exists() => existing,
        Ok(existing) if existing.credentials_file.as_deref() == Some(credentials.as_path()) => {
            existing
        }
        _ => return,
    };
    if p.endpoint.as_deref() == Some(endpoint) {
        return;
    }
    let p = Profile {
        endpoint: Some(endpoint.to_owned()),
        credentials_file: Some(credentials),
        ca_file: generated_ca,
        ..p
    };
    match profile::save(&path, &p) {
        Ok(()) => {
            tracing::info!(profile = %path.display(), "wrote a client profile for this server")
        }
        Err(e) => {
            tracing::warn!(profile = %path.display(), error = %e, "could not write a client profile")
        }
    }
}
