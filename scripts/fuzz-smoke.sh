#!/usr/bin/env bash
# Fuzz smoke run on the stable toolchain. Builds fuzz/ (ONE libFuzzer binary holding every
# target, so it is built and linked once) with the sanitizer-coverage flags passed by hand (no
# cargo-fuzz, no nightly, no ASan), then runs each target on its committed corpus
# fuzz/corpus/<target>/ for $FUZZ_SECONDS seconds (default 60), $FUZZ_JOBS at a time
# (default 2). A crash, a slow input (-timeout) or too much memory (-rss_limit_mb) saves the
# input to fuzz/artifacts/<target>/ and fails the run; copy it into fuzz/corpus/<target>/
# once fixed, so it stays a regression test.
#
#   scripts/fuzz-smoke.sh                                 every target, 60 s each
#   FUZZ_SECONDS=600 FUZZ_TARGETS="sig request" scripts/fuzz-smoke.sh
#   FUZZ_MERGE=1 scripts/fuzz-smoke.sh                    also add what grew coverage to the corpus
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-60}"
jobs="${FUZZ_JOBS:-2}"
read -r -a targets <<<"${FUZZ_TARGETS:-request sig context policy header decrypt seed}"
host="$(rustc -vV | sed -n 's/^host: //p')"

# What cargo-fuzz passes, minus -Zsanitizer. With an explicit --target these flags reach only
# the fuzzed code, not build scripts and proc macros (which are not linked with libFuzzer).
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
export CARGO_TARGET_DIR="$PWD/target"
build_started=$SECONDS
cargo build --release --locked --target "$host" --bin keywarden-fuzz
echo "fuzz-smoke: built in $((SECONDS - build_started)) s"
bin="$CARGO_TARGET_DIR/$host/release/keywarden-fuzz"
scratch="$CARGO_TARGET_DIR/smoke"
rm -rf "$scratch"
mkdir -p "$scratch"

# One target: new inputs go to a scratch directory (listed first), the committed corpus is
# only read. Its exit status is libFuzzer's.
run_target() {
    local t="$1"
    mkdir -p "corpus/$t" "artifacts/$t" "$scratch/$t"
    FUZZ_TARGET="$t" "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" "$scratch/$t" "corpus/$t" \
        >"$scratch/$t.log" 2>&1
}

# Its outcome: one line when it passed, the end of its log when it failed.
report() {
    local t="$1" rc="$2"
    if [ "$rc" -eq 0 ]; then
        echo "fuzz-smoke: $t ok: $(grep -m1 -o 'Done [0-9]* runs in [0-9]* second(s)' "$scratch/$t.log" || echo 'done'), corpus $(find "corpus/$t" -type f | wc -l) files"
    else
        echo "fuzz-smoke: $t FAILED (exit $rc); input saved in fuzz/artifacts/$t/:"
        ls -l "artifacts/$t"
        tail -n 60 "$scratch/$t.log"
    fi
}

failed=0
declare -A pid_of=()
wait_one() {
    local done_pid rc=0
    wait -n -p done_pid "${!pid_of[@]}" || rc=$?
    report "${pid_of[$done_pid]}" "$rc"
    [ "$rc" -eq 0 ] || failed=1
    unset "pid_of[$done_pid]"
}
for t in "${targets[@]}"; do
    while [ "${#pid_of[@]}" -ge "$jobs" ]; do wait_one; done
    run_target "$t" &
    pid_of[$!]="$t"
done
while [ "${#pid_of[@]}" -gt 0 ]; do wait_one; done

if [ "${FUZZ_MERGE:-0}" = 1 ] && [ "$failed" -eq 0 ]; then
    for t in "${targets[@]}"; do
        FUZZ_TARGET="$t" "$bin" -merge=1 "corpus/$t" "$scratch/$t" >"$scratch/$t.merge.log" 2>&1
    done
fi
[ "$failed" -eq 0 ] || { echo "fuzz-smoke: FAILED"; exit 1; }
echo "fuzz-smoke: ${#targets[@]} targets, ${seconds} s each: no crash"
