#!/bin/sh
# Kademlia interop with js-libp2p's @libp2p/kad-dht (pinned in package.json)
# over QUIC v1 on 127.0.0.1, both ways:
#   actorlib (kad-tool) joins a js DHT server, puts /actorlib/a1, js reads
#   it; an actorlib server holding /actorlib/s1 only locally is dialed by
#   js, which finds the record over the network; js puts /actorlib/j1 and
#   an actorlib node that only knows js reads it; js refuses Kameo's raw
#   (namespace-less) keys, which js-libp2p cannot store.
# Prints "N passed, N failed" last; non-zero on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/proc.sh"
# The fifo writers that keep the js and actorlib servers alive.
cleanup_hook() { exec 4>&- 5>&- 2>/dev/null; }
KT="$B/bin/kad-tool"
INTEROP_SETUP="$here/setup.sh"
. "$here/setup.sh"

[ -x "$KT" ] || { bad "build $KT first (make tools)"; finish; }
interop_setup || { bad "js-libp2p setup"; finish; }
kv=$(sed -n 's/^ *"version": "\(.*\)",$/\1/p' "$here/node_modules/@libp2p/kad-dht/package.json")
echo "interop: node $("$NODE" --version), @libp2p/kad-dht $kv"

# js reads commands from a fifo (fd 4 here); actorlib servers keep running
# while their stdin fifo (fd 5 here) stays open.
mkfifo "$work/js.in" "$work/hold"
"$NODE" "$here/kad.mjs" <"$work/js.in" >"$work/js.log" 2>&1 &
pids="$pids $!"
exec 4>"$work/js.in"
exec 5<>"$work/hold"

# js_do COMMAND SECONDS: sends a command to js and prints its answer (js
# answers every command with one line, in order).
answers='^(PUT|GET|DIAL|PEERS|ERR) '
js_do() {
    before=$(grep -cE "$answers" "$work/js.log")
    echo "$1" >&4
    end=$(($(date +%s) + $2))
    while [ "$(date +%s)" -le "$end" ]; do
        if [ "$(grep -cE "$answers" "$work/js.log")" -gt "$before" ]; then
            grep -E "$answers" "$work/js.log" | sed -n "$((before + 1))p"
            return 0
        fi
        sleep 0.05
    done
    return 1
}

if js_line=$(wait_line "$work/js.log" '^LISTEN /ip4/127\.0\.0\.1/' 60); then
    js_addr=${js_line#LISTEN }
    ok "js DHT server listens on $js_addr"
else
    bad "js node did not print LISTEN"; cat "$work/js.log"; finish
fi

# --- actorlib puts, js reads ----------------------------------------------
"$KT" --serve --bootstrap "$js_addr" put /actorlib/a1 from-actorlib \
    put my_actor raw-name <"$work/hold" 5>&- >"$work/a.log" 2>&1 &
pids="$pids $!"
if wait_line "$work/a.log" '^DONE$' 60 >/dev/null &&
   grep -qx 'BOOTSTRAP OK' "$work/a.log"; then
    ok "js answered actorlib's FIND_NODE (bootstrap)"
else
    bad "bootstrap through js"; cat "$work/a.log"
fi
if grep -qx 'PUT /actorlib/a1 OK' "$work/a.log"; then
    ok "js acknowledged actorlib's PUT_VALUE of /actorlib/a1"
else
    bad "PUT_VALUE to js"; cat "$work/a.log"
fi
if grep -qx 'PUT my_actor ENOTFOUND' "$work/a.log"; then
    ok "js refuses a raw-name key (its DHT requires /namespace/ keys): quorum failed"
else
    bad "raw-name key: expected js to refuse it"; cat "$work/a.log"
fi
if r=$(js_do 'get /actorlib/a1' 40) && [ "$r" = 'GET VALUE from-actorlib' ]; then
    ok "js reads the record actorlib put ($r)"
else
    bad "js get /actorlib/a1: ${r:-no answer}"; cat "$work/js.log"
fi

# --- js finds a record only an actorlib server has -------------------------
"$KT" --serve put /actorlib/s1 only-at-s <"$work/hold" 5>&- >"$work/s.log" 2>&1 &
pids="$pids $!"
if s_line=$(wait_line "$work/s.log" '^LISTEN ' 20) &&
   wait_line "$work/s.log" '^PUT /actorlib/s1 OK$' 20 >/dev/null; then
    s_addr=${s_line#LISTEN }
else
    bad "actorlib server S did not start"; cat "$work/s.log"; finish
fi
if r=$(js_do "dial $s_addr" 30) && [ "$r" = 'DIAL OK' ]; then
    ok "js dialed actorlib server S"
else
    bad "js dial S: ${r:-no answer}"
fi
# js adds S to its routing table once identify shows /ipfs/kad/1.0.0.
end=$(($(date +%s) + 20)) peers=0
while [ "$(date +%s)" -le "$end" ]; do
    r=$(js_do peers 10) && peers=${r#PEERS }
    [ "${peers:-0}" -ge 2 ] && break
    sleep 0.2
done
if [ "${peers:-0}" -ge 2 ]; then
    ok "js put both actorlib servers in its routing table (identify advertises /ipfs/kad/1.0.0)"
else
    bad "js routing table has ${peers:-?} peers"
fi
if r=$(js_do 'get /actorlib/s1' 40) && [ "$r" = 'GET VALUE only-at-s' ]; then
    ok "js found a record that only actorlib server S holds ($r)"
else
    bad "js get /actorlib/s1: ${r:-no answer}"; cat "$work/js.log"
fi

# --- js puts, actorlib reads -----------------------------------------------
if r=$(js_do 'put /actorlib/j1 from-js' 40) && [ "${r%% *}" = PUT ] &&
   [ "$(echo "$r" | cut -d' ' -f2)" = OK ]; then
    ok "js put /actorlib/j1 ($r: FIND_NODE and PUT_VALUE answered by actorlib)"
else
    bad "js put: ${r:-no answer}"; cat "$work/js.log"
fi
if timeout 60 "$KT" --listen none --bootstrap "$js_addr" get /actorlib/j1 \
        >"$work/c.log" 2>&1 && grep -qx 'GET /actorlib/j1 VALUE from-js' "$work/c.log"; then
    ok "actorlib, knowing only js, reads the record js put"
else
    bad "actorlib get /actorlib/j1"; cat "$work/c.log"
fi
if timeout 60 "$KT" --listen none --bootstrap "$js_addr" get /actorlib/none \
        >"$work/c2.log" 2>&1; [ $? -ne 124 ] && grep -qx 'GET /actorlib/none NOTFOUND' "$work/c2.log"; then
    ok "a key nobody has is not found"
else
    bad "missing key"; cat "$work/c2.log"
fi

exec 4>&- 5>&-
for p in $pids; do wait "$p" 2>/dev/null; done
pids=""
finish
