#!/usr/bin/env bash
# Fuzzes every target for a short while on the stable toolchain (no sanitizer: see README.md), after building
# them all once. Exits non-zero if any target crashed (a panic, a failed assertion, a timeout or running out of
# memory); the input that did it is left in fuzz/artifacts/<target>/.
#
#   SECONDS_PER_TARGET  how long each target is fuzzed (default 20)
#   FUZZ_TARGETS        the targets to run, space-separated (default: all of them)
#   FUZZ_TIMEOUT        seconds one input may take before it counts as a hang (default 20)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

SECONDS_PER_TARGET="${SECONDS_PER_TARGET:-20}"
FUZZ_TIMEOUT="${FUZZ_TIMEOUT:-20}"
read -r -a targets <<<"${FUZZ_TARGETS:-page_token list_filter vcard csv rrule itip_reply}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    started=$SECONDS
    cargo install cargo-fuzz --locked
    echo "fuzz: cargo-fuzz installed in $((SECONDS - started)) s"
fi

started=$SECONDS
cargo fuzz build -s none
echo "fuzz: all targets built in $((SECONDS - started)) s"

failed=()
for target in "${targets[@]}"; do
    # New inputs go to a scratch corpus under target/ (ignored, kept between local runs); the committed seeds in
    # corpus/<target> are read, never written.
    scratch="target/corpus/$target"
    log="target/fuzz-$target.log"
    mkdir -p "$scratch" "artifacts/$target"
    status=0
    cargo fuzz run "$target" -s none "$scratch" "corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout="$FUZZ_TIMEOUT" \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    if [[ $status -ne 0 ]]; then
        failed+=("$target")
        echo "fuzz: $target FAILED (exit $status); the last lines of $PWD/$log:"
        tail -n 60 "$log"
    else
        echo "fuzz: $target ok: ${runs:-?} runs in ${SECONDS_PER_TARGET} s, ${rate:-?} exec/s"
    fi
done

if [[ ${#failed[@]} -ne 0 ]]; then
    echo "fuzz: crashed: ${failed[*]} (reproducers in fuzz/artifacts/<target>/)"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash"
