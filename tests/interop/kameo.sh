#!/bin/sh
# /kameo/1 between actorlib and a js-libp2p peer whose CBOR is written by
# hand (kameo.mjs), both directions: js asks and tells counter-node (every
# byte of the request made in js), and actorlib asks and tells a js server
# that prints the request it decoded, and reports a reply that does not
# decode, or answers another kind, as BadReply. Like a Kameo 0.12-0.17
# node, the js peer runs neither identify nor ping. Prints "N passed,
# N failed" last; non-zero on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/proc.sh"
NODE_BIN="$B/bin/counter-node"
PROBE="$B/bin/remote-probe"
INC=3b9128f1-0593-44a0-b83a-f4188baa05bf
LOG=0dceb24a-837b-4ea2-91ea-1729acaf410b
INTEROP_SETUP="$here/setup.sh"
. "$here/setup.sh"

for bin in "$NODE_BIN" "$PROBE"; do
    [ -x "$bin" ] || { bad "build $bin first (make all tools)"; finish; }
done
interop_setup || { bad "js-libp2p setup"; finish; }

# --- js asks actorlib ---------------------------------------------------
"$NODE_BIN" --listen /ip4/127.0.0.1/udp/0/quic-v1 >"$work/node.log" 2>&1 &
pids="$pids $!"
line=$(wait_line "$work/node.log" '^LISTEN ' 30) || { bad "counter-node did not start"; finish; }
addr=${line#LISTEN }

# js CMD ARGS... WANT: one kameo.mjs run, its RESPONSE line compared.
js() {
    what=$1 want=$2
    shift 2
    out=$(timeout 60 "$NODE" "$here/kameo.mjs" "$@" 2>&1)
    if [ "$(printf '%s\n' "$out" | grep '^RESPONSE ')" = "RESPONSE $want" ]; then
        ok "$what: $want"
    else
        bad "$what: want $want"
        printf '%s\n' "$out"
    fi
}

js "js asks Inc 10" '{"Ask":{"Ok":[10]}}' \
    ask "$addr" 0 remote::MyActor "$INC" 81a6616d6f756e740a
js "js asks Inc 10 again" '{"Ask":{"Ok":[20]}}' \
    ask "$addr" 0 remote::MyActor "$INC" 81a6616d6f756e740a
js "js tells LogMessage" '{"Tell":{"Ok":[]}}' \
    tell "$addr" 0 remote::MyActor "$LOG" 81a474657874a26869
js "js asks an unknown message" \
    '{"Ask":{"Err":{"UnknownMessage":{"actor_remote_id":"remote::MyActor","message_remote_id":"nope"}}}}' \
    ask "$addr" 0 remote::MyActor nope 810a
js "js asks an actor that is not there" '{"Ask":{"Err":"ActorNotRunning"}}' \
    ask "$addr" 7 remote::MyActor "$INC" 81a6616d6f756e740a

# --- actorlib asks js ---------------------------------------------------
"$NODE" "$here/kameo.mjs" serve >"$work/js.log" 2>&1 &
pids="$pids $!"
line=$(wait_line "$work/js.log" '^LISTEN /ip4/127\.0\.0\.1/' 60) || { bad "js server did not start"; cat "$work/js.log"; finish; }
js_addr=${line#LISTEN }
js_peer_hex=$(grep -m1 '^PEER_ID_HEX ' "$work/js.log")
js_peer_hex=${js_peer_hex#PEER_ID_HEX }

if timeout 30 "$PROBE" --bootstrap "$js_addr" askid 3 remote::MyActor "$INC" \
    81a6616d6f756e740a >"$work/p.log" 2>&1 &&
    grep -qE '^ASK 0 OK [0-9]+ 81a6616d6f756e740a$' "$work/p.log"; then
    ok "actorlib asked js and got the echoed payload back"
else
    bad "actorlib -> js ask"
    cat "$work/p.log" "$work/js.log"
fi
want='REQUEST {"Ask":{"actor_id":{"bytes":"0300000000000000'$js_peer_hex'"},"actor_remote_id":"remote::MyActor","message_remote_id":"'$INC'","payload":[129,166,97,109,111,117,110,116,10],"mailbox_timeout":null,"reply_timeout":null,"immediate":false}}'
if wait_line "$work/js.log" '^REQUEST \{"Ask"' 10 | grep -qxF "$want"; then
    ok "js decoded actorlib's Ask field by field"
else
    bad "the Ask js saw"
    grep REQUEST "$work/js.log"
    echo "want: $want"
fi
if timeout 30 "$PROBE" --bootstrap "$js_addr" tellid 3 remote::MyActor "$LOG" \
    81a474657874a26869 >"$work/t.log" 2>&1 && grep -qx 'TELL OK' "$work/t.log"; then
    ok "actorlib told js"
else
    bad "actorlib -> js tell"
    cat "$work/t.log"
fi
want='REQUEST {"Tell":{"actor_id":{"bytes":"0300000000000000'$js_peer_hex'"},"actor_remote_id":"remote::MyActor","message_remote_id":"'$LOG'","payload":[129,164,116,101,120,116,162,104,105],"mailbox_timeout":null,"immediate":false}}'
if wait_line "$work/js.log" '^REQUEST \{"Tell"' 10 | grep -qxF "$want"; then
    ok "js decoded actorlib's Tell (no reply_timeout)"
else
    bad "the Tell js saw"
    grep REQUEST "$work/js.log"
fi
for m in garbage wrong-kind; do
    timeout 30 "$PROBE" --bootstrap "$js_addr" askid 3 remote::MyActor "$m" \
        810a >"$work/g.log" 2>&1
    if grep -qE '^ASK 0 BadReply [0-9]+ .+' "$work/g.log"; then
        ok "a $m reply: $(grep -o 'BadReply.*' "$work/g.log")"
    else
        bad "a $m reply"
        cat "$work/g.log"
    fi
done
finish
