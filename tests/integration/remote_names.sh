#!/bin/sh
# Remote actors between processes over QUIC on 127.0.0.1: three counter
# nodes A, B, C (B bootstraps from A, C only from B) each register
# remote::MyActor under a name; clients that know only C find A's actor
# through the DHT and ask and tell it; the error rows of /kameo/1 come back
# as Kameo names them; every node stops gracefully on SIGTERM.
# Prints "N passed, N failed" last.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/proc.sh"
NODE="$B/bin/counter-node"
CLIENT="$B/bin/counter-client"
PROBE="$B/bin/remote-probe"
LISTEN=/ip4/127.0.0.1/udp/0/quic-v1
INC=3b9128f1-0593-44a0-b83a-f4188baa05bf
TRYDEC=9c4e2a71-8b3d-4f6a-a1e5-3d7b9c2f8e14

for bin in "$NODE" "$CLIENT" "$PROBE"; do
    [ -x "$bin" ] || { bad "build $bin first (make all tools)"; finish; }
done

# start NAME LOG ARGS...: a counter node; sets addr and peer.
start() {
    name=$1 log=$2
    shift 2
    AL_LOG=info "$NODE" --listen "$LISTEN" --name "$name" "$@" \
        >"$log" 2>"$log.err" &
    last_pid=$!
    pids="$pids $last_pid"
    if line=$(wait_line "$log" '^LISTEN ' 30); then
        addr=${line#LISTEN }
        peer=$(wait_line "$log" '^PEER_ID ' 1)
        peer=${peer#PEER_ID }
        return 0
    fi
    cat "$log" "$log.err"
    return 1
}

start alpha "$work/a.log" || { bad "A did not start"; finish; }
a_pid=$last_pid a_addr=$addr a_peer=$peer
ok "A registered alpha and listens on $a_addr"
start beta "$work/b.log" --bootstrap "$a_addr" || { bad "B did not start"; finish; }
b_pid=$last_pid b_addr=$addr
ok "B, bootstrapped from A, registered beta"
start gamma "$work/c.log" --bootstrap "$b_addr" || { bad "C did not start"; finish; }
c_pid=$last_pid c_addr=$addr
ok "C, bootstrapped from B only, registered gamma"

# A lookup from C's side finds alpha on A: C was never given A's address.
if timeout 30 "$PROBE" --bootstrap "$c_addr" lookup alpha remote::MyActor \
    >"$work/l.log" 2>&1 &&
    grep -qE "^LOOKUP OK $a_peer [0-9]+ remote::MyActor$" "$work/l.log"; then
    ok "alpha, looked up through C, names A's actor"
else
    bad "lookup of alpha through C"
    cat "$work/l.log"
fi

# The seed's flow: two asks of 10 reply 10 then 20, then a tell.
if timeout 30 "$CLIENT" --bootstrap "$c_addr" --name alpha --amount 10 \
    --times 2 >"$work/cl.log" 2>&1 &&
    [ "$(cat "$work/cl.log")" = "$(printf 'Incremented count: 10\nIncremented count: 20')" ]; then
    ok "counter-client through C: Incremented count 10, then 20"
else
    bad "counter-client asks"
    cat "$work/cl.log"
fi
if wait_line "$work/a.log.err" 'LogMessage: Logging event' 10 >/dev/null; then
    ok "the LogMessage tell reached A's actor"
else
    bad "tell not handled on A"
    cat "$work/a.log.err"
fi

# A third client sees the count go on (the same actor, not a copy).
if timeout 30 "$CLIENT" --bootstrap "$b_addr" --name alpha --amount 5 \
    >"$work/cl2.log" 2>&1 &&
    [ "$(cat "$work/cl2.log")" = "Incremented count: 25" ]; then
    ok "a client through B continues the count: 25"
else
    bad "second client"
    cat "$work/cl2.log"
fi

# A bootstrap address without /p2p/: the handshake says whose it is, and
# that peer id goes into the routing table with it.
if timeout 30 "$CLIENT" --bootstrap "${b_addr%/p2p/*}" --name beta --amount 7 \
    >"$work/cl4.log" 2>&1 &&
    [ "$(cat "$work/cl4.log")" = "Incremented count: 7" ]; then
    ok "a client given B's address without /p2p/ finds beta: 7"
else
    bad "bootstrap without /p2p/"
    cat "$work/cl4.log"
fi
if timeout 30 "$CLIENT" --bootstrap /ip4/127.0.0.1/udp/9/quic-v1 --name alpha \
    >"$work/cl5.log" 2>&1; then
    bad "a client whose only bootstrap peer is not there succeeded"
else
    grep -q 'no bootstrap peer reached' "$work/cl5.log" &&
        ok "an unreachable bootstrap address: non-zero, 'no bootstrap peer reached'" ||
        { bad "unreachable bootstrap: message"; cat "$work/cl5.log"; }
fi

# D joins through A. A client that knows only A finds delta's record on A,
# which does not say where D is: the ask reaches D through peer routing (a
# FIND_NODE towards D's id), as the gateway in a cluster does.
start delta "$work/d.log" --bootstrap "$a_addr" || { bad "D did not start"; finish; }
d_pid=$last_pid
if timeout 30 "$CLIENT" --bootstrap "$a_addr" --name delta --amount 3 \
    >"$work/cl3.log" 2>&1 &&
    [ "$(cat "$work/cl3.log")" = "Incremented count: 3" ]; then
    ok "a client that knows only A reaches D's actor: 3"
else
    bad "peer routing to D"
    cat "$work/cl3.log"
fi

if ! timeout 30 "$CLIENT" --bootstrap "$c_addr" --name nobody \
    >"$work/nf.log" 2>&1 &&
    grep -qx 'counter-client: lookup nobody: not found' "$work/nf.log"; then
    ok "an unknown name: counter-client exits non-zero with 'not found'"
else
    bad "unknown name"
    cat "$work/nf.log"
fi

# probe NAME EXPECTED_PATTERN ARGS...: one remote-probe run through C.
probe() {
    what=$1 want=$2
    shift 2
    timeout 30 "$PROBE" --bootstrap "$c_addr" "$@" >"$work/p.log" 2>&1
    if grep -qE "$want" "$work/p.log"; then
        ok "$what"
    else
        bad "$what"
        cat "$work/p.log"
    fi
}

probe "lookup with another actor type: BadActorType" '^LOOKUP BadActorType$' \
    lookup alpha remote::OtherActor
probe "unknown message: UnknownMessage with both ids" \
    '^ASK 0 UnknownMessage [0-9]+ actor remote::MyActor, message 00000000-0000-0000-0000-000000000000$' \
    ask alpha remote::MyActor 00000000-0000-0000-0000-000000000000 810a
probe "a message of another actor type: UnknownMessage" \
    '^ASK 0 UnknownMessage [0-9]+ actor remote::OtherActor' \
    ask alpha remote::OtherActor "$INC" 81a6616d6f756e740a
probe "a payload that does not decode: DeserializeMessage" \
    '^ASK 0 DeserializeMessage [0-9]+ .+' \
    ask alpha remote::MyActor "$INC" 81a6616d6f756e74a178
probe "TryDec below zero: HandlerError" '^ASK 0 HandlerError ' \
    ask alpha remote::MyActor "$TRYDEC" 81a6616d6f756e74cd03e8
# Inc { amount: 1 } -> 26 (MessagePack 1a), the reply bytes as Kameo sends.
probe "a raw ask: the MessagePack reply" '^ASK 0 OK [0-9]+ 1a$' \
    ask alpha remote::MyActor "$INC" 81a6616d6f756e7401
probe "a tell to C's own actor" '^TELL OK$' \
    tell gamma remote::MyActor 0dceb24a-837b-4ea2-91ea-1729acaf410b \
    81a474657874a26869

# Graceful stops: CONNECTION_CLOSE to peers, exit 0, quickly.
for n in d c b a; do
    eval "p=\$${n}_pid"
    kill -TERM "$p"
    if wait_exit "$p" 10; then
        ok "$(echo "$n" | tr a-d A-D) exits 0 on SIGTERM"
    else
        bad "$(echo "$n" | tr a-d A-D) on SIGTERM"
        cat "$work/$n.log.err"
    fi
done
pids=""
finish
