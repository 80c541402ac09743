#!/usr/bin/env bash
# The whole test suite: Rust unit, property, conformance and end-to-end tests, then the official
# Alibaba Python SDKs against a real `keywarden serve` (on SQLite, then on PostgreSQL). Installs
# what it needs (the pinned venv), and needs a PostgreSQL server (scripts/ensure-postgres.sh) for
# the store conformance suite on PostgreSQL, the multi-node tests and the second SDK pass.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-python.sh
scripts/ensure-postgres.sh
cargo build --workspace --locked
cargo test --workspace --locked
KEYWARDEN_BIN="$PWD/target/debug/keywarden" .venv/bin/python -m pytest tests/compat -q -p no:cacheprovider
# Again with the shared server (the one most tests call) on a PostgreSQL store.
KEYWARDEN_COMPAT_STORE=postgres KEYWARDEN_BIN="$PWD/target/debug/keywarden" \
  .venv/bin/python -m pytest tests/compat -q -p no:cacheprovider
