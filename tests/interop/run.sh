#!/bin/sh
# Interop with a real js-libp2p node over QUIC v1 on 127.0.0.1, both
# directions: actorlib dials js and pings (and js identifies us); js dials
# actorlib, pings, and identify succeeds on both sides; a wrong /p2p/ id is
# refused. Prints "N passed, N failed" last; non-zero on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/proc.sh"
SP="$B/bin/swarm-ping"
INTEROP_SETUP="$here/setup.sh"
. "$here/setup.sh"

[ -x "$SP" ] || { bad "build $SP first (make)"; finish; }
interop_setup || { bad "js-libp2p setup"; finish; }
echo "interop: node $("$NODE" --version), js-libp2p from $here/node_modules"

# --- actorlib dials js -----------------------------------------------------
"$NODE" "$here/peer.mjs" serve >"$work/js.log" 2>&1 &
js_pid=$!
pids="$pids $js_pid"
if js_line=$(wait_line "$work/js.log" '^LISTEN /ip4/127\.0\.0\.1/' 60); then
    js_addr=${js_line#LISTEN }
    js_id=${js_addr##*/p2p/}
    ok "js node listens on $js_addr"
else
    bad "js node did not print LISTEN"; cat "$work/js.log"; finish
fi

if timeout 60 "$SP" ping "$js_addr" -n 3 >"$work/c-ping.log" 2>&1 &&
   [ "$(grep -c 'rtt [0-9]* us' "$work/c-ping.log")" -eq 3 ]; then
    ok "actorlib dialed js and got 3 pings answered ($(grep rtt "$work/c-ping.log" | tr '\n' ' '))"
else
    bad "actorlib -> js ping"; cat "$work/c-ping.log"
fi
c_id=$(sed -n 's/^CONNECTED \(.*\)$/\1/p' "$work/c-ping.log" | head -1)
if wait_line "$work/js.log" "^connection:open .* inbound" 10 >/dev/null &&
   wait_line "$work/js.log" "^peer:identify [^ ]+ agent=actorlib/[0-9.]+ protocols=.*/ipfs/ping/1.0.0" 10 >/dev/null; then
    ok "js identified actorlib: $(grep -m1 '^peer:identify' "$work/js.log")"
else
    bad "js did not identify actorlib"; cat "$work/js.log"
fi

wrong=$(printf '%s' "$js_addr" | sed "s|/p2p/.*|/p2p/12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB|")
if timeout 60 "$SP" ping "$wrong" -n 1 >"$work/c-wrong.log" 2>&1; then
    bad "a wrong /p2p/ id was accepted"
elif grep -q "peer id mismatch: expected 12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB, got $js_id" "$work/c-wrong.log"; then
    ok "a wrong /p2p/ id is refused ($(cat "$work/c-wrong.log"))"
else
    bad "wrong /p2p/ id: unexpected output"; cat "$work/c-wrong.log"
fi

# --- js dials actorlib -----------------------------------------------------
"$SP" listen /ip4/127.0.0.1/udp/0/quic-v1 >"$work/c.log" 2>&1 &
c_pid=$!
pids="$pids $c_pid"
if c_line=$(wait_line "$work/c.log" '^LISTEN /ip4/127\.0\.0\.1/' 20); then
    c_addr=${c_line#LISTEN }
    c_id=${c_addr##*/p2p/}
    ok "actorlib listens on $c_addr"
else
    bad "actorlib did not print LISTEN"; cat "$work/c.log"; finish
fi

if timeout 90 "$NODE" "$here/peer.mjs" dial "$c_addr" 3 >"$work/js-dial.log" 2>&1 &&
   [ "$(grep -c '^ping [0-9]: rtt' "$work/js-dial.log")" -eq 3 ]; then
    ok "js dialed actorlib and got 3 pings answered"
else
    bad "js -> actorlib ping"; cat "$work/js-dial.log"
fi
if grep -q "^IDENTIFY $c_id agent=actorlib/[0-9.]* protocols=.*/ipfs/id/1.0.0" "$work/js-dial.log"; then
    ok "js identified actorlib: $(grep '^IDENTIFY' "$work/js-dial.log")"
else
    bad "js did not identify actorlib on its own connection"; cat "$work/js-dial.log"
fi
if wait_line "$work/c.log" "^IDENTIFIED [^ ]+ agent=js-libp2p/" 10 >/dev/null; then
    ok "actorlib identified js: $(grep -m1 '^IDENTIFIED' "$work/c.log")"
else
    bad "actorlib did not identify js"; cat "$work/c.log"
fi

# --- shutdown --------------------------------------------------------------
kill -TERM "$c_pid"
end=$(($(date +%s) + 10)) rc=
while [ "$(date +%s)" -le "$end" ]; do
    kill -0 "$c_pid" 2>/dev/null || { wait "$c_pid"; rc=$?; break; }
    sleep 0.05
done
if [ "$rc" = 0 ]; then
    ok "actorlib stopped on SIGTERM (exit 0)"
else
    bad "actorlib did not stop cleanly on SIGTERM (${rc:-still running})"
fi
kill -TERM "$js_pid" 2>/dev/null
finish
