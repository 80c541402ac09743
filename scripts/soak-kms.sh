#!/usr/bin/env bash
# Memory under sustained load (release build): `keywarden serve` on a fresh data dir (plain HTTP,
# rate limit off) and `keywarden bench kms --action GenerateDataKey --connections 64` against it
# for MINUTES minutes (default 20), printing the server's RSS and its nonce side files once a
# minute, then the bench's summary.
#
#   scripts/soak-kms.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-20}
WORK=$(mktemp -d /tmp/keywarden-soak.XXXXXX)
cargo build --release -p keywarden >&2
KW="$PWD/target/release/keywarden"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
export KEYWARDEN_CONFIG="$WORK/config.json"
KEYWARDEN_LOG=warn "$KW" serve --data-dir "$WORK/data" --listen 127.0.0.1:0 --rate-limit 0 \
  --no-tls > "$WORK/serve.out" 2> "$WORK/serve.log" &
serve_pid=$!
PIDS+=($serve_pid)
for _ in $(seq 100); do grep -q 127.0.0.1 "$KEYWARDEN_CONFIG" 2>/dev/null && break; sleep 0.1; done

rss() { awk '/^VmRSS/ {printf "%d MiB", $2 / 1024}' "/proc/$serve_pid/status"; }
echo "minute 0: server RSS $(rss)"
"$KW" bench kms --action GenerateDataKey --connections 64 --duration $((MINUTES * 60)) \
  --warmup 0 > "$WORK/bench.out" 2>&1 &
bench_pid=$!
PIDS+=($bench_pid)
for m in $(seq "$MINUTES"); do
  sleep 60
  nonces=$(du -sh "$WORK/data/keywarden.db-nonces" 2>/dev/null | cut -f1)
  echo "minute $m: server RSS $(rss), nonce files ${nonces:-none}"
done
wait "$bench_pid" || true
cat "$WORK/bench.out"
echo "after the run: server RSS $(rss); VmHWM $(awk '/^VmHWM/ {printf "%d MiB", $2 / 1024}' "/proc/$serve_pid/status")"
