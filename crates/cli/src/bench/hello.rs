//! `keywarden bench hello`: runs `keywarden_server::hello` (the server's HTTP/TLS stack with a
//! fixed answer) on a runtime like `serve`'s until SIGTERM or Ctrl-C. Prints the CA path (with
//! `--tls`) and then `keywarden bench hello listening on <endpoint>`.

use std::path::PathBuf;

use keywarden_server::LimitsConfig;
use keywarden_server::hello::{self, HelloConfig};

use crate::cli::BenchHelloArgs;

/// Runs the command.
pub fn run(args: &BenchHelloArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: &BenchHelloArgs) -> anyhow::Result<()> {
    // A temporary directory lives until the responder stops, then is removed.
    let mut temp = None;
    let tls = if args.tls {
        let dir = match &args.cert_dir {
            Some(dir) => dir.clone(),
            None => temp.insert(tempfile::tempdir()?).path().to_path_buf(),
        };
        Some(tls_files(dir)?)
    } else {
        None
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let config = HelloConfig {
        listen: args.listen,
        tls,
        limits: LimitsConfig::default(),
    };
    hello::serve_until(
        config,
        move |addr| println!("keywarden bench hello listening on {scheme}://{addr}"),
        keywarden_server::shutdown_signal(),
    )
    .await?;
    drop(temp);
    Ok(())
}

fn tls_files(dir: PathBuf) -> anyhow::Result<keywarden_server::tls_config::TlsFiles> {
    let (paths, files) = hello::ensure_tls(&dir)?;
    println!("CA certificate: {}", paths.ca_cert.display());
    Ok(files)
}
