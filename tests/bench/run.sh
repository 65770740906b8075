#!/bin/sh
# make bench: every benchmark, each next to a baseline measured in the same
# run. Figures are printed, never asserted.
set -u
B=${BUILD:-build}
echo "== local actors (one loop) =="
"$B/bin/bench-local"

echo "== QUIC swarm: actorlib <-> actorlib (two nodes, two loop threads) =="
"$B/bin/bench-quic" local "${BENCH_SECONDS:-2}"

echo "== QUIC swarm: actorlib <-> js-libp2p (pings, one stream each) =="
here=$(cd "$(dirname "$0")/.." && pwd)/interop
INTEROP_SETUP="$here/setup.sh"
. "$here/setup.sh"
if interop_setup; then
    jslog=$(mktemp)
    "$NODE" "$here/peer.mjs" serve >"$jslog" 2>&1 &
    jspid=$!
    if line=$(wait_line "$jslog" '^LISTEN /ip4/127\.0\.0\.1/' 60); then
        "$B/bin/bench-quic" ping "${line#LISTEN }" 1000 \
            "ping actorlib -> js-libp2p (sequential)"
    else
        echo "js-libp2p node did not start"
    fi
    kill "$jspid" 2>/dev/null
    wait "$jspid" 2>/dev/null
    rm -f "$jslog"
    "$B/bin/swarm-ping" listen /ip4/127.0.0.1/udp/0/quic-v1 >"$jslog" 2>&1 &
    cpid=$!
    if line=$(wait_line "$jslog" '^LISTEN /ip4/127\.0\.0\.1/' 20); then
        "$NODE" "$here/peer.mjs" bench "${line#LISTEN }" 1000
    else
        echo "swarm-ping did not start"
    fi
    kill "$cpid" 2>/dev/null
    wait "$cpid" 2>/dev/null
    rm -f "$jslog"
else
    echo "js-libp2p unavailable: see tests/interop/setup.sh"
fi

sh "$(dirname "$0")/remote.sh"
sh "$(dirname "$0")/gateway.sh"
