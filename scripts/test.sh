#!/usr/bin/env bash
# The whole test suite: Rust unit, property, conformance and end-to-end tests, then the official
# Alibaba Python SDKs against a real `keywarden serve`. Installs what it needs (the pinned venv).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-python.sh
cargo build --workspace --locked
cargo test --workspace --locked
KEYWARDEN_BIN="$PWD/target/debug/keywarden" .venv/bin/python -m pytest tests/compat -q -p no:cacheprovider
