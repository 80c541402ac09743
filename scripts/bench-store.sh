#!/usr/bin/env bash
# One node on SQLite against one and two nodes on PostgreSQL (release build), with the
# `bench hello` baseline in the same run.
#
#   scripts/bench-store.sh [DURATION]     seconds per run, default 8 (plus 1 s warm-up)
#
# PostgreSQL is KEYWARDEN_BENCH_PG (default the machine's own, postgres@127.0.0.1:5432, trust
# auth): the script creates a database kw_bench_<pid> there and drops it at the end. For each
# run: `keywarden bench kms --connections 64 --threads 1` (GenerateDataKey), then CreateKey at
# 64 connections, against: hello; a SQLite node; one PostgreSQL node, with one load generator
# and with two (32 connections each, rates summed); two PostgreSQL nodes on the same database
# (two load generators, one per node, 32 connections each, rates summed). Rate limit
# off. Prints one markdown row per target: req/s, p50, p99, errors. Everything listens on
# 127.0.0.1; PostgreSQL shares the machine's cores with the nodes and the load generators.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-8}
PG=${KEYWARDEN_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB="kw_bench_$$"
. scripts/bench-servers.sh
bench_init bench-store
psql "$PG/postgres" -qc "CREATE DATABASE $DB"
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 1; psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"; rm -rf "$WORK"' EXIT
URL="$PG/$DB?sslmode=disable"

# node NAME ARGS...: a plain-HTTP `keywarden serve` in WORK/NAME; its config.json points
# `bench kms` at it.
node() {
  local name=$1; shift
  mkdir -p "$WORK/$name"
  KEYWARDEN_LOG=warn KEYWARDEN_CONFIG="$WORK/$name/config.json" "$KW" serve --no-tls \
    --data-dir "$WORK/$name/data" --listen 127.0.0.1:0 --rate-limit 0 "$@" \
    > "$WORK/$name/serve.out" 2> "$WORK/$name/serve.log" &
  PIDS+=($!)
  wait_for "$WORK/$name/serve.out" "listening on"
  wait_for "$WORK/$name/config.json" "127.0.0.1"
}

# bench NAME ACTION CONNS [ARGS...]: one run against node NAME; prints its JSON.
bench() {
  local name=$1 action=$2 conns=$3; shift 3
  KEYWARDEN_CONFIG="$WORK/$name/config.json" "$KW" "$@" bench kms --action "$action" \
    --connections "$conns" --duration "$DURATION" --warmup 1 --json
}

row() {
  python3 - "$@" <<'PY'
import json, sys
label, *paths = sys.argv[1:]
runs = [json.load(open(p)) for p in paths]
rate = sum(r["ReqPerSec"] for r in runs)
p50 = max(r["P50Ms"] for r in runs)
p99 = max(r["P99Ms"] for r in runs)
errors = sum(r["Non200"] + r["Failed"] for r in runs)
print(f"| {label} | {rate:,.0f} | {p50:.2f} | {p99:.2f} | {errors} |")
PY
}

"$KW" bench hello > "$WORK/hello.out" 2> "$WORK/hello.log" &
PIDS+=($!)
wait_for "$WORK/hello.out" "listening on"
HELLO=(--endpoint "$(sed -n 's/.*listening on //p' "$WORK/hello.out")" --access-key-id bench --access-key-secret bench)

node sqlite
node pg-a --store "$URL"
mkdir -p "$WORK/pg-b/data"
cp "$WORK/pg-a/data/root.key" "$WORK/pg-a/data/credentials.json" "$WORK/pg-b/data/"
node pg-b --store "$URL"

echo "bench store: $DURATION s runs after 1 s warm-up, 64 connections, load generator on 1 thread, $(nproc) CPUs, PostgreSQL $(psql "$PG/postgres" -Atc 'show server_version')"
for action in GenerateDataKey CreateKey; do
  echo
  echo "$action"
  echo
  echo "| target | req/s | p50 ms | p99 ms | errors |"
  echo "|---|---:|---:|---:|---:|"
  KEYWARDEN_CONFIG="$WORK/no-profile.json" "$KW" "${HELLO[@]}" bench kms --action "$action" --connections 64 \
    --duration "$DURATION" --warmup 1 --no-setup --json > "$WORK/hello.json"
  row "bench hello (reference)" "$WORK/hello.json"
  bench sqlite "$action" 64 > "$WORK/sqlite.json"
  row "1 node, SQLite" "$WORK/sqlite.json"
  bench pg-a "$action" 64 > "$WORK/pg1.json"
  row "1 node, PostgreSQL" "$WORK/pg1.json"
  # The same two load generators against one node, so the two-node row compares like with like.
  bench pg-a "$action" 32 > "$WORK/pg1a.json" &
  first=$!
  bench pg-a "$action" 32 > "$WORK/pg1b.json"
  wait "$first"
  row "1 node, PostgreSQL (32 + 32 connections)" "$WORK/pg1a.json" "$WORK/pg1b.json"
  bench pg-a "$action" 32 > "$WORK/pg2a.json" &
  first=$!
  bench pg-b "$action" 32 > "$WORK/pg2b.json"
  wait "$first"
  row "2 nodes, PostgreSQL (32 + 32 connections)" "$WORK/pg2a.json" "$WORK/pg2b.json"
done
