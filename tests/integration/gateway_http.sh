#!/bin/sh
# The gateway's HTTP side with real processes on loopback: public
# endpoints, /readyz with no peer reached, request ids, admin authentication,
# and every row of data/gateway_bad_input.tsv against the production
# binary (rows marked "any") and the gateway with in-process actors (all
# rows).
PORT_BASE=39100
. "$(dirname "$0")/data/gateway_lib.sh"

mkdir -p "$TMP/schemas"
cp "$ROOT/schemas/counter.json" "$DATA"/gateway_schemas/*.json "$TMP/schemas/"
head -c 2097152 /dev/zero | tr '\0' ' ' >"$TMP/big.json"
printf '1\000' >"$TMP/nul.json"

port P1
port P2
port P3
start real "$GW" $(gw_flags real "$P1") --schemas "$TMP/schemas" \
    --admin-token "$TOKEN" --listen /ip4/127.0.0.1/udp/0/quic-v1 \
    --bootstrap "$UNREACHABLE_PEER"
start local "$GWL" $(gw_flags local "$P2") --schemas "$TMP/schemas" \
    --admin-open
# No admin token and no --admin-open: /admin is refused entirely.
start closed "$GW" $(gw_flags closed "$P3") --schemas "$TMP/schemas"
check "production gateway serves /healthz" wait_http "http://127.0.0.1:$P1/healthz" 204
check "gateway with in-process actors is ready" wait_http "http://127.0.0.1:$P2/readyz" 204
check "closed gateway serves /healthz" wait_http "http://127.0.0.1:$P3/healthz" 204

R=http://127.0.0.1:$P1
L=http://127.0.0.1:$P2

# ------------------------------------------------------------ public

req GET "$R/healthz"
expect "healthz is 204" 204
[ -n "$(header X-Request-Id)" ] && ok "a request id is made up" || nok "no X-Request-Id"
# The production gateway's only bootstrap peer cannot be reached: it is up
# but not ready, and /readyz says why.
req GET "$R/readyz"
expect "readyz is 503 while no bootstrap peer is reached" 503 NOT_READY
[ "$(header Retry-After)" = 1 ] && ok "readyz 503 has Retry-After" || nok "readyz 503 lacks Retry-After"
[ "$(body '.error.details.database')" = true ] && ok "readyz: database open" || nok "readyz database flag"
[ "$(body '.error.details.swarm')" = false ] && ok "readyz: swarm not up" || nok "readyz swarm flag"
req HEAD "$R/healthz"
expect "HEAD healthz" 204

req GET "$R/metrics"
expect "metrics is 200" 200
case $(header Content-Type) in
text/plain*version=0.0.4*) ok "metrics content type" ;;
*) nok "metrics content type: $(header Content-Type)" ;;
esac
for m in actorgate_http_requests_total actorgate_http_request_duration_seconds_bucket \
    actorgate_http_requests_in_flight actorgate_name_cache_hits_total \
    actorgate_name_cache_misses_total actorgate_swarm_peers \
    'actorgate_remote_errors_total{kind="MailboxFull"}' actorgate_ready; do
    grep -qF "$m" "$TMP/body" && ok "metrics has $m" || nok "metrics lacks $m"
done
grep -q '^actorgate_http_requests_total{route="healthz",status="204"} [1-9]' "$TMP/body" &&
    ok "metrics counted healthz" || nok "metrics did not count healthz"

req GET "$R/openapi.json"
expect "openapi.json is 200" 200
[ "$(body .openapi)" = 3.1.0 ] && ok "openapi version 3.1.0" || nok "openapi version"

# ------------------------------------------------------------ request ids

req GET "$R/healthz" -H "X-Request-Id: abc-123.x:y@z/+="
[ "$(header X-Request-Id)" = "abc-123.x:y@z/+=" ] && ok "sane X-Request-Id echoed" || nok "X-Request-Id not echoed"
req GET "$R/healthz" -H "X-Request-Id: has space"
rid=$(header X-Request-Id)
[ -n "$rid" ] && [ "$rid" != "has space" ] && ok "insane X-Request-Id replaced" || nok "insane id kept: $rid"
long=$(head -c 129 /dev/zero | tr '\0' a)
req GET "$R/healthz" -H "X-Request-Id: $long"
[ "$(header X-Request-Id)" != "$long" ] && ok "129-byte X-Request-Id replaced" || nok "long id kept"
req POST "$R/v1/actors/my_actor/ask/Inc" -H "$CT" -H "X-Request-Id: rid-err-1" -d '{"amount":-1}'
[ "$(body .error.request_id)" = rid-err-1 ] && ok "error body carries the request id" || nok "request_id in body"
tp=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
req GET "$R/healthz" -H "X-Request-Id: rid-trace-1" -H "traceparent: $tp"
check "request logged with request id and traceparent" wait_until 10 log_has real \
    "select(.event==\"request\" and .request_id==\"rid-trace-1\" and .traceparent==\"$tp\" and .status==204 and .method==\"GET\" and .path==\"/healthz\" and (.duration_us|type)==\"number\")"
req GET "$R/healthz" -H "X-Request-Id: rid-trace-2" -H "traceparent: garbage"
check "bad traceparent not logged" wait_until 10 log_has real \
    'select(.event=="request" and .request_id=="rid-trace-2" and (has("traceparent")|not))'
check "error code logged" wait_until 10 log_has real \
    'select(.event=="request" and .request_id=="rid-err-1" and .error=="SCHEMA_VIOLATION" and .actor=="my_actor" and .message=="Inc")'

# ------------------------------------------------------------ admin auth

req GET "$R/admin/info"
expect "admin without a token: 401" 401 UNAUTHORIZED
[ "$(header WWW-Authenticate)" = Bearer ] && ok "401 names the Bearer scheme" || nok "WWW-Authenticate"
req GET "$R/admin/info" -H "Authorization: Bearer wrong-token-wrong-token"
expect "admin with a wrong token: 403" 403 FORBIDDEN
req GET "$R/admin/info" -H "Authorization: Basic $TOKEN"
expect "admin with another scheme: 401" 401 UNAUTHORIZED
req GET "$R/admin/info" -H "Authorization: Bearer $TOKEN"
expect "admin with the token: 200" 200
[ "$(body .version)" = "$("$GW" --version | awk '{print $2}')" ] && ok "admin/info version" || nok "admin/info version"
[ "$(body .counts.subjects)" -ge 5 ] 2>/dev/null && ok "admin/info counts subjects" || nok "admin/info counts"
[ "$(body .swarm)" = up ] && ok "admin/info: the swarm is up" || nok "admin/info swarm: $(body .swarm)"
req GET "$R/admin/peers" -H "Authorization: Bearer $TOKEN"
expect "admin/peers" 200
[ "$(body 'type')" = array ] && ok "admin/peers is a list" || nok "admin/peers type"
req GET "http://127.0.0.1:$P3/admin/info" -H "Authorization: Bearer $TOKEN"
expect "no token configured: admin refused" 403 ADMIN_DISABLED
req GET "http://127.0.0.1:$P3/admin/subjects"
expect "no token configured: refused without a token too" 403 ADMIN_DISABLED
req GET "$L/admin/subjects"
expect "--admin-open: admin without a token" 200

# ------------------------------------------------------------ bad input

tab=$(printf '\t')
run_row() {
    url=$1
    set -f
    set -- -X "$method"
    if [ "$hdrs" != - ]; then
        old=$IFS
        IFS='|'
        for h in $hdrs; do set -- "$@" -H "$h"; done
        IFS=$old
    fi
    case $bdy in
    -) ;;
    @empty) set -- "$@" --data-binary '' ;;
    @big) set -- "$@" --data-binary "@$TMP/big.json" ;;
    @nul) set -- "$@" --data-binary "@$TMP/nul.json" ;;
    *) set -- "$@" --data-binary "$bdy" ;;
    esac
    set +f
    STATUS=$(curl -s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' \
        --max-time 30 "$@" "$url$path")
}

rows=0
while IFS="$tab" read -r bin method path hdrs bdy status code what; do
    case $bin in '#'* | '') continue ;; esac
    rows=$((rows + 1))
    for target in real local; do
        [ "$bin" = local ] && [ $target = real ] && continue
        if [ $target = real ]; then base=$R; else base=$L; fi
        run_row "$base"
        if [ "$code" = - ]; then code=""; fi
        expect "$target: $what ($method $(printf %.60s "$path") -> $status${code:+ $code})" "$status" "$code"
        # Every error has the one body shape and an id.
        if [ "$status" -ge 400 ]; then
            [ -n "$(body .error.message)" ] && [ -n "$(body .error.request_id)" ] ||
                nok "$target: $what: error body shape"
            case $status in
            405) [ -n "$(header Allow)" ] || nok "$target: $what: 405 without Allow" ;;
            429 | 503) [ "$(header Retry-After)" = 1 ] || nok "$target: $what: no Retry-After" ;;
            esac
        fi
    done
done <"$DATA/gateway_bad_input.tsv"
[ "$rows" -ge 40 ] && ok "$rows bad-input rows read" || nok "only $rows rows read"
req GET "$R/v1/actors/my_actor/ask/Inc"
[ "$(header Allow)" = POST ] && ok "405 Allow: POST" || nok "Allow: $(header Allow)"

# A valid ask while no peer is reached cannot resolve the name: NOT_READY
# (asks that reach actors are in gateway_swarm.sh).
req POST "$R/v1/actors/my_actor/ask/Inc" -H "$CT" -d '{"amount":1}'
expect "valid ask while no peer is reached: 503 NOT_READY" 503 NOT_READY

for g in real local closed; do
    stop $g TERM
    [ "$STOP_STATUS" = 0 ] && ok "$g gateway exits 0 on SIGTERM" || nok "$g exit status $STOP_STATUS"
done
finish
