#!/usr/bin/env bash
# KMS API throughput and latency (release build), with the `bench hello` baseline measured in the
# same run on the same HTTP/TLS stack.
#
#   scripts/bench-kms.sh [DURATION]        seconds per run, default 10 (plus 1 s warm-up)
#
# For plain HTTP and for TLS: starts `keywarden bench hello` and `keywarden serve` (a fresh data
# dir, rate limit off) side by side; for each action (GenerateDataKey, Decrypt, Encrypt,
# DescribeKey) and connection count (1, 8, 64, 256) runs `bench kms` against hello and then
# against keywarden, back to back, REPEAT times (default 3). A busy neighbour on a shared
# machine slows both runs of a pair alike, so each ratio compares like with like. Prints a
# markdown table of the medians (ratio = keywarden median req/s / hello median req/s at the same
# transport, action and connections; the range is the slowest and fastest of the repeats; steal is
# the share of CPU time the hypervisor took during the keywarden / hello run shown) and the
# servers' RSS at the end.
# The load generator runs on 1 thread (`--threads`, its default) beside the servers; set
# THREADS=2 to give it more; CONNS="1 64", ACTIONS="Decrypt", TRANSPORTS=https and REPEAT=1 run a
# subset.
# Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
THREADS=${THREADS:-1}
REPEAT=${REPEAT:-3}
CONNS=${CONNS:-"1 8 64 256"}
ACTIONS=${ACTIONS:-"GenerateDataKey Decrypt Encrypt DescribeKey"}
TRANSPORTS=${TRANSPORTS:-"http https"}
. scripts/bench-servers.sh
bench_init bench-kms
: > "$WORK/rows"
: > "$WORK/rss"

stop_all() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  PIDS=()
}

# run TARGET TRANSPORT ACTION CONNS keywarden-args...: one bench, one row of figures.
run() {
  local target=$1 transport=$2 action=$3 conns=$4 rc=0 setup=(); shift 4
  # hello answers without checking anything: no set-up calls (CreateKey, a blob) to make.
  [ "$target" = hello ] && setup=(--no-setup)
  local before after
  before=$(grep '^cpu ' /proc/stat)
  "$KW" "$@" bench kms --action "$action" --connections "$conns" --duration "$DURATION" \
    --warmup 1 --threads "$THREADS" "${setup[@]}" --json > "$WORK/out.json" 2> "$WORK/err" || rc=$?
  after=$(grep '^cpu ' /proc/stat)
  python3 - "$target" "$transport" "$action" "$conns" "$WORK/out.json" "$before" "$after" \
    >> "$WORK/rows" <<'EOF'
import json, sys
target, transport, action, conns, path, before, after = sys.argv[1:]
# The share of CPU time the hypervisor gave to others during the run (the 8th /proc/stat field).
ticks = [int(b) - int(a) for a, b in zip(before.split()[1:9], after.split()[1:9])]
steal = 100 * ticks[7] / max(1, sum(ticks))
try:
    v = json.load(open(path))
    print(target, transport, action, conns, v["ReqPerSec"], v["P50Ms"], v["P99Ms"], v["Non200"] + v["Failed"], f"{steal:.0f}")
except ValueError:
    print(target, transport, action, conns, 0, 0, 0, "no-result", f"{steal:.0f}")
EOF
  if [ "$rc" != 0 ]; then echo "$target $transport $action $conns: exit $rc: $(head -c 300 "$WORK/err")" >&2; fi
}

for transport in $TRANSPORTS; do
  # The baseline (hello, which ignores the action and checks nothing) and keywarden itself.
  start_servers "$transport"
  serve_pid=$SERVE_PID
  dir=$SERVE_DIR
  hello_args=("${HELLO_ARGS[@]}")

  for action in $ACTIONS; do
    for c in $CONNS; do
      for _ in $(seq "$REPEAT"); do
        KEYWARDEN_CONFIG="$WORK/none.json" run hello "$transport" "$action" "$c" "${hello_args[@]}"
        KEYWARDEN_CONFIG="$dir/config.json" run keywarden "$transport" "$action" "$c"
      done
    done
  done
  grep -E '^Vm(HWM|RSS)' "/proc/$serve_pid/status" | tr -s ' \t' ' ' | paste -sd ' ' |
    sed "s/^/keywarden serve ($transport) after the runs: /" >> "$WORK/rss"
  stop_all
done

echo "bench kms, ${DURATION} s per run after 1 s warm-up, median of ${REPEAT} interleaved runs," \
  "load generator on ${THREADS} thread(s), $(nproc) CPUs"
echo
python3 - "$WORK/rows" <<'EOF'
import statistics, sys
from collections import defaultdict

runs = defaultdict(list)
order = []
for line in open(sys.argv[1]):
    target, transport, action, conns, rate, p50, p99, errors, steal = line.split()
    key = (target, transport, action, conns)
    if key not in runs:
        order.append(key)
    runs[key].append((float(rate), float(p50), float(p99), errors, steal))

def median_run(key):
    """The run with the median rate (its p50 and p99 with it); the rates' range."""
    rs = sorted(runs[key])
    mid = rs[(len(rs) - 1) // 2]
    errors = sum(int(e) for *_, e, _ in rs if e.isdigit())
    bad = any(not e.isdigit() for *_, e, _ in rs)
    return mid, rs[0][0], rs[-1][0], "no-result" if bad else str(errors)

print("| transport | action | connections | hello req/s | keywarden req/s (range) | vs hello | p50 ms | p99 ms | hello p99 ms | steal % | errors |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for key in order:
    target, transport, action, conns = key
    if target != "keywarden":
        continue
    (rate, p50, p99, _, steal), lo, hi, errors = median_run(key)
    (hrate, _, hp99, _, hsteal), _, _, herrors = median_run(("hello", transport, action, conns))
    ratio = f"{rate / hrate:.2f}" if hrate else ""
    print(f"| {transport} | {action} | {conns} | {hrate:.0f} | {rate:.0f} ({lo:.0f}–{hi:.0f}) | {ratio} "
          f"| {p50:.3f} | {p99:.3f} | {hp99:.3f} | {steal} / {hsteal} | {errors} (hello {herrors}) |")
EOF
echo
cat "$WORK/rss"
