# Shared by bench-kms.sh and bench-cpu.sh (sourced, not run, from the repository root): the
# release build, a scratch dir, and the two servers a benchmark compares.

# bench_init NAME: builds the release binary (KW), makes WORK=/tmp/keywarden-NAME.XXXXXX and sets
# a trap that stops every server started (PIDS) and removes WORK on exit.
bench_init() {
  WORK=$(mktemp -d "/tmp/keywarden-$1.XXXXXX")
  cargo build --release -p keywarden >&2
  KW="$PWD/target/release/keywarden"
  PIDS=()
  trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
}

# wait_for FILE PATTERN: until FILE holds a line matching PATTERN (10 s at most).
wait_for() {
  for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; exit 1
}

# start_servers TRANSPORT (http|https): `keywarden bench hello` and `keywarden serve` (a fresh
# data dir under WORK, rate limit off, KEYWARDEN_LOG=warn), both on 127.0.0.1. Sets HELLO_PID,
# HELLO_ARGS (the global options that point `bench kms` at hello: any credentials), SERVE_PID and
# SERVE_DIR (whose config.json points `bench kms` at keywarden, as KEYWARDEN_CONFIG).
start_servers() {
  local transport=$1
  "$KW" bench hello $([ "$transport" = https ] && echo --tls --cert-dir "$WORK/hello-certs") \
    > "$WORK/hello.out" 2> "$WORK/hello.log" &
  HELLO_PID=$!
  PIDS+=($HELLO_PID)
  wait_for "$WORK/hello.out" "listening on"
  local ep
  ep=$(sed -n 's/.*listening on //p' "$WORK/hello.out")
  HELLO_ARGS=(--endpoint "$ep" --access-key-id bench --access-key-secret bench)
  [ "$transport" = https ] && HELLO_ARGS+=(--ca-file "$WORK/hello-certs/tls/ca.pem")

  SERVE_DIR="$WORK/serve-$transport"
  mkdir -p "$SERVE_DIR"
  KEYWARDEN_LOG=warn KEYWARDEN_CONFIG="$SERVE_DIR/config.json" "$KW" serve \
    --data-dir "$SERVE_DIR/data" --listen 127.0.0.1:0 --rate-limit 0 \
    $([ "$transport" = http ] && echo --no-tls) > "$SERVE_DIR/serve.out" 2> "$SERVE_DIR/serve.log" &
  SERVE_PID=$!
  PIDS+=($SERVE_PID)
  wait_for "$SERVE_DIR/serve.out" "listening on"
  wait_for "$SERVE_DIR/config.json" "127.0.0.1"
}
