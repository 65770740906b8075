#!/bin/sh
# Asks and tells end to end through the HTTP side, without a swarm: the
# gateway with in-process actors (tests/tools/gateway-local.c) serves them
# as a remote node would (MessagePack in and out through the messages'
# codecs). Replies, handler errors, timeouts, a full mailbox, in-flight
# bounds, Idempotency-Key (replay, conflict, in flight, across a restart),
# the name cache (admin list/evict/resolve, kept across a restart, evict and
# resolve again when the cached actor is gone), metrics and request logs.
PORT_BASE=39200
. "$(dirname "$0")/data/gateway_lib.sh"

mkdir -p "$TMP/schemas"
cp "$ROOT/schemas/counter.json" "$DATA"/gateway_schemas/*.json "$TMP/schemas/"
port P
G=http://127.0.0.1:$P
U=$G/v1/actors
flags="--http 127.0.0.1:$P --db $TMP/local.db --schemas $TMP/schemas --admin-open"

start gw "$GWL" $flags
check "gateway with in-process actors is ready" wait_http "$G/readyz" 204

# ------------------------------------------------------------ asks

req POST "$U/my_actor/ask/Inc" -H "$CT" -d '{"amount":10}'
expect "ask Inc 10" 200
[ "$(cat "$TMP/body")" = 10 ] && ok "reply is the JSON number 10" || nok "reply: $(cat "$TMP/body")"
case $(header Content-Type) in application/json*) ok "reply is application/json" ;; *) nok "reply type" ;; esac
req POST "$U/my_actor/ask/Inc" -H "$CT" -d '{"amount":10}'
[ "$(cat "$TMP/body")" = 20 ] && ok "second ask sees the state: 20" || nok "second ask: $(cat "$TMP/body")"
req POST "$U/my_actor/ask/3b9128f1-0593-44a0-b83a-f4188baa05bf" -H "$CT" -d '{"amount":1}'
[ "$STATUS" = 200 ] && [ "$(cat "$TMP/body")" = 21 ] && ok "message by UUID" || nok "by UUID: $STATUS $(cat "$TMP/body")"
req POST "$U/my_actor/ask/Dec" -H "$CT" -d '{"amount":21}'
[ "$(cat "$TMP/body")" = 0 ] && ok "Dec back to 0" || nok "Dec: $(cat "$TMP/body")"
req POST "$U/my_actor/ask/Sleep" -H "$CT" -d '{"ms":50}'
[ "$STATUS" = 200 ] && [ "$(cat "$TMP/body")" = 50 ] && ok "deferred reply (Sleep 50)" || nok "Sleep: $STATUS"
req POST "$U/my_actor/tell/LogMessage" -H "$CT" -d '{"text":"hello from http"}'
expect "tell LogMessage is 202" 202
check "the actor handled the tell" wait_until 10 log_has gw \
    'select(.event=="actorlib" and .message=="LogMessage: hello from http")'

# ------------------------------------------------------------ errors

req POST "$U/my_actor/ask/TryDec" -H "$CT" -d '{"amount":5}'
expect "handler error is 422" 422 HANDLER_ERROR
[ "$(body '.error.details.error.Underflow.count')" = 0 ] &&
    [ "$(body '.error.details.error.Underflow.amount')" = 5 ] &&
    ok "handler error decoded with the error schema" || nok "details: $(cat "$TMP/body")"
[ "$(body .error.details.kind)" = HandlerError ] && ok "details.kind HandlerError" || nok "kind"
req POST "$U/my_actor/ask/Sleep" -H "$CT" -H "X-Timeout-Ms: 100" -d '{"ms":2000}'
expect "reply timeout is 504" 504 REPLY_TIMEOUT
[ "$(body .error.details.kind)" = ReplyTimeout ] && ok "details.kind ReplyTimeout" || nok "kind $(body .error.details.kind)"
# X-Timeout-Ms is capped by --max-timeout-ms (60 s by default): a huge
# value is accepted, not refused.
req POST "$U/my_actor/ask/Sleep" -H "$CT" -H "X-Timeout-Ms: 4000000000" -d '{"ms":10}'
expect "X-Timeout-Ms above the cap is capped" 200
req POST "$U/nobody/ask/Inc" -H "$CT" -d '{"amount":1}'
expect "unknown name is 404" 404 ACTOR_NOT_FOUND
req POST "$U/nobody/ask/Inc" -H "$CT" -H "X-Request-Id: neg-1" -d '{"amount":1}'
expect "unknown name again (negative cache)" 404 ACTOR_NOT_FOUND
check "second miss answered from the negative cache" wait_until 10 log_has gw \
    'select(.event=="request" and .request_id=="neg-1" and .cache=="negative")'

# A full mailbox (capacity 1, X-Mailbox-Timeout-Ms: 0 fails at once):
# requests that arrive in one loop turn fill it before the actor runs.
burst() {
    i=0
    set --
    while [ $i -lt 24 ]; do
        set -- "$@" -o "$TMP/burst.$i" --next -s -X POST -H "$CT" \
            -H "X-Mailbox-Timeout-Ms: 0" -d '{"amount":1}' "$U/small_box/ask/Inc"
        i=$((i + 1))
    done
    curl -s --parallel --parallel-immediate --parallel-max 24 -X POST -H "$CT" \
        -H "X-Mailbox-Timeout-Ms: 0" -d '{"amount":1}' "$U/small_box/ask/Inc" "$@" >/dev/null 2>&1
    grep -l MAILBOX_FULL "$TMP"/burst.* >/dev/null 2>&1
}
full=no
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if burst; then full=yes; break; fi
done
[ $full = yes ] && ok "parallel asks to a mailbox of 1: MAILBOX_FULL" || nok "no MAILBOX_FULL in 10 bursts"
f=$(grep -l MAILBOX_FULL "$TMP"/burst.* 2>/dev/null | head -1)
[ -n "$f" ] && [ "$(jq -r .error.details.kind "$f")" = MailboxFull ] && ok "details.kind MailboxFull" || nok "MailboxFull kind"
check "MAILBOX_FULL logged as 429" wait_until 10 log_has gw \
    'select(.event=="request" and .status==429 and .error=="MAILBOX_FULL")'

# ------------------------------------------------------------ idempotency

K1="Idempotency-Key: key-one"
req POST "$U/my_actor/ask/Inc" -H "$CT" -H "$K1" -d '{"amount":7}'
first=$(cat "$TMP/body")
[ "$STATUS" = 200 ] && ok "first request with a key runs ($first)" || nok "first: $STATUS"
req POST "$U/my_actor/ask/Inc" -H "$CT" -H "$K1" -d '{"amount":7}'
[ "$STATUS" = 200 ] && [ "$(cat "$TMP/body")" = "$first" ] && ok "same key, same request: replayed" || nok "replay: $(cat "$TMP/body")"
[ "$(header Idempotent-Replayed)" = true ] && ok "replay marked Idempotent-Replayed" || nok "no replay header"
req POST "$U/my_actor/ask/Inc" -H "$CT" -d '{"amount":0}'
[ "$(cat "$TMP/body")" = "$first" ] && ok "the replay did not run the handler again" || nok "ran twice: $(cat "$TMP/body")"
req POST "$U/my_actor/ask/Inc" -H "$CT" -H "$K1" -d '{"amount":8}'
expect "same key, another body: 409" 409 IDEMPOTENCY_CONFLICT
req POST "$U/my_actor/ask/Dec" -H "$CT" -H "$K1" -d '{"amount":7}'
expect "same key, another path: 409" 409 IDEMPOTENCY_CONFLICT
# A key whose request failed validation is not used up.
req POST "$U/my_actor/ask/Inc" -H "$CT" -H "Idempotency-Key: key-two" -d '{"amount":-1}'
expect "key with a 422" 422 SCHEMA_VIOLATION
req POST "$U/my_actor/ask/Inc" -H "$CT" -H "Idempotency-Key: key-two" -d '{"amount":1}'
expect "the key is free again after a validation error" 200
# Handler errors are answers: kept.
req POST "$U/my_actor/ask/TryDec" -H "$CT" -H "Idempotency-Key: key-three" -d '{"amount":100000}'
expect "handler error with a key" 422 HANDLER_ERROR
req POST "$U/my_actor/ask/TryDec" -H "$CT" -H "Idempotency-Key: key-three" -d '{"amount":100000}'
[ "$STATUS" = 422 ] && [ "$(header Idempotent-Replayed)" = true ] && ok "handler error replayed" || nok "handler error replay: $STATUS"
# In flight: the first request with the key has not answered yet.
curl -s -o "$TMP/slow1" -X POST -H "$CT" -H "Idempotency-Key: key-slow" \
    -d '{"ms":1500}' "$U/my_actor/ask/Sleep" &
slow=$!
in_flight() {
    [ "$(curl -s "$G/admin/info" | jq -r .counts.requests_in_flight)" -ge 1 ]
}
check "slow request in flight" wait_until 10 in_flight
req POST "$U/my_actor/ask/Sleep" -H "$CT" -H "Idempotency-Key: key-slow" -d '{"ms":1500}'
expect "same key while the first is in flight: 409" 409 IDEMPOTENCY_IN_FLIGHT
[ "$(header Retry-After)" = 1 ] && ok "409 in flight has Retry-After" || nok "no Retry-After"
wait $slow
[ "$(cat "$TMP/slow1")" = 1500 ] && ok "the first one answered" || nok "slow: $(cat "$TMP/slow1")"
req POST "$U/my_actor/ask/Sleep" -H "$CT" -H "Idempotency-Key: key-slow" -d '{"ms":1500}'
[ "$STATUS" = 200 ] && [ "$(header Idempotent-Replayed)" = true ] && ok "then it is replayed" || nok "slow replay"

# ------------------------------------------------------------ in-flight bound

stop gw TERM
start gw "$GWL" $flags --max-inflight 1
check "restarted with --max-inflight 1" wait_http "$G/readyz" 204
curl -s -o /dev/null -X POST -H "$CT" -d '{"ms":1500}' "$U/my_actor/ask/Sleep" &
slow=$!
check "one request in flight" wait_until 10 in_flight
req POST "$U/my_actor/ask/Inc" -H "$CT" -d '{"amount":1}'
expect "second request beyond --max-inflight: 429" 429 TOO_MANY_REQUESTS
[ "$(header Retry-After)" = 1 ] && ok "429 has Retry-After" || nok "429 Retry-After"
req GET "$G/healthz"
expect "health is not bounded by --max-inflight" 204
wait $slow

# ------------------------------------------------------------ restart

# The idempotent answer survives the restart (the counter starts over at
# 0 in the new process, so the stored 7 can only come from the database).
req POST "$U/my_actor/ask/Inc" -H "$CT" -H "$K1" -d '{"amount":7}'
[ "$STATUS" = 200 ] && [ "$(cat "$TMP/body")" = "$first" ] &&
    [ "$(header Idempotent-Replayed)" = true ] && ok "replay after a restart" || nok "replay after restart: $(cat "$TMP/body")"

# ------------------------------------------------------------ name cache

req GET "$G/admin/actors"
expect "admin/actors" 200
[ "$(body '[.[] | select(.name=="my_actor")] | length')" = 1 ] && ok "my_actor is cached" || nok "not cached"
[ "$(body '.[] | select(.name=="my_actor") | .remote_id')" = remote::MyActor ] && ok "cached remote id" || nok "remote id"
[ "$(body '.[] | select(.name=="my_actor") | .hits')" -ge 5 ] && ok "hits counted and kept across the restart" || nok "hits: $(body '.[] | select(.name=="my_actor") | .hits')"
for f in peer_id actor_id resolved_at expires_at; do
    [ "$(body ".[] | select(.name==\"my_actor\") | has(\"$f\")")" = true ] && ok "entry has $f" || nok "entry lacks $f"
done
req GET "$G/admin/actors/my_actor"
expect "admin/actors/my_actor" 200
req DELETE "$G/admin/actors/my_actor"
expect "evict my_actor" 204
req GET "$G/admin/actors/my_actor"
expect "evicted name is gone" 404 ACTOR_NOT_FOUND
req DELETE "$G/admin/actors/my_actor"
expect "evicting twice is 404" 404 ACTOR_NOT_FOUND
req POST "$G/admin/actors/my_actor/resolve"
expect "resolve my_actor" 200
[ "$(body .name)" = my_actor ] && [ "$(body .found)" = true ] && ok "resolve returns the entry" || nok "resolve body"
req POST "$G/admin/actors/nobody/resolve"
expect "resolve an unknown name" 404 ACTOR_NOT_FOUND

# Restart with other actor ids: the cached my_actor now points at an
# actor id that serves nothing (ActorNotRunning, as a Kameo node answers);
# the ask evicts, resolves again and succeeds once.
stop gw TERM
[ "$STOP_STATUS" = 0 ] && ok "SIGTERM exit 0" || nok "exit $STOP_STATUS"
start gw "$GWL" $flags --shift-seq 10
check "restarted with shifted actor ids" wait_http "$G/readyz" 204
req GET "$G/admin/actors/my_actor"
expect "the name cache survived the restart" 200
req POST "$U/my_actor/ask/Inc" -H "$CT" -H "X-Request-Id: stale-1" -d '{"amount":3}'
[ "$STATUS" = 200 ] && [ "$(cat "$TMP/body")" = 3 ] && ok "stale cache entry: evicted, resolved again, answered" || nok "stale: $STATUS $(cat "$TMP/body")"
check "logged as retried" wait_until 10 log_has gw \
    'select(.event=="request" and .request_id=="stale-1" and .retried==true and .status==200)'

# A burst for a name that is not cached shares one lookup.
lookups() {
    curl -s "$G/metrics" | sed -n 's/^actorgate_name_lookups_total //p'
}
shared=no
for attempt in 1 2 3 4 5; do
    curl -s -o /dev/null -X DELETE "$G/admin/actors/my_actor"
    before=$(lookups)
    i=0
    set --
    while [ $i -lt 16 ]; do
        set -- "$@" -o "$TMP/co.$i" -w '%{http_code}\n' --next -s -X POST -H "$CT" -d '{"amount":0}' "$U/my_actor/ask/Inc"
        i=$((i + 1))
    done
    curl -s --parallel --parallel-immediate --parallel-max 16 -o /dev/null -X POST -H "$CT" \
        -d '{"amount":0}' "$U/my_actor/ask/Inc" "$@" >"$TMP/co.codes"
    after=$(lookups)
    if [ "$(grep -c '^200$' "$TMP/co.codes")" -ge 16 ] && [ $((after - before)) -lt 16 ]; then
        shared=yes
        break
    fi
done
[ $shared = yes ] && ok "16 concurrent misses: $((after - before)) lookup(s), all answered" ||
    nok "no shared lookup: $((after - before)) lookups, $(sort "$TMP/co.codes" | uniq -c | tr '\n' ' ')"

# ------------------------------------------------------------ metrics

req GET "$G/metrics"
grep -q '^actorgate_http_requests_total{route="ask",status="200"} [1-9]' "$TMP/body" && ok "metrics: ask 200 counted" || nok "ask 200 not counted"
grep -q '^actorgate_remote_retries_total 1$' "$TMP/body" && ok "metrics: one retry" || nok "retries: $(grep retries_total "$TMP/body" | tail -1)"
grep -q '^actorgate_remote_errors_total{kind="ActorNotRunning"} 1$' "$TMP/body" && ok "metrics: remote error by kind" || nok "ActorNotRunning count: $(grep 'kind="ActorNotRunning"' "$TMP/body")"
grep -q '^actorgate_name_cache_hits_total [1-9]' "$TMP/body" && ok "metrics: cache hits" || nok "cache hits"
grep -q '^actorgate_http_request_duration_seconds_count{route="ask"} [1-9]' "$TMP/body" && ok "metrics: latency histogram" || nok "histogram"

stop gw INT
[ "$STOP_STATUS" = 0 ] && ok "SIGINT exit 0" || nok "SIGINT exit $STOP_STATUS"
finish
