#!/bin/sh
# Kademlia between three processes over QUIC on 127.0.0.1 (kad-tool):
# B serves; A joins through B and puts "my_actor"; C, which only knows B,
# finds it through the DHT; a missing key is not found; the record
# outlives A, held by B; a server-mode node looks up too; a lookup goes
# two hops (F -> E -> D). Short-lived lookups run as Kademlia clients
# (--listen none), as they should: a server would stay in B's routing
# table after it exits, and later lookups would wait for it.
# Prints "N passed, N failed" last.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/proc.sh"
KT="$B/bin/kad-tool"

[ -x "$KT" ] || { bad "build $KT first (make tools)"; finish; }

# Servers keep running while their stdin, a fifo whose only writer is this
# script's fd 3, stays open.
mkfifo "$work/hold"
exec 3<>"$work/hold"

"$KT" --serve <"$work/hold" 3>&- >"$work/b.log" 2>&1 &
b_pid=$!
pids="$pids $b_pid"
if line=$(wait_line "$work/b.log" '^LISTEN ' 20); then
    b_addr=${line#LISTEN }
    ok "B listens on $b_addr"
else
    bad "B did not start"; cat "$work/b.log"; finish
fi

value='registration of remote::MyActor'
"$KT" --serve --bootstrap "$b_addr" put my_actor "$value" <"$work/hold" 3>&- >"$work/a.log" 2>&1 &
a_pid=$!
pids="$pids $a_pid"
if wait_line "$work/a.log" '^PUT my_actor OK$' 30 >/dev/null; then
    ok "A joined through B and put my_actor (quorum 1)"
else
    bad "A's put"; cat "$work/a.log"
fi

if timeout 30 "$KT" --listen none --bootstrap "$b_addr" get my_actor >"$work/c.log" 2>&1 &&
   grep -qx "GET my_actor VALUE $value" "$work/c.log"; then
    ok "C, knowing only B, found my_actor through the DHT"
else
    bad "C's lookup"; cat "$work/c.log"
fi

start=$(date +%s)
if ! timeout 30 "$KT" --listen none --bootstrap "$b_addr" get nobody >"$work/c2.log" 2>&1 &&
   grep -qx 'GET nobody NOTFOUND' "$work/c2.log" &&
   [ $(($(date +%s) - start)) -lt 10 ]; then
    ok "a missing key is not found, quickly"
else
    bad "missing key"; cat "$work/c2.log"
fi

# A goes away; B still has the record.
kill "$a_pid"; wait "$a_pid" 2>/dev/null
if timeout 30 "$KT" --bootstrap "$b_addr" get my_actor >"$work/c3.log" 2>&1 &&
   grep -qx "GET my_actor VALUE $value" "$work/c3.log"; then
    ok "the record outlives its publisher's process"
else
    bad "lookup after A stopped"; cat "$work/c3.log"
fi

# A server-mode node can look up too (it joins B's routing table when
# identify reports it, so the short-lived lookups above are clients).
if timeout 30 "$KT" --bootstrap "$b_addr" get my_actor >"$work/c4.log" 2>&1 &&
   grep -qx "GET my_actor VALUE $value" "$work/c4.log"; then
    ok "a server-mode node looks up through B"
else
    bad "server-mode lookup"; cat "$work/c4.log"
fi

# Routing over two hops: D holds "solo" only locally (it had no peer when
# it put it); E knows D; F knows only E: E's answer names D, F asks D.
"$KT" --serve put solo only-at-d <"$work/hold" 3>&- >"$work/d.log" 2>&1 &
pids="$pids $!"
if d_line=$(wait_line "$work/d.log" '^LISTEN ' 20) &&
   wait_line "$work/d.log" '^PUT solo OK$' 20 >/dev/null; then
    d_addr=${d_line#LISTEN }
    "$KT" --serve --bootstrap "$d_addr" <"$work/hold" 3>&- >"$work/e.log" 2>&1 &
    pids="$pids $!"
    if e_line=$(wait_line "$work/e.log" '^LISTEN ' 20) &&
       wait_line "$work/e.log" '^BOOTSTRAP OK$' 20 >/dev/null; then
        e_addr=${e_line#LISTEN }
        if timeout 30 "$KT" --listen none --bootstrap "$e_addr" get solo >"$work/f.log" 2>&1 &&
           grep -qx 'GET solo VALUE only-at-d' "$work/f.log"; then
            ok "F, knowing only E, found a record only D holds (two hops)"
        else
            bad "two-hop lookup"; cat "$work/f.log"
        fi
    else
        bad "E did not join D"; cat "$work/e.log"
    fi
else
    bad "D did not start"; cat "$work/d.log"
fi

exec 3>&-
if timeout 15 sh -c "while kill -0 $b_pid 2>/dev/null; do sleep 0.05; done" &&
   wait "$b_pid"; then
    ok "B exits 0 when its stdin closes"
else
    bad "B's exit status"; cat "$work/b.log"
fi
finish
