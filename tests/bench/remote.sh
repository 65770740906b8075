#!/bin/sh
# Remote ask between two processes on 127.0.0.1, next to Erlang
# distribution measured in the same run: asks/s with 1 and 32 in flight,
# p50/p99 latency, CPU per ask on each side. Figures only.
#
# actorlib: bench-remote serve / bench-remote ask (Inc { amount: 1 } to
# remote::MyActor over /kameo/1, QUIC, one connection). Erlang:
# gen_server:call between two erl nodes (-sname, TCP on 127.0.0.1, a
# private epmd port), tests/bench/erl_bench.erl.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# root, B, work, pids, cleanup at exit and wait_line.
. "$here/../lib/proc.sh"
SECS=${BENCH_SECONDS:-3}
EPMD_PORT=${BENCH_EPMD_PORT:-43697}
cleanup_hook() { epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1; }

# row LABEL LINE: one table row from a "k=v ..." figures line.
row() {
    echo "$2" | awk -v label="$1" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        printf "%-28s %3s in flight %8s asks/s  p50 %5s us  p99 %5s us" \
               "  cpu/ask client %6s us  server %6s us\n",
               label, f["inflight"], f["rate"], f["p50_us"], f["p99_us"],
               f["cpu_client_us"], f["cpu_server_us"] }'
}

echo "== remote ask: two processes on loopback (${SECS}s each) =="
"$B/bin/bench-remote" serve >"$work/srv.log" 2>&1 &
srv=$!
pids="$pids $srv"
if line=$(wait_line "$work/srv.log" '^ACTOR ' 30); then
    seq=${line#ACTOR }
    addr=$(grep -m1 '^LISTEN ' "$work/srv.log")
    addr=${addr#LISTEN }
    for k in 1 32; do
        out=$("$B/bin/bench-remote" ask --peer "$addr" --seq "$seq" \
            --inflight "$k" --seconds "$SECS" --server-pid "$srv")
        row "actorlib /kameo/1 (QUIC)" "$out"
    done
else
    echo "bench-remote serve did not start"
    cat "$work/srv.log"
fi
kill "$srv" 2>/dev/null
wait "$srv" 2>/dev/null

if command -v erl >/dev/null && command -v erlc >/dev/null; then
    if erlc -o "$work" "$here/erl_bench.erl" &&
        epmd -port "$EPMD_PORT" -address 127.0.0.1 -daemon; then
        export ERL_EPMD_PORT=$EPMD_PORT
        dist="-kernel inet_dist_use_interface {127,0,0,1}"
        # shellcheck disable=SC2086
        erl -noshell -sname "benchsrv$$@localhost" -setcookie bench \
            $dist -pa "$work" -eval 'erl_bench:serve(), io:format("READY~n").' \
            >"$work/erl.log" 2>&1 &
        esrv=$!
        pids="$pids $esrv"
        if wait_line "$work/erl.log" '^READY' 30 >/dev/null; then
            for k in 1 32; do
                # shellcheck disable=SC2086
                out=$(erl -noshell -sname "benchcli$$@localhost" \
                    -setcookie bench $dist -pa "$work" \
                    -eval "erl_bench:main(['benchsrv$$@localhost', $k, $SECS])." \
                    2>&1 | grep '^inflight=')
                row "Erlang gen_server:call" "$out"
            done
        else
            echo "erl server node did not start"
            cat "$work/erl.log"
        fi
        kill "$esrv" 2>/dev/null
        wait "$esrv" 2>/dev/null
    else
        echo "Erlang baseline: erlc or epmd failed"
    fi
else
    echo "Erlang baseline: erl not installed (Debian: erlang-base)"
fi
