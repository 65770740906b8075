#!/bin/sh
# Runs every integration test script (tests/integration/*.sh); each prints
# "N passed, N failed" last. Prints the total the same way.
set -u
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0 broken=""
for t in "$here"/integration/*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    out=$(BUILD=${BUILD:-build} sh "$t" 2>&1); rc=$?
    printf '%s\n' "$out" | sed "s/^/$name: /" | grep -E 'FAIL|passed, .* failed' || true
    last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
    p=${last%% passed*}; f=${last#*passed, }; f=${f%% failed*}
    [ -n "$last" ] || { p=0; f=1; printf '%s\n' "$out" | tail -20; }
    passed=$((passed + p)); failed=$((failed + f))
    [ $rc -eq 0 ] && [ "$f" = 0 ] || broken="$broken $name"
done
echo "integration: $passed passed, $failed failed"
[ -z "$broken" ] || { echo "failing:$broken"; exit 1; }
