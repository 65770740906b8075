#!/bin/sh
# The gateway's command line: --help, --version, bad flags, ACTORGATE_*
# fallbacks and their precedence, the default database path, startup
# failures (a broken schema file, a database from a newer gateway, a port in
# use), --body-limit, --log-level, and the error table in
# gateway/README.md against --print-errors.
PORT_BASE=39500
. "$(dirname "$0")/data/gateway_lib.sh"

# ------------------------------------------------------------ help

"$GW" --help >"$TMP/help" 2>&1
[ $? = 0 ] && ok "--help exits 0" || nok "--help status"
for f in "--http HOST:PORT" "--listen MULTIADDR" "--bootstrap MULTIADDR" \
    "--key FILE" "--db PATH" "--schemas DIR" "--admin-token TOKEN" \
    "--admin-open" "--body-limit BYTES" "--timeout-ms MS" "--max-timeout-ms MS" \
    ACTORGATE_HTTP ACTORGATE_BOOTSTRAP SIGHUP; do
    grep -qF -- "$f" "$TMP/help" && ok "--help mentions $f" || nok "--help lacks $f"
done
"$GW" -h | grep -q "usage:" && ok "-h" || nok "-h"
v=$("$GW" --version)
case $v in "gateway "[0-9]*) ok "--version: $v" ;; *) nok "--version: $v" ;; esac

for bad in "--nope" "--http nothing" "--timeout-ms 0" "--body-limit 3G" \
    "--admin-token short" "--log-level loud" "stray"; do
    # shellcheck disable=SC2086
    "$GW" $bad >"$TMP/out" 2>"$TMP/err"
    st=$?
    [ $st = 2 ] && grep -q "^gateway: " "$TMP/err" && ok "'$bad' refused (exit 2: $(head -c 80 "$TMP/err"))" ||
        nok "'$bad': exit $st, $(cat "$TMP/err")"
done
ACTORGATE_TIMEOUT_MS=abc "$GW" --version >/dev/null 2>"$TMP/err"
[ $? = 2 ] && grep -q ACTORGATE_TIMEOUT_MS "$TMP/err" && ok "a bad variable is named" || nok "bad variable: $(cat "$TMP/err")"

# ------------------------------------------------------------ environment

mkdir -p "$TMP/schemas" "$TMP/cwd"
cp "$ROOT/schemas/counter.json" "$TMP/schemas/"
port P1
port P2
# Every setting from the environment; the database path defaults to one
# under the working directory.
(cd "$TMP/cwd" && ACTORGATE_HTTP=127.0.0.1:$P1 ACTORGATE_SCHEMAS=$TMP/schemas \
    ACTORGATE_ADMIN_TOKEN=$TOKEN ACTORGATE_BODY_LIMIT=100 \
    exec "$GW") >"$TMP/env.log" 2>"$TMP/env.err" &
envpid=$!
PIDS="$PIDS $envpid"
check "ACTORGATE_HTTP is where it listens" wait_http "http://127.0.0.1:$P1/healthz" 204
check "default database ./actorgate.db in the working directory" test -f "$TMP/cwd/actorgate.db"
req GET "http://127.0.0.1:$P1/admin/info" -H "Authorization: Bearer $TOKEN"
expect "ACTORGATE_ADMIN_TOKEN is the admin token" 200
[ "$(body .schemas_dir)" = "$TMP/schemas" ] && ok "ACTORGATE_SCHEMAS" || nok "schemas dir $(body .schemas_dir)"
big=$(printf '{"amount":1%0100d}' 0)
req POST "http://127.0.0.1:$P1/v1/actors/a/ask/Inc" -H "$CT" -d "$big"
expect "ACTORGATE_BODY_LIMIT=100: 101+ bytes refused" 413 PAYLOAD_TOO_LARGE
req POST "http://127.0.0.1:$P1/v1/actors/a/ask/Inc" -H "$CT" -d '{"amount":-1}'
expect "a body under the limit passes to validation" 422 SCHEMA_VIOLATION
kill -TERM $envpid
wait_until 20 gone $envpid
wait $envpid
[ $? = 0 ] && ok "environment-configured gateway exits 0" || nok "exit status"

