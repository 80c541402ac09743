//! The `keywarden` binary: clap glue over the server, the client and the envelope library.

mod cli;
mod configure;
mod exit;
mod kms;
mod serve;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let result = match args.command {
        cli::Command::Serve(a) => serve::run(a),
        cli::Command::Kms(a) => kms::run(&args.client, a),
        cli::Command::Configure(a) => configure::run(&args.client, a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => exit::report(&e),
    }
}
