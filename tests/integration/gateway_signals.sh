#!/bin/sh
# SIGTERM/SIGINT drain: the listening socket closes, requests in flight
# finish, answers given meanwhile close their connections,
# the store is flushed, exit 0; past --drain-ms what is left is answered
# 503; a second signal stops at once. Uses the gateway with in-process
# actors (their Sleep message replies late without blocking the loop).
PORT_BASE=39600
. "$(dirname "$0")/data/gateway_lib.sh"

mkdir -p "$TMP/schemas"
cp "$ROOT/schemas/counter.json" "$TMP/schemas/"
port P
G=http://127.0.0.1:$P
U=$G/v1/actors
flags="--http 127.0.0.1:$P --db $TMP/sig.db --schemas $TMP/schemas --admin-open"

in_flight() {
    [ "$(curl -s "$G/admin/info" | jq -r .counts.requests_in_flight)" -ge "$1" ]
}
now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# ------------------------------------------------------------ drain

start gw "$GWL" $flags --drain-ms 10000
check "gateway is ready" wait_http "$G/readyz" 204
req POST "$U/my_actor/ask/Inc" -H "$CT" -H "Idempotency-Key: before-term" -d '{"amount":5}'
expect "an idempotent ask before the signal" 200
# C keeps the drain going; B asks, then asks again once answered.
curl -s -o "$TMP/c" -w '%{http_code}' -X POST -H "$CT" -d '{"ms":2500}' \
    "$U/my_actor/ask/Sleep" >"$TMP/c.status" &
cpid=$!
curl -s -o "$TMP/b1" -D "$TMP/b1.headers" -w '%{http_code}\n' -X POST -H "$CT" -d '{"ms":800}' \
    "$U/my_actor/ask/Sleep" --next -s -o "$TMP/b2" -D "$TMP/b.headers" \
    -w '%{http_code}\n' -X POST -H "$CT" -d '{"amount":1}' \
    "$U/my_actor/ask/Inc" >"$TMP/b" &
bpid=$!
check "two requests in flight" wait_until 10 in_flight 2
t0=$(now_ms)
kill -TERM "$(pid_of gw)"
check "draining logged" wait_until 10 log_has gw 'select(.event=="draining" and .signal=="SIGTERM" and .active_requests>=2)'
refused() {
    [ "$(http_code "$G/healthz")" = 000 ]
}
check "new connections are refused while draining" wait_until 5 refused
wait $bpid
first=$(sed -n 1p "$TMP/b")
second=$(sed -n 2p "$TMP/b")
[ "$(cat "$TMP/b1")" = 800 ] && [ "$first" = 200 ] && ok "the request in flight finished (200)" || nok "first: $(cat "$TMP/b")"
# Answers given while draining close their connection, so the client's
# next request on it opens a new one, which is refused.
grep -qi '^Connection: close' "$TMP/b1.headers" && ok "answers while draining carry Connection: close" || nok "no Connection: close"
[ "$second" = 000 ] && ok "the follow-up request finds the gateway gone" || nok "second: $second"
wait $cpid
[ "$(cat "$TMP/c.status")" = 200 ] && [ "$(cat "$TMP/c")" = 2500 ] && ok "the long request finished during the drain" || nok "long: $(cat "$TMP/c.status")"
pid=$(pid_of gw)
check "the gateway exits once nothing is in flight" wait_until 10 gone "$pid"
wait "$pid"
st=$?
[ $st = 0 ] && ok "exit 0 after the drain" || nok "exit $st"
t1=$(now_ms)
[ $((t1 - t0)) -lt 6000 ] && ok "drained in $((t1 - t0)) ms" || nok "drain took $((t1 - t0)) ms"
eval "PID_gw="
log_has gw 'select(.event=="database_closed")' && ok "the store was closed (flushed, checkpointed)" || nok "no database_closed"
log_has gw 'select(.event=="exited" and .message=="status 0")' && ok "exit logged" || nok "no exit line"

# What was written before the signal is there after it.
start gw "$GWL" $flags
check "restarted" wait_http "$G/readyz" 204
req POST "$U/my_actor/ask/Inc" -H "$CT" -H "Idempotency-Key: before-term" -d '{"amount":5}'
[ "$STATUS" = 200 ] && [ "$(header Idempotent-Replayed)" = true ] && ok "idempotent answer flushed before exit" || nok "not replayed"
req GET "$G/admin/actors/my_actor"
expect "name cache flushed before exit" 200

# ------------------------------------------------------------ deadline

stop gw TERM
start gw "$GWL" $flags --drain-ms 300
check "restarted with --drain-ms 300" wait_http "$G/readyz" 204
curl -s -o "$TMP/d" -w '%{http_code}' -X POST -H "$CT" -H "X-Timeout-Ms: 20000" \
    -d '{"ms":3000}' "$U/my_actor/ask/Sleep" >"$TMP/d.status" &
dpid=$!
check "one request in flight" wait_until 10 in_flight 1
t0=$(now_ms)
kill -TERM "$(pid_of gw)"
# The answer comes at the deadline; the process itself ends once the
# in-process actor's pending timer has fired (a gateway without local
# actors has none).
wait_until 10 gone $dpid
t1=$(now_ms)
wait $dpid
stop gw NONE
[ "$STOP_STATUS" = 0 ] && ok "exit 0 after the drain deadline" || nok "exit $STOP_STATUS"
[ "$(cat "$TMP/d.status")" = 503 ] && [ "$(jq -r .error.code "$TMP/d")" = NOT_READY ] &&
    ok "the request left at the deadline is answered 503 NOT_READY" || nok "left: $(cat "$TMP/d.status") $(cat "$TMP/d")"
[ $((t1 - t0)) -lt 2000 ] && ok "answered $((t1 - t0)) ms after the signal (deadline 300 ms)" || nok "took $((t1 - t0)) ms"

# ------------------------------------------------------------ second signal

start gw "$GWL" $flags --drain-ms 30000
check "restarted with --drain-ms 30000" wait_http "$G/readyz" 204
curl -s -o "$TMP/e" -w '%{http_code}' -X POST -H "$CT" -H "X-Timeout-Ms: 20000" \
    -d '{"ms":3000}' "$U/my_actor/ask/Sleep" >"$TMP/e.status" &
epid=$!
check "one request in flight" wait_until 10 in_flight 1
t0=$(now_ms)
kill -TERM "$(pid_of gw)"
check "draining" wait_until 10 log_has gw 'select(.event=="draining")'
kill -INT "$(pid_of gw)"
wait_until 10 gone $epid
t1=$(now_ms)
wait $epid
stop gw NONE
[ "$STOP_STATUS" = 0 ] && ok "SIGINT during the drain: exit 0" || nok "exit $STOP_STATUS"
[ $((t1 - t0)) -lt 2000 ] && ok "the second signal cut the wait ($((t1 - t0)) ms)" || nok "took $((t1 - t0)) ms"
[ "$(cat "$TMP/e.status")" = 503 ] && ok "what was left got 503" || nok "left: $(cat "$TMP/e.status")"
finish
