#!/bin/sh
# kill -9 of the node that hosts the actor, in the middle of asks: every
# pending ask ends with an error within its request timeout (3 s for a
# stream of asks, the 10 s default for one long ask), none hangs, and the
# surviving node keeps serving its own actor.
# Prints "N passed, N failed" last.
set -u
here=$(cd "$(dirname "$0")" && pwd)
KILL_SIGNAL=9
. "$here/../lib/proc.sh"
NODE="$B/bin/counter-node"
CLIENT="$B/bin/counter-client"
PROBE="$B/bin/remote-probe"
LISTEN=/ip4/127.0.0.1/udp/0/quic-v1
INC=3b9128f1-0593-44a0-b83a-f4188baa05bf
SLEEP=c7a9e3b2-5d41-4e8f-b6a0-2f9d8c1e7a53
TIMEOUT_MS=3000
SLACK_MS=2000 # scheduling on a shared machine

for bin in "$NODE" "$CLIENT" "$PROBE"; do
    [ -x "$bin" ] || { bad "build $bin first (make all tools)"; finish; }
done

"$NODE" --listen "$LISTEN" --name alpha >"$work/a.log" 2>&1 &
a_pid=$!
pids="$pids $a_pid"
line=$(wait_line "$work/a.log" '^LISTEN ' 30) || { bad "A did not start"; cat "$work/a.log"; finish; }
a_addr=${line#LISTEN }
"$NODE" --listen "$LISTEN" --name beta --bootstrap "$a_addr" >"$work/b.log" 2>&1 &
b_pid=$!
pids="$pids $b_pid"
line=$(wait_line "$work/b.log" '^LISTEN ' 30) || { bad "B did not start"; cat "$work/b.log"; finish; }
b_addr=${line#LISTEN }
ok "A (alpha) and B (beta) are up"

# A stream of asks, 16 in flight, to alpha through B...
"$PROBE" --bootstrap "$b_addr" --timeout "$TIMEOUT_MS" --inflight 16 \
    ask alpha remote::MyActor "$INC" 81a6616d6f756e7401 100000000 \
    >"$work/stream.log" 2>&1 &
s_pid=$!
pids="$pids $s_pid"
# ... and one long ask (Sleep 60 s) under the default 10 s timeout.
"$PROBE" --bootstrap "$b_addr" \
    ask alpha remote::MyActor "$SLEEP" 81a26d73cdea60 \
    >"$work/long.log" 2>&1 &
l_pid=$!
pids="$pids $l_pid"

if wait_count "$work/stream.log" '^ASK [0-9]+ OK ' 500 30 &&
    wait_line "$work/long.log" '^SENT$' 30 >/dev/null; then
    ok "asks are flowing ($(grep -c '^ASK [0-9]* OK ' "$work/stream.log") answered so far)"
else
    bad "asks did not flow"
    cat "$work/stream.log" "$work/long.log"
    finish
fi

kill -9 "$a_pid"
killed=$(now_ms)
answered=$(grep -c '^ASK [0-9]* OK ' "$work/stream.log")

if wait_exit "$s_pid" 30; then
    bad "the stream prober should report failures"
else
    rc=$?
    [ "$rc" -eq 124 ] && { bad "the stream of asks hung"; finish; }
fi
ended=$(now_ms)
errors=$(grep -E '^ASK [0-9]+ ' "$work/stream.log" | grep -vc ' OK ')
late=$(grep -E '^ASK [0-9]+ ' "$work/stream.log" | grep -v ' OK ' |
    awk -v max=$((TIMEOUT_MS + SLACK_MS)) '$4 > max' | wc -l)
kinds=$(grep -E '^ASK [0-9]+ ' "$work/stream.log" | grep -v ' OK ' |
    awk '{print $3}' | sort | uniq -c | tr '\n' ' ')
if [ "$errors" -ge 1 ] && [ "$late" -eq 0 ]; then
    ok "$errors pending asks ended with errors ($kinds), each within ${TIMEOUT_MS} ms + ${SLACK_MS} ms"
else
    bad "pending asks: $errors errors, $late over the bound"
    grep -v ' OK ' "$work/stream.log" | head -20
fi
if [ $((ended - killed)) -le $((TIMEOUT_MS + SLACK_MS + 1000)) ]; then
    ok "the prober was done $((ended - killed)) ms after the kill ($answered asks answered before)"
else
    bad "the prober took $((ended - killed)) ms after the kill"
fi
total=$(grep -cE '^ASK [0-9]+ ' "$work/stream.log")
sent=$(grep -E '^ASK [0-9]+ ' "$work/stream.log" | awk '{print $2}' | sort -n | tail -1)
if [ "$total" -eq $((sent + 1)) ]; then
    ok "every ask sent got exactly one outcome ($total)"
else
    bad "outcomes: $total lines for asks 0..$sent"
fi

if wait_exit "$l_pid" 20; then
    bad "the long ask should fail"
else
    [ $? -eq 124 ] && { bad "the long ask hung"; finish; }
fi
if line=$(grep -E '^ASK 0 ' "$work/long.log") &&
    ms=$(echo "$line" | awk '{print $4}') &&
    [ "$(echo "$line" | awk '{print $3}')" != OK ] &&
    [ "$ms" -le $((10000 + SLACK_MS)) ]; then
    ok "the long ask ended: $(echo "$line" | awk '{print $3}') after $ms ms (default timeout 10 s)"
else
    bad "the long ask: ${line:-no outcome}"
    cat "$work/long.log"
fi

# B still serves its own actor.
if timeout 30 "$CLIENT" --bootstrap "$b_addr" --name beta >"$work/cl.log" 2>&1 &&
    grep -qx 'Incremented count: 10' "$work/cl.log"; then
    ok "B still serves beta"
else
    bad "B after A's death"
    cat "$work/cl.log"
fi

kill -TERM "$b_pid"
if wait_exit "$b_pid" 10; then
    ok "B exits 0 on SIGTERM"
else
    bad "B on SIGTERM"
fi
pids=""
finish
