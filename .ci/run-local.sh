#!/bin/sh
# make run: a local cluster on this machine: the example actor node
# (remote::MyActor registered as my_actor) and the gateway in front of it.
# State (host keys, the gateway's SQLite database) lives in .local/ so peer
# ids, schemas and the name cache survive a restart. Ctrl-C stops both.
set -u
B=${BUILD:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
state=${ACTORGATE_STATE:-$top/.local}
NODE_PORT=${NODE_PORT:-8020}
GW_PORT=${GW_PORT:-8021}
HTTP=${HTTP:-127.0.0.1:8080}
mkdir -p "$state"

node_pid="" gw_pid=""
stop() {
    for p in $gw_pid $node_pid; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in $gw_pid $node_pid; do
        wait "$p" 2>/dev/null
    done
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

fail() {
    echo "make run: $*" >&2
    exit 1
}

# wait_for TEST SECONDS: polls a condition until it holds or time runs out.
wait_for() {
    i=0
    while ! eval "$1"; do
        i=$((i + 1))
        [ $i -le $(($2 * 10)) ] || return 1
        sleep 0.1
    done
}

"$top/$B/bin/counter-node" --listen "/ip4/127.0.0.1/udp/$NODE_PORT/quic-v1" \
    --key "$state/node.key" --name my_actor >"$state/node.out" \
    2>"$state/node.err" &
node_pid=$!
wait_for 'grep -q "^LISTEN " "$state/node.out"' 30 ||
    fail "the counter node did not start: $(tail -3 "$state/node.err")"
addr=$(sed -n 's/^LISTEN //p' "$state/node.out" | head -1)

(cd "$top" && exec "$top/$B/bin/gateway" --http "$HTTP" \
    --listen "/ip4/127.0.0.1/udp/$GW_PORT/quic-v1" --bootstrap "$addr" \
    --key "$state/gateway.key" --db "$state/actorgate.db" \
    --schemas "$top/schemas" --admin-open) >"$state/gateway.log" \
    2>"$state/gateway.err" &
gw_pid=$!
wait_for "curl -s -o /dev/null -w '%{http_code}' http://$HTTP/readyz | grep -q 204" 60 ||
    fail "the gateway did not become ready: $(tail -3 "$state/gateway.err")"

cat <<EOF
actorgate is running:
  counter node  $addr
  gateway       http://$HTTP   (logs: $state/gateway.log)

Try:
  curl --json '{"amount":10}' http://$HTTP/v1/actors/my_actor/ask/Inc
  curl --json '{"amount":10}' http://$HTTP/v1/actors/my_actor/ask/Inc
  curl --json '{"text":"hello"}' http://$HTTP/v1/actors/my_actor/tell/LogMessage
  curl --json '{"amount":1000}' http://$HTTP/v1/actors/my_actor/ask/TryDec
  curl http://$HTTP/admin/actors
  curl http://$HTTP/openapi.json

Ctrl-C stops both.
EOF
first=$(curl -s --json '{"amount":10}' "http://$HTTP/v1/actors/my_actor/ask/Inc")
echo "first ask through the gateway: Inc {amount: 10} -> $first"
wait "$gw_pid"
