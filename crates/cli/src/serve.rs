//! `keywarden serve`: prepares the data dir, writes a default client profile when none exists,
//! and serves until SIGTERM.

use keywarden_client::profile::{self, Profile};
use keywarden_server::{KmsOptions, ServeConfig};

use crate::cli::ServeArgs;

/// Runs the command.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(args))
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEYWARDEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let tls = !args.no_tls;
    let config = ServeConfig {
        data_dir: args.data_dir.clone(),
        listen: args.listen,
        tls,
        tls_sans: args.tls_sans.clone(),
        region: args.region.clone(),
        kms: KmsOptions {
            cache_ttl: std::time::Duration::from_secs(args.cache_ttl),
        },
    };
    let prepared = keywarden_server::prepare(config).await?;
    let data_dir = std::path::absolute(&args.data_dir)?;
    tracing::info!(data_dir = %data_dir.display(), "data dir ready");
    tracing::info!(credentials = %data_dir.join("credentials.json").display(), "bootstrap admin access key (full access) is in this file");
    if prepared.tls.is_some() {
        tracing::info!(ca = %data_dir.join("tls/ca.pem").display(), "clients must trust this CA certificate");
    } else {
        tracing::warn!(
            "TLS is OFF (--no-tls): requests, data keys and plaintexts cross the network in clear. Use this for local development only."
        );
    }
    let no_profile = args.no_profile;
    keywarden_server::serve(prepared, move |addr| {
        let scheme = if tls { "https" } else { "http" };
        let endpoint = format!("{scheme}://{addr}");
        println!("keywarden listening on {endpoint}");
        tracing::info!(%endpoint, "listening; GET /health answers when ready");
        if !no_profile {
            write_default_profile(&endpoint, &data_dir, tls);
        }
    })
    .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Writes a profile pointing at this server when none exists yet, or refreshes the endpoint of
/// one that `serve` wrote earlier for this same data dir (the port may have changed).
fn write_default_profile(endpoint: &str, data_dir: &std::path::Path, tls: bool) {
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
        ca_file: tls.then(|| data_dir.join("tls").join("ca.pem")),
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