# A flag wins over its variable.
ACTORGATE_HTTP=127.0.0.1:1 start flag "$GW" --http 127.0.0.1:$P2 --db "$TMP/flag.db" \
    --schemas "$TMP/schemas" --log-level warn --bootstrap "$UNREACHABLE_PEER"
check "--http wins over ACTORGATE_HTTP" wait_http "http://127.0.0.1:$P2/healthz" 204
req GET "http://127.0.0.1:$P2/readyz"
req GET "http://127.0.0.1:$P2/nope"
stop flag TERM
if jq -c 'select(.event=="request" and .status < 500)' "$TMP/flag.log" | grep -q .; then
    nok "--log-level warn still logged info requests"
else
    ok "--log-level warn: no info lines"
fi
jq -c 'select(.event=="request" and .status==503)' "$TMP/flag.log" | grep -q . &&
    ok "--log-level warn keeps 5xx request lines" || nok "no warn line"
[ "$(jq -c . "$TMP/flag.log" | wc -l)" = "$(wc -l <"$TMP/flag.log")" ] &&
    ok "every log line is one JSON object" || nok "a log line is not JSON"

# ------------------------------------------------------------ startup failures

mkdir -p "$TMP/bad"
cp "$ROOT/schemas/counter.json" "$TMP/bad/"
printf '{\n  "actor": "x::Y",\n  "messages": [\n    {"name": "A", "uuid": "00000000-0000-4000-8000-000000000000", "kind": "ask",\n     "request": {"type": "string", "pattern": "x"}, "reply": {"type": "null"}}]}\n' >"$TMP/bad/broken.json"
port P3
"$GW" --http 127.0.0.1:$P3 --db "$TMP/bad.db" --schemas "$TMP/bad" >"$TMP/bad.log" 2>"$TMP/bad.err"
st=$?
[ $st != 0 ] && ok "a broken schema file stops the start (exit $st)" || nok "started with a broken file"
grep -q "broken.json:5:" "$TMP/bad.err" && grep -q "pattern" "$TMP/bad.err" &&
    ok "the error names file, line and reason: $(head -c 120 "$TMP/bad.err")" || nok "error: $(cat "$TMP/bad.err")"

# A database that a newer gateway migrated.
sqlite3 "$TMP/flag.db" "INSERT INTO schema_migrations VALUES (9999, 'from_the_future', 0);"
"$GW" --http 127.0.0.1:$P3 --db "$TMP/flag.db" --schemas "$TMP/schemas" >"$TMP/new.log" 2>"$TMP/new.err"
st=$?
[ $st != 0 ] && grep -q 9999 "$TMP/new.err" && ok "a newer database refuses to start: $(head -c 120 "$TMP/new.err")" ||
    nok "newer database: exit $st $(cat "$TMP/new.err")"

# The HTTP port is taken.
start holder "$GW" --http 127.0.0.1:$P3 --db "$TMP/holder.db" --schemas "$TMP/schemas"
check "holder up" wait_http "http://127.0.0.1:$P3/healthz" 204
"$GW" --http 127.0.0.1:$P3 --db "$TMP/second.db" --schemas "$TMP/schemas" >"$TMP/second.log" 2>"$TMP/second.err"
st=$?
[ $st != 0 ] && grep -q "127.0.0.1:$P3" "$TMP/second.err" && ok "a port in use stops the start" || nok "port in use: $st"
stop holder TERM

# ------------------------------------------------------------ error table

sed -n '/<!-- errors:begin/,/<!-- errors:end/p' "$ROOT/gateway/README.md" | sed '1d;$d' >"$TMP/readme_table"
"$GW" --print-errors >"$TMP/printed_table"
if cmp -s "$TMP/readme_table" "$TMP/printed_table"; then
    ok "gateway/README.md has the error table the binary prints"
else
    nok "README error table differs from --print-errors" "$(diff "$TMP/readme_table" "$TMP/printed_table" | head -5)"
fi
for v in ActorNotRunning ActorStopped UnknownActor UnknownMessage BadActorType \
    MailboxFull ReplyTimeout HandlerError SerializeMessage DeserializeMessage \
    SerializeReply SerializeHandlerError DeserializeHandlerError \
    SwarmNotBootstrapped DialFailure NetworkTimeout ConnectionClosed UnsupportedProtocols; do
    grep -q "^| $v |" "$TMP/printed_table" && ok "error table row for $v" || nok "no row for $v"
done
finish
