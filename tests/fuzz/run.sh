#!/bin/sh
# Runs every libFuzzer harness in DIR for FUZZ_SECONDS each, starting from
# its seed corpus (tests/fuzz/corpus/<harness>/). New inputs go to a scratch
# copy so the committed corpus stays small.
set -u
dir=$1
secs=${FUZZ_SECONDS:-10}
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0
# Crashing inputs are kept here for reproduction.
artifacts=${FUZZ_ARTIFACTS:-$(dirname "$dir")/artifacts}
mkdir -p "$artifacts"
for h in "$dir"/fuzz_*; do
    [ -x "$h" ] || continue
    name=$(basename "$h")
    work=$(mktemp -d)
    seeds="$here/corpus/$name"
    [ -d "$seeds" ] || seeds=""
    if "$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$artifacts/$name-" \
            -print_final_stats=0 "$work" $seeds >"$work.log" 2>&1; then
        echo "fuzz $name: ok ($(grep -c . "$work.log") log lines, ${secs}s)"
        passed=$((passed + 1))
    else
        echo "fuzz $name: FAILED"; tail -30 "$work.log"
        failed=$((failed + 1))
    fi
    rm -rf "$work" "$work.log"
done
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
