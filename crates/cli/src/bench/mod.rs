//! `keywarden bench`: the measurements behind docs/PERFORMANCE.md.
//!
//! - [`range`]: random-access reads from a KENV file.
//! - [`kms`]: the KMS load generator (`bench kms`), built from [`target`] (endpoint, TCP/TLS
//!   connections), [`signer`] (per-request signatures from precomputed parts), [`load`] (the
//!   connection loops), [`histogram`] (latencies) and [`report`] (figures and error groups).
//! - [`hello`]: the baseline responder (`bench hello`) on the server's HTTP/TLS stack.

mod hello;
mod histogram;
mod kms;
mod load;
mod range;
mod report;
mod signer;
mod target;

use crate::cli::{BenchArgs, BenchCommand, ClientArgs};

/// Runs the command.
pub fn run(client_args: &ClientArgs, args: BenchArgs) -> anyhow::Result<()> {
    match args.command {
        BenchCommand::Range { file, reads, size } => range::run(client_args, &file, reads, size),
        BenchCommand::Kms(a) => kms::run(client_args, &a),
        BenchCommand::Hello(a) => hello::run(&a),
    }
}
