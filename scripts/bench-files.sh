#!/usr/bin/env bash
# File-encryption benchmarks (issue 3), with references measured in the same run.
#
#   scripts/bench-files.sh [SIZE_GIB] [WORKDIR]      defaults: 4, a new directory under /var/tmp
#
# Prints a markdown report for docs/PERFORMANCE.md. Needs ~4.5x SIZE_GIB of free disk and runs a
# private `keywarden serve` (release build) on 127.0.0.1. Each figure is the median of RUNS runs.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_GIB=${1:-4}
WORK=${2:-$(mktemp -d /var/tmp/keywarden-bench.XXXXXX)}
RUNS=${RUNS:-3}
mkdir -p "$WORK"
cargo build --release -p keywarden >&2
KW="$PWD/target/release/keywarden"
export KEYWARDEN_CONFIG="$WORK/config.json"

"$KW" serve --data-dir "$WORK/data" --listen 127.0.0.1:0 >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do grep -q listening "$WORK/server.out" 2>/dev/null && [ -f "$KEYWARDEN_CONFIG" ] && break; sleep 0.1; done
KEY=$("$KW" kms CreateKey | python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["KeyId"])')
KEY2=$("$KW" kms CreateKey | python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["KeyId"])')

# median of the first field over RUNS runs of a command; also records max RSS (KiB) of the last run
TIMES="$WORK/times"
timed() {  # timed LABEL cmd...
  local label=$1; shift
  : > "$TIMES"
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$WORK/t" "$@" >/dev/null
    cat "$WORK/t" >> "$TIMES"
  done
  local med rss
  med=$(sort -n "$TIMES" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  rss=$(sort -n -k2 "$TIMES" | tail -1 | awk '{print $2}')
  printf '%s %s %s\n' "$label" "$med" "$rss" >> "$WORK/results"
}

BIG="$WORK/big.bin"
SMALL="$WORK/one.bin"
head -c "$((SIZE_GIB << 30))" /dev/urandom > "$BIG"
head -c "$((1 << 30))" /dev/urandom > "$SMALL"
head -c "$((256 << 20))" /dev/urandom > "$WORK/mid.bin"
cat "$BIG" > /dev/null
: > "$WORK/results"

timed "cat_to_devnull" sh -c "cat '$BIG' > /dev/null"
timed "cp" sh -c "rm -f '$WORK/copy'; cp --reflink=never '$BIG' '$WORK/copy'"
timed "cp_sync" sh -c "rm -f '$WORK/copy'; cp --reflink=never '$BIG' '$WORK/copy' && sync '$WORK/copy'"
rm -f "$WORK/copy"
timed "encrypt_file" sh -c "'$KW' encrypt --force --key-id '$KEY' '$BIG' -o '$WORK/big.kenv'"
timed "decrypt_file" sh -c "'$KW' decrypt --force '$WORK/big.kenv' -o '$WORK/big.out'"
cmp "$BIG" "$WORK/big.out"
rm -f "$WORK/big.out"
cat "$BIG" > /dev/null
timed "encrypt_devnull" "$KW" encrypt --key-id "$KEY" "$BIG" -o /dev/null
cat "$WORK/big.kenv" > /dev/null
timed "decrypt_devnull" "$KW" decrypt "$WORK/big.kenv" -o /dev/null
cat "$SMALL" > /dev/null
timed "encrypt_1g_devnull" "$KW" encrypt --key-id "$KEY" "$SMALL" -o /dev/null
: > "$WORK/rewrap_ms"
for k in "$KEY2" "$KEY" "$KEY2"; do
  t0=$(date +%s%N); "$KW" rewrap --key-id "$k" "$WORK/big.kenv"; t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000 )) >> "$WORK/rewrap_ms"
done
"$KW" bench range "$WORK/big.kenv" --reads 200 > "$WORK/range.json"

