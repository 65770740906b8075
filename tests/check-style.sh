#!/bin/sh
# Style gate: clang-format clean, and no unbounded string functions.
set -u
cd "$(dirname "$0")/.." || exit 1
files=$(git ls-files '*.c' '*.h' 2>/dev/null)
[ -n "$files" ] || files=$(find actorlib gateway tests -name '*.[ch]')
rc=0
bad=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets)[[:space:]]*\(' $files)
if [ -n "$bad" ]; then
    echo "check-style: banned functions (use snprintf / memcpy with bounds):"
    echo "$bad"; rc=1
fi
if command -v clang-format >/dev/null 2>&1; then
    if ! clang-format --dry-run --Werror $files 2>/dev/null; then
        echo "check-style: clang-format differs; run 'make format'"
        clang-format --dry-run $files 2>&1 | grep -E '^[^ ].*(warning|error)' | head -20
        rc=1
    fi
fi
[ $rc -eq 0 ] && echo "check-style: ok ($(echo $files | wc -w) files)"
exit $rc
