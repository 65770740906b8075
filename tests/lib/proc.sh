# Shared by the shell tests: pass/fail counting, a scratch folder, the
# background processes a test starts (always stopped at exit), and waiting
# on conditions with deadlines instead of fixed sleeps.
#
# Source it from a script two levels below the top (tests/X/name.sh). It
# sets root (the checkout), B (the build folder, absolute), work (scratch,
# removed at exit) and pids (append every background pid). A script that
# needs more cleanup defines cleanup_hook before exiting. KILL_SIGNAL picks
# how leftovers are stopped (default TERM).

root=$(cd "$(dirname "$0")/../.." && pwd)
B=${BUILD:-build}
case $B in /*) ;; *) B="$root/$B" ;; esac

passed=0 failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
# Prints the summary line the runners read and exits with the verdict.
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

work=$(mktemp -d)
pids=""
cleanup() {
    if command -v cleanup_hook >/dev/null 2>&1; then cleanup_hook; fi
    for p in $pids; do kill -"${KILL_SIGNAL:-TERM}" "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wait_line FILE PATTERN SECONDS: prints the first line of FILE matching
# PATTERN (grep -E), waiting for it up to SECONDS; non-zero on timeout.
wait_line() {
    end=$(($(date +%s) + $3))
    while [ "$(date +%s)" -le "$end" ]; do
        line=$(grep -E -m1 "$2" "$1" 2>/dev/null) && {
            printf '%s\n' "$line"
            return 0
        }
        sleep 0.05
    done
    return 1
}

# wait_count FILE PATTERN N SECONDS: until N lines of FILE match.
wait_count() {
    end=$(($(date +%s) + $4))
    while [ "$(date +%s)" -le "$end" ]; do
        [ "$(grep -cE "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
        sleep 0.05
    done
    return 1
}

# wait_exit PID SECONDS: waits for PID to end; its status, or 124.
wait_exit() {
    end=$(($(date +%s) + $2))
    while kill -0 "$1" 2>/dev/null; do
        [ "$(date +%s)" -le "$end" ] || return 124
        sleep 0.05
    done
    wait "$1"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