# The documented Python approach on 256 MiB, against keywarden on the same file.
VENV_PY=.venv/bin/python
if [ -x "$VENV_PY" ] && [ -f tests/compat/scripts/envelope_encrypt.py ]; then
  CREDS="$WORK/data/credentials.json"
  export KEYWARDEN_ENDPOINT; KEYWARDEN_ENDPOINT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Endpoint"])' "$KEYWARDEN_CONFIG")
  export ALIBABA_CLOUD_ACCESS_KEY_ID; ALIBABA_CLOUD_ACCESS_KEY_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["AccessKeyId"])' "$CREDS")
  export ALIBABA_CLOUD_ACCESS_KEY_SECRET; ALIBABA_CLOUD_ACCESS_KEY_SECRET=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["AccessKeySecret"])' "$CREDS")
  export KEYWARDEN_CA_FILE="$WORK/data/tls/ca.pem" KEYWARDEN_KEY_ID="$KEY"
  timed "python_seed_encrypt_256m" "$VENV_PY" tests/compat/scripts/envelope_encrypt.py "$WORK/mid.bin" "$WORK/mid.py.seed"
  timed "python_seed_decrypt_256m" "$VENV_PY" tests/compat/scripts/envelope_decrypt.py "$WORK/mid.py.seed" "$WORK/mid.py.out"
  cmp "$WORK/mid.bin" "$WORK/mid.py.out"
  timed "python_seed_encrypt_256m_null" "$VENV_PY" tests/compat/scripts/envelope_encrypt.py "$WORK/mid.bin" /dev/null
  timed "python_seed_decrypt_256m_null" "$VENV_PY" tests/compat/scripts/envelope_decrypt.py "$WORK/mid.py.seed" /dev/null
  unset KEYWARDEN_ENDPOINT ALIBABA_CLOUD_ACCESS_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET KEYWARDEN_CA_FILE
fi
timed "keywarden_encrypt_256m" sh -c "'$KW' encrypt --force --key-id '$KEY' '$WORK/mid.bin' -o '$WORK/mid.kenv'"
timed "keywarden_decrypt_256m" sh -c "'$KW' decrypt --force '$WORK/mid.kenv' -o '$WORK/mid.out'"
timed "keywarden_encrypt_256m_null" "$KW" encrypt --key-id "$KEY" "$WORK/mid.bin" -o /dev/null
timed "keywarden_decrypt_256m_null" "$KW" decrypt "$WORK/mid.kenv" -o /dev/null

python3 - "$WORK/results" "$WORK/range.json" "$SIZE_GIB" "$WORK/rewrap_ms" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    label, secs, rss = line.split()
    rows[label] = (float(secs), int(rss))
rng = json.load(open(sys.argv[2]))
gib = int(sys.argv[3])
size = gib << 30
def gbps(label, n=size): return n / rows[label][0] / 1e9
def line(label, what, n=size, ref=None):
    s, rss = rows[label]
    extra = f" | {s / rows[ref][0]:.2f}x {ref}" if ref else " |"
    print(f"| {what} | {s:.2f} s | {gbps(label, n):.2f} GB/s | {rss/1024:.0f} MiB{extra}")
print(f"Median of runs; {gib} GiB file in the page cache unless noted.\n")
print("| operation | time | throughput | peak RSS | ratio |\n|---|---|---|---|---|")
line("cat_to_devnull", f"reference: cat {gib} GiB > /dev/null")
line("cp", f"reference: cp {gib} GiB (page cache, no sync)")
line("cp_sync", f"reference: cp {gib} GiB + sync (durable)")
line("encrypt_file", "keywarden encrypt to a file (fsync + rename)", ref="cp_sync")
line("decrypt_file", "keywarden decrypt to a file (fsync + rename)", ref="cp_sync")
line("encrypt_devnull", "keywarden encrypt to /dev/null")
line("decrypt_devnull", "keywarden decrypt to /dev/null")
line("encrypt_1g_devnull", "keywarden encrypt 1 GiB to /dev/null", n=1 << 30)
rw = sorted(int(x) / 1000 for x in open(sys.argv[4]).read().split())
print(f"| keywarden rewrap of the {gib} GiB file (whole command: 2 KMS calls, in place) | median {rw[len(rw)//2]:.1f} ms (max {rw[-1]:.1f}) | | |")
print(f"| random 1 MiB read (bench range, {rng['Reads']} reads, after one unwrap) | median {rng['MedianMs']:.2f} ms, p99 {rng['P99Ms']:.2f} ms | | | open {rng['OpenMs']:.1f} ms |")
if "python_seed_encrypt_256m" in rows:
    for op in ("encrypt", "decrypt"):
        for suffix, where in (("", "to a file; keywarden fsyncs, the script does not"), ("_null", "to /dev/null")):
            py, kw = rows[f"python_seed_{op}_256m{suffix}"], rows[f"keywarden_{op}_256m{suffix}"]
            print(f"| 256 MiB {op} {where}: documented Python script vs keywarden | {py[0]:.2f} s vs {kw[0]:.2f} s | | {py[1]/1024:.0f} vs {kw[1]/1024:.0f} MiB | {py[0]/kw[0]:.1f}x faster |")
PY
