//! The `keywarden` binary: clap glue over the server, the client and the envelope library.

mod audit;
mod bench;
mod cli;
mod configure;
mod exit;
mod files;
mod kms;
mod logging;
mod serve;
mod store_cmd;

/// mimalloc instead of the system allocator: the server allocates small, short-lived buffers on
/// every request, where glibc's malloc cost ~12 % of its CPU (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = kms::parse_args();
    let result = match args.command {
        cli::Command::Serve(a) => serve::run(a),
        cli::Command::Kms(a) => kms::run(&args.client, a),
        cli::Command::Ram(a) => kms::run_ram(&args.client, a),
        cli::Command::Configure(a) => configure::run(&args.client, a),
        cli::Command::Encrypt(a) => files::encrypt(&args.client, a),
        cli::Command::Decrypt(a) => files::decrypt(&args.client, a),
        cli::Command::Rewrap(a) => files::rewrap(&args.client, a),
        cli::Command::Inspect(a) => files::inspect(a),
        cli::Command::Bench(a) => bench::run(&args.client, a),
        cli::Command::Audit(a) => audit::run(a),
        cli::Command::Store(a) => store_cmd::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => exit::report(&e),
    }
}
