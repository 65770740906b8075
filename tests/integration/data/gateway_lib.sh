# Shared by tests/integration/gateway_*.sh (sourced; POSIX sh).
#
# Starts gateways as real processes on loopback, waits on conditions with
# deadlines (never a fixed sleep), talks HTTP with curl, reads JSON with
# jq, counts checks and prints "N passed, N failed" at the end.
#
# A script sets PORT_BASE (its own range of 50 ports) before sourcing.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
B=${BUILD:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
GW=$B/bin/gateway
GWL=$B/bin/gateway-local
DATA=$HERE/data
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gwtest.XXXXXX")
TOKEN=integration-test-token-0123456789
CT='Content-Type: application/json'
pass=0
fail=0
PIDS=""

ok() {
    pass=$((pass + 1))
    echo "ok - $1"
}

nok() {
    fail=$((fail + 1))
    echo "FAIL - $1"
    [ -z "${2:-}" ] || echo "       $2"
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
    d=$1
    shift
    if "$@"; then ok "$d"; else nok "$d"; fi
}

need() {
    for t in "$@"; do
        if ! command -v "$t" >/dev/null 2>&1; then
            echo "FAIL - $t is not installed (the gateway tests need it)"
            echo "0 passed, 1 failed"
            exit 1
        fi
    done
}
need curl jq

# ------------------------------------------------------------ ports

# port VAR: a free TCP port from PORT_BASE on (each script has its own
# range) into VAR. Not $(port): the counter must live in this shell.
next_port=${PORT_BASE:-39000}
port() {
    while :; do
        p=$next_port
        next_port=$((next_port + 1))
        if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
            eval "$1=$p"
            return
        fi
    done
}

# ------------------------------------------------------------ processes

# start NAME BINARY ARGS...: runs in the background, logs in $TMP/NAME.log
# (stdout, the JSON lines) and $TMP/NAME.err; remembers the pid.
start() {
    name=$1
    shift
    "$@" >"$TMP/$name.log" 2>"$TMP/$name.err" &
    pid=$!
    eval "PID_$name=$pid"
    PIDS="$PIDS $pid"
}

pid_of() {
    eval "echo \${PID_$1:-}"
}

# wait_until SECONDS COMMAND...: polls the command until it succeeds.
wait_until() {
    limit=$1
    shift
    end=$(($(date +%s) + limit))
    while [ "$(date +%s)" -le "$end" ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.05
    done
    return 1
}

http_code() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"
}

is_code() {
    want=$1
    shift
    [ "$(http_code "$@")" = "$want" ]
}

# wait_http URL CODE [SECONDS]
wait_http() {
    wait_until "${3:-20}" is_code "$2" "$1"
}

# gone PID: the process has ended.
gone() {
    ! kill -0 "$1" 2>/dev/null
}

# stop NAME [SIGNAL]: signals the process (NONE: does not), waits (20 s)
# for it to end, and sets STOP_STATUS to its exit status (124 if it did
# not end).
stop() {
    p=$(pid_of "$1")
    STOP_STATUS=124
    [ -n "$p" ] || return 1
    [ "${2:-TERM}" = NONE ] || kill "-${2:-TERM}" "$p" 2>/dev/null
    if wait_until 20 gone "$p"; then
        wait "$p"
        STOP_STATUS=$?
    else
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    fi
    eval "PID_$1="
    return 0
}

cleanup() {
    for p in $PIDS; do
        kill -KILL "$p" 2>/dev/null
    done
    wait 2>/dev/null
    if [ "$fail" -ne 0 ] && [ -z "${KEEP_TMP:-}" ]; then
        for f in "$TMP"/*.err "$TMP"/*.log; do
            [ -s "$f" ] || continue
            echo "--- $(basename "$f") (last lines)"
            tail -5 "$f"
        done
    fi
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

# ------------------------------------------------------------ HTTP

# req METHOD URL [CURL ARGS...]: sets STATUS; the body is in $TMP/body and
# the headers in $TMP/headers.
req() {
    m=$1
    u=$2
    shift 2
    STATUS=$(curl -s -X "$m" -o "$TMP/body" -D "$TMP/headers" \
        -w '%{http_code}' --max-time 30 "$@" "$u")
}

# The value of a response header (case-insensitive name), without CR.
header() {
    grep -i "^$1:" "$TMP/headers" | head -1 | sed 's/^[^:]*: *//' | tr -d '\r'
}

# jq over the last body: raw strings, or compact JSON with bodyc.
body() {
    jq -r "$1" "$TMP/body" 2>/dev/null
}

bodyc() {
    jq -c "$1" "$TMP/body" 2>/dev/null
}

# expect_status DESCRIPTION CODE [ERROR_CODE]: checks the last response.
expect() {
    d=$1
    want=$2
    code=${3:-}
    got_code=""
    if [ -n "$code" ]; then got_code=$(body '.error.code'); fi
    if [ "$STATUS" = "$want" ] && { [ -z "$code" ] || [ "$got_code" = "$code" ]; }; then
        ok "$d"
    else
        nok "$d" "want $want ${code:-} got $STATUS $got_code: $(head -c 300 "$TMP/body")"
    fi
}

# Gateway flags common to every test gateway: its own db and schema folder.
# Every gateway a test starts takes an ephemeral UDP port for its swarm
# unless the test says otherwise: the default (8021) may be in use.
ACTORGATE_LISTEN=${ACTORGATE_LISTEN:-/ip4/127.0.0.1/udp/0/quic-v1}
export ACTORGATE_LISTEN
# A peer id nobody runs, at a port nothing serves: a bootstrap peer that is
# never reached, to see a gateway that is up but not ready.
UNREACHABLE_PEER=/ip4/127.0.0.1/udp/9/quic-v1/p2p/12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB

gw_flags() {
    # $1: name (files under $TMP), $2: HTTP port
    echo "--http 127.0.0.1:$2 --db $TMP/$1.db --log-level debug"
}

# The last JSON log line of NAME with event EVENT and a field equal to a
# value: log_has NAME 'select(.event=="request" and .status==404)'.
log_has() {
    jq -c "$2" "$TMP/$1.log" 2>/dev/null | grep -q .
}
