#!/bin/sh
# Runs cmocka test binaries; prints each suite's summary and a final
# "N passed, N failed" line. Exit status is non-zero on any failure.
passed=0 failed=0 broken=""
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^\[ *(PASSED|FAILED|  FAILED|==========) *\]|^\[  FAILED  \] ' 
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ] && [ -z "$f" ]; then
        printf '%s\n' "$out" | tail -20
        failed=$((failed + 1)); broken="$broken $t"
    fi
    [ $rc -ne 0 ] && broken="$broken $(basename "$t")"
done
echo "unit: $passed passed, $failed failed"
[ -n "$broken" ] && { echo "failing:$broken"; exit 1; }
exit 0
