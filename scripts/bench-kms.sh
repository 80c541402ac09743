#!/usr/bin/env bash
# KMS API throughput and latency (release build), with the `bench hello` baseline measured in the
# same run on the same HTTP/TLS stack.
#
#   scripts/bench-kms.sh [DURATION]        seconds per run, default 10 (plus 1 s warm-up)
#
# For plain HTTP and for TLS: starts `keywarden bench hello`, runs `bench kms` against it with 1,
# 8, 64 and 256 connections, stops it; then starts `keywarden serve` on a fresh data dir with the
# rate limit off, runs each action (GenerateDataKey, Decrypt, Encrypt, DescribeKey) with the same
# connection counts, notes its memory and stops it. Prints a markdown table (ratio = keywarden
# req/s / hello req/s at the same transport and connections) and the servers' RSS.
# The load generator runs on 1 thread (`--threads`, its default) beside the server; set
# THREADS=2 to give it more; CONNS="1 64" and ACTIONS="Decrypt" run a subset. Everything listens on
# 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
THREADS=${THREADS:-1}
CONNS=${CONNS:-"1 8 64 256"}
ACTIONS=${ACTIONS:-"GenerateDataKey Decrypt Encrypt DescribeKey"}
WORK=$(mktemp -d /tmp/keywarden-bench-kms.XXXXXX)
cargo build --release -p keywarden >&2
KW="$PWD/target/release/keywarden"
PID=
trap 'if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
: > "$WORK/rows"

# wait_for FILE PATTERN: until FILE holds a line matching PATTERN (10 s at most).
wait_for() {
  for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; exit 1
}

stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }

# run TARGET TRANSPORT ACTION CONNS keywarden-args...: one bench, one row of figures.
run() {
  local target=$1 transport=$2 action=$3 conns=$4 rc=0 setup=(); shift 4
  # hello answers without checking anything: no set-up calls (CreateKey, a blob) to make.
  [ "$target" = hello ] && setup=(--no-setup)
  "$KW" "$@" bench kms --action "$action" --connections "$conns" --duration "$DURATION" \
    --warmup 1 --threads "$THREADS" "${setup[@]}" --json > "$WORK/out.json" 2> "$WORK/err" || rc=$?
  python3 - "$target" "$transport" "$action" "$conns" "$WORK/out.json" >> "$WORK/rows" <<'EOF'
import json, sys
target, transport, action, conns, path = sys.argv[1:]
try:
    v = json.load(open(path))
    print(target, transport, action, conns, v["ReqPerSec"], v["P50Ms"], v["P99Ms"], v["Non200"] + v["Failed"])
except ValueError:
    print(target, transport, action, conns, 0, 0, 0, "no-result")
EOF
  if [ "$rc" != 0 ]; then echo "$target $transport $action $conns: exit $rc: $(head -c 300 "$WORK/err")" >&2; fi
}

for transport in http https; do
  # The baseline: any credentials, no set-up calls, one action (hello ignores it).
  "$KW" bench hello $([ "$transport" = https ] && echo --tls --cert-dir "$WORK/hello-certs") \
    > "$WORK/hello.out" 2> "$WORK/hello.log" &
  PID=$!
  wait_for "$WORK/hello.out" "listening on"
  ep=$(sed -n 's/.*listening on //p' "$WORK/hello.out")
  hello_args=(--endpoint "$ep" --access-key-id bench --access-key-secret bench)
  [ "$transport" = https ] && hello_args+=(--ca-file "$WORK/hello-certs/tls/ca.pem")
  for c in $CONNS; do
    KEYWARDEN_CONFIG="$WORK/none.json" run hello "$transport" GenerateDataKey "$c" "${hello_args[@]}"
  done
  stop

  # keywarden itself, on a fresh data dir, its profile in the same directory.
  dir="$WORK/serve-$transport"
  mkdir -p "$dir"
  export KEYWARDEN_CONFIG="$dir/config.json"
  KEYWARDEN_LOG=warn "$KW" serve --data-dir "$dir/data" --listen 127.0.0.1:0 --rate-limit 0 \
    $([ "$transport" = http ] && echo --no-tls) > "$dir/serve.out" 2> "$dir/serve.log" &
  PID=$!
  wait_for "$dir/serve.out" "listening on"
  wait_for "$KEYWARDEN_CONFIG" "127.0.0.1"
  for action in $ACTIONS; do
    for c in $CONNS; do run keywarden "$transport" "$action" "$c"; done
  done
  grep -E '^Vm(HWM|RSS)' "/proc/$PID/status" | tr -s ' \t' ' ' | paste -sd ' ' |
    sed "s/^/keywarden serve ($transport) after the runs: /" >> "$WORK/rss"
  stop
  unset KEYWARDEN_CONFIG
done

echo "bench kms, ${DURATION} s per run after 1 s warm-up, load generator on ${THREADS} thread(s), $(nproc) CPUs"
echo
python3 - "$WORK/rows" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1])]
hello = {(r[1], r[3]): float(r[4]) for r in rows if r[0] == "hello"}
print("| target | action | transport | connections | req/s | p50 ms | p99 ms | vs hello | errors |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|")
for target, transport, action, conns, rate, p50, p99, errors in rows:
    base = hello.get((transport, conns))
    ratio = f"{float(rate) / base:.2f}" if target == "keywarden" and base else ""
    shown = "-" if target == "hello" else action
    print(f"| {target} | {shown} | {transport} | {conns} | {float(rate):.0f} | {float(p50):.3f} | {float(p99):.3f} | {ratio} | {errors} |")
EOF
echo
cat "$WORK/rss"
