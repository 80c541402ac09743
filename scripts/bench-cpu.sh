#!/usr/bin/env bash
# Server CPU per request (release build): where `bench-kms.sh` shows rates, this shows what each
# request costs the server, in user and system time, beside the same figures for `bench hello`.
#
#   scripts/bench-cpu.sh [DURATION] [ACTION]     seconds per run (default 6), GenerateDataKey
#
# For plain HTTP and TLS (TRANSPORTS="http https"), hello and then keywarden (a fresh data dir,
# rate limit off, KEYWARDEN_LOG=warn as in bench-kms.sh): runs `bench kms` at CONNS (default 64)
# connections, REPEAT times (default 3), and reads the server's and the generator's utime and stime
# from /proc/<pid>/stat over the run (after 0.5 s, for DURATION - 1 s), divided by the requests
# the generator counted. `idle` is CPU time nobody used (from /proc/stat), `steal` what the
# hypervisor took. Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-6}
ACTION=${2:-GenerateDataKey}
CONNS=${CONNS:-64}
REPEAT=${REPEAT:-3}
TRANSPORTS=${TRANSPORTS:-"http https"}
. scripts/bench-servers.sh
bench_init bench-cpu

# user and system clock ticks of PID; the idle and steal ticks of the machine.
ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
machine() { awk '/^cpu /{print $5, $9}' /proc/stat; }

# measure TARGET TRANSPORT SERVER_PID keywarden-args...: one run, one line of figures.
measure() {
  local target=$1 transport=$2 server=$3 setup=(); shift 3
  [ "$target" = hello ] && setup=(--no-setup)
  "$KW" "$@" bench kms --action "$ACTION" --connections "$CONNS" --duration "$DURATION" \
    --warmup 0 "${setup[@]}" --json > "$WORK/out.json" &
  local gen=$!
  sleep 0.5
  local s0 g0 m0 s1 g1 m1
  s0=$(ticks "$server"); g0=$(ticks "$gen"); m0=$(machine)
  sleep $((DURATION - 1))
  s1=$(ticks "$server"); g1=$(ticks "$gen"); m1=$(machine)
  wait "$gen"
  python3 - "$target" "$transport" "$WORK/out.json" "$((DURATION - 1))" "$s0" "$s1" "$g0" "$g1" "$m0" "$m1" <<'EOF'
import json, os, sys
target, transport, path, secs, s0, s1, g0, g1, m0, m1 = sys.argv[1:]
hz = os.sysconf("SC_CLK_TCK")
v = json.load(open(path))
rate = v["ReqPerSec"]
us = lambda a, b: (int(b) - int(a)) / hz * 1e6 / (rate * int(secs))
(su0, ss0), (su1, ss1) = s0.split(), s1.split()
(gu0, gs0), (gu1, gs1) = g0.split(), g1.split()
(i0, st0), (i1, st1) = m0.split(), m1.split()
print(f"| {transport} | {target} | {rate:.0f} | {us(su0, su1) + us(ss0, ss1):.1f} | {us(su0, su1):.1f} "
      f"| {us(ss0, ss1):.1f} | {us(gu0, gu1) + us(gs0, gs1):.1f} "
      f"| {(int(i1) - int(i0)) / hz / int(secs):.2f} | {(int(st1) - int(st0)) / hz / int(secs):.2f} |")
EOF
}

echo "bench cpu: $ACTION, $CONNS connections, ${DURATION} s runs, $REPEAT repeats, $(nproc) CPUs"
echo
echo "| transport | server | req/s | server µs/req | user | system | generator µs/req | idle cores | steal cores |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for transport in $TRANSPORTS; do
  start_servers "$transport"
  hello=$HELLO_PID
  serve=$SERVE_PID
  dir=$SERVE_DIR
  hello_args=("${HELLO_ARGS[@]}")

  for _ in $(seq "$REPEAT"); do
    KEYWARDEN_CONFIG="$WORK/none.json" measure hello "$transport" "$hello" "${hello_args[@]}"
    KEYWARDEN_CONFIG="$dir/config.json" measure keywarden "$transport" "$serve"
  done
  kill "$hello" "$serve"; wait "$hello" "$serve" 2>/dev/null || true
  PIDS=()
done
