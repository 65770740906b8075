#!/bin/sh
# The gateway and the counter example node over the swarm (libp2p QUIC,
# Kademlia, /kameo/1): the rows of data/gateway_swarm.tsv, peers and
# metrics, the name cache across a gateway restart, and kill -9 of the
# actor's node (503 or 504 within the deadline, recovery after it restarts).
#
# Every check here needs the swarm and remote layers of actorlib and the
# counter-node example (issue 4: `counter-node [--listen MULTIADDR]
# [--key FILE] [--name NAME]` printing `PEER_ID <id>` and `LISTEN <addr>`).
# Until both exist the script says so and counts nothing.
PORT_BASE=39700
. "$(dirname "$0")/data/gateway_lib.sh"

NODE=$B/bin/counter-node
mkdir -p "$TMP/schemas"
cp "$ROOT/schemas/counter.json" "$TMP/schemas/"
port P
G=http://127.0.0.1:$P
U=$G/v1/actors

if [ ! -x "$NODE" ]; then
    echo "SKIP - $NODE is not built yet: the swarm rows wait for the remote layer"
    finish
    exit $?
fi
start probe "$GW" --http 127.0.0.1:$P --db "$TMP/probe.db" --schemas "$TMP/schemas" \
    --admin-open --listen /ip4/127.0.0.1/udp/0/quic-v1
wait_http "$G/healthz" 204
swarm=$(curl -s "$G/admin/info" | jq -r .swarm)
stop probe TERM
if [ "$swarm" = unavailable ]; then
    echo "SKIP - this libactorlib has no swarm layer: the swarm rows wait for it"
    finish
    exit $?
fi

# ------------------------------------------------------------ the node

UDP_NODE=$((PORT_BASE + 40))
UDP_GW=$((PORT_BASE + 41))
start_node() {
    start node "$NODE" --listen "/ip4/127.0.0.1/udp/$UDP_NODE/quic-v1" \
        --key "$TMP/node.key" --name my_actor
    wait_until 30 grep -q '^LISTEN /' "$TMP/node.log"
}
check "counter node up" start_node
ADDR=$(grep '^LISTEN /' "$TMP/node.log" | head -1 | cut -d' ' -f2)
case $ADDR in */p2p/12D3KooW*) ok "node address $ADDR" ;; *) nok "node address: $ADDR" ;; esac
flags="--http 127.0.0.1:$P --db $TMP/gw.db --schemas $TMP/schemas --admin-open
 --listen /ip4/127.0.0.1/udp/$UDP_GW/quic-v1 --bootstrap $ADDR --key $TMP/gw.key"
start gw "$GW" $flags
check "gateway ready once connected to the node" wait_http "$G/readyz" 204 30

# ------------------------------------------------------------ rows

tab=$(printf '\t')
while IFS="$tab" read -r method path hdrs bdy status code reply what; do
    case $method in '#'* | '') continue ;; esac
    set -f
    set -- -X "$method"
    if [ "$hdrs" != - ]; then
        old=$IFS
        IFS='|'
        for h in $hdrs; do set -- "$@" -H "$h"; done
        IFS=$old
    fi
    [ "$bdy" = - ] || set -- "$@" --data-binary "$bdy"
    set +f
    STATUS=$(curl -s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' --max-time 30 "$@" "$G$path")
    [ "$code" = - ] && code=""
    expect "swarm: $what" "$status" "$code"
    if [ "$reply" != - ] && [ "$(cat "$TMP/body")" != "$reply" ]; then
        nok "swarm: $what: reply $(cat "$TMP/body"), want $reply"
    fi
done <"$DATA/gateway_swarm.tsv"

req GET "$G/admin/peers"
[ "$(body 'length')" -ge 1 ] && ok "admin/peers lists the node" || nok "peers: $(cat "$TMP/body")"
req GET "$G/admin/info"
case $(body .peer_id) in 12D3KooW*) ok "admin/info peer id" ;; *) nok "peer id $(body .peer_id)" ;; esac
req GET "$G/metrics"
grep -q '^actorgate_swarm_peers [1-9]' "$TMP/body" && ok "metrics: peers" || nok "metrics peers"
grep -q '^actorgate_ready 1$' "$TMP/body" && ok "metrics: ready" || nok "metrics ready"

# ------------------------------------------------------------ restart

stop gw TERM
start gw "$GW" $flags
check "gateway restarted" wait_http "$G/readyz" 204 30
req GET "$G/admin/actors/my_actor"
expect "the resolved name survived the restart" 200
case $(body .peer_id) in "${ADDR##*/p2p/}") ok "cached peer id is the node's" ;; *) nok "cached peer $(body .peer_id)" ;; esac

# ------------------------------------------------------------ kill -9

stop node KILL
t0=$(date +%s)
req POST "$U/my_actor/ask/Inc" -H "$CT" -H "X-Timeout-Ms: 2000" -d '{"amount":1}'
t1=$(date +%s)
case $STATUS in 503 | 504) ok "kill -9 of the node: $STATUS $(body .error.code)" ;; *) nok "after kill -9: $STATUS $(cat "$TMP/body")" ;; esac
[ $((t1 - t0)) -le 5 ] && ok "answered within the deadline ($((t1 - t0)) s)" || nok "took $((t1 - t0)) s"
check "node restarted" start_node
recovered() {
    [ "$(http_code -X POST -H "$CT" -H "X-Timeout-Ms: 2000" -d '{"amount":1}' "$U/my_actor/ask/Inc")" = 200 ]
}
check "asks succeed again after the node restarts" wait_until 60 recovered
stop gw TERM
[ "$STOP_STATUS" = 0 ] && ok "gateway exit 0" || nok "exit $STOP_STATUS"
stop node TERM
finish
