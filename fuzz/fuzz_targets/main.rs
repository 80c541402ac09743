//! Every keywarden fuzz target in one libFuzzer binary, so that CI builds and links once: the
//! target is picked by the environment variable `FUZZ_TARGET` (one of [`TARGETS`]).
//!
//! - `header`, `decrypt`, `seed`: the envelope's KENV header codec, stream decryptor and random
//!   access, and the seed format.
//! - `request`: raw HTTP request (method, target, headers, body) → the server's header filter →
//!   `ApiRequest::parse` (query + form body) → `auth::claim` → routing → the action's typed
//!   parameters (`Operation::parse`).
//! - `sig`: the RPC v1 / ACS3 / ACS4 signature parsers and verifiers; a request re-signed
//!   correctly must verify.
//! - `context`: the `EncryptionContext` parser (JSON and the flattened query forms).
//! - `policy`: the RAM policy parser and evaluator (Deny wins, order does not matter).
#![no_main]

mod context;
mod decrypt;
mod header;
mod policy;
mod request;
mod seed;
mod sig;
mod wire;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

/// The targets by name.
const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("header", header::run),
    ("decrypt", decrypt::run),
    ("seed", seed::run),
    ("request", request::run),
    ("sig", sig::run),
    ("context", context::run),
    ("policy", policy::run),
];

/// The target `FUZZ_TARGET` names; an unknown or missing name ends the process (exit 2) when
/// libFuzzer initializes, before any input runs (so no input is blamed for it).
static TARGET: LazyLock<fn(&[u8])> = LazyLock::new(|| {
    let name = std::env::var("FUZZ_TARGET").unwrap_or_default();
    if let Some((_, run)) = TARGETS.iter().find(|(n, _)| *n == name) {
        return *run;
    }
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    eprintln!("FUZZ_TARGET must be one of {names:?} (got {name:?})");
    std::process::exit(2);
});

fuzz_target!(
    init: {
        LazyLock::force(&TARGET);
    },
    |data: &[u8]| (*TARGET)(data)
);
