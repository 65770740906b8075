#!/bin/sh
# Runs cmocka test binaries; prints each suite's cmocka summary and a final
# "N passed, N failed" line. Exit status is non-zero on any failure.
passed=0 failed=0 broken=""
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    name=$(basename "$t")
    printf '%s\n' "$out" | grep -E '^\[  (PASSED|FAILED)  \]' | sed "s/^/$name: /"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ]; then
        broken="$broken $name"
        # A crash leaves no cmocka summary: count it and show the tail.
        if [ -z "$f" ]; then
            failed=$((failed + 1))
            printf '%s\n' "$out" | tail -25
        else
            printf '%s\n' "$out" | grep -A3 -E '^\[  ERROR   \]' | head -40
        fi
    fi
done
echo "unit: $passed passed, $failed failed"
[ -z "$broken" ] || { echo "failing:$broken"; exit 1; }
