#!/bin/sh
# The gateway under load, next to a bare libmicrohttpd server measured in
# the same run with the same wrk settings. Figures only, nothing asserted.
#
#   gateway  POST /v1/actors/my_actor/ask/Inc {"amount":1} through the
#            gateway to the counter actor of a separate counter-node
#            process (libp2p QUIC on loopback)
#   bare     the same POST to tests/tools/bench-mhd.c: a libmicrohttpd
#            server with one thread per core answering a constant reply
#
# Then: how the asks travel (one QUIC connection, asks in flight on it,
# UDP datagrams sent per ask on each side, counted from the sendmsg calls
# on the UDP sockets with perf when it may trace syscalls: Debian's
# linux-perf), and the gateway's resident memory with 1,000 open
# keep-alive connections (tests/tools/bench-conns.c).
#
# Goals (issue 5): >= 40% of the bare server's requests/s, p99 <= 2 ms,
# RSS <= 30 MB at 1,000 connections.
#
# GW_BENCH_SECONDS (10) each wrk run, GW_BENCH_CONNS (32) wrk connections,
# GW_BENCH_THREADS (2) wrk threads, GW_BENCH_OPEN (1000) connections for
# the memory figure, GW_BENCH_PROFILE=FILE records `perf record -g` of the
# gateway during a second gateway run into FILE.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# root, B, work, pids, cleanup at exit and wait_line.
. "$here/../lib/proc.sh"
SECS=${GW_BENCH_SECONDS:-10}
CONNS=${GW_BENCH_CONNS:-32}
WRK_THREADS=${GW_BENCH_THREADS:-2}
OPEN=${GW_BENCH_OPEN:-1000}
PROFILE=${GW_BENCH_PROFILE:-}
BODY='{"amount":1}'
ASK_PATH=/v1/actors/my_actor/ask/Inc

echo "== gateway: HTTP ask through the gateway to a counter-node, beside bare libmicrohttpd (${SECS}s, $CONNS connections) =="
for tool in wrk curl; do
    if ! command -v $tool >/dev/null; then
        echo "$tool is not installed (Debian: $tool): no gateway benchmark"
        exit 0
    fi
done
for bin in gateway counter-node bench-mhd bench-conns; do
    if [ ! -x "$B/bin/$bin" ]; then
        echo "$B/bin/$bin is not built: no gateway benchmark"
        exit 0
    fi
done

# One wrk run: the figures line written by the script's done() hook.
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "FIGURES rps=%.0f p50_us=%d p99_us=%d max_us=%d requests=%d " ..
        "non2xx=%d socket_errors=%d\n",
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), latency.max,
        summary.requests, e.status,
        e.connect + e.read + e.write + e.timeout))
end
EOF

# run_wrk LABEL URL [SECONDS]: wrk's own --latency output goes into the
# work folder, one figures line to stdout.
run_wrk() {
    wrk -t"$WRK_THREADS" -c"$CONNS" -d"${3:-$SECS}s" --latency \
        -s "$work/post.lua" "$2" >"$work/wrk-$1.out" 2>&1
    grep -m1 '^FIGURES ' "$work/wrk-$1.out" || {
        echo "FIGURES rps=0 p50_us=0 p99_us=0 max_us=0 requests=0 non2xx=0 socket_errors=0"
        sed 's/^/  wrk: /' "$work/wrk-$1.out" >&2
    }
}

# field LINE KEY
field() {
    echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

row() {
    echo "$2" | awk -v label="$1" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        printf "%-34s %8s req/s  p50 %6.2f ms  p99 %6.2f ms  max %7.2f ms" \
               "  non-2xx %s  socket errors %s\n",
               label, f["rps"], f["p50_us"] / 1000, f["p99_us"] / 1000,
               f["max_us"] / 1000, f["non2xx"], f["socket_errors"] }'
}

# ------------------------------------------------------------ processes

"$B/bin/bench-mhd" >"$work/mhd.out" 2>&1 &
mhd=$!
pids="$pids $mhd"
line=$(wait_line "$work/mhd.out" '^LISTEN ' 20) || {
    echo "bench-mhd did not start"
    exit 0
}
MHD_URL=http://127.0.0.1:${line#LISTEN }$ASK_PATH

"$B/bin/counter-node" --listen /ip4/127.0.0.1/udp/0/quic-v1 \
    --key "$work/node.key" --name my_actor >"$work/node.out" 2>"$work/node.err" &
node=$!
pids="$pids $node"
line=$(wait_line "$work/node.out" '^LISTEN /ip4/127\.0\.0\.1/' 30) || {
    echo "counter-node did not start: $(tail -3 "$work/node.err")"
    exit 0
}
node_addr=${line#LISTEN }

# The gateway logs every request to a file, as it would in production. Its
# HTTP port is the first free one from GW_BENCH_PORT on.
port=${GW_BENCH_PORT:-38480}
tries=0
while :; do
    (cd "$work" && exec "$B/bin/gateway" --http "127.0.0.1:$port" \
        --listen /ip4/127.0.0.1/udp/0/quic-v1 --bootstrap "$node_addr" \
        --key "$work/gw.key" --db "$work/gw.db" --schemas "$root/schemas" \
        --admin-open) >"$work/gw.log" 2>"$work/gw.err" &
    gw=$!
    if wait_line "$work/gw.log" '"event":"started"' 30 >/dev/null; then
        pids="$pids $gw"
        break
    fi
    kill "$gw" 2>/dev/null
    wait "$gw" 2>/dev/null
    tries=$((tries + 1))
    if [ $tries -ge 20 ] || ! grep -q 'cannot listen for HTTP' "$work/gw.err"; then
        echo "the gateway did not start: $(tail -3 "$work/gw.err")"
        exit 0
    fi
    port=$((port + 1))
done
GW=http://127.0.0.1:$port
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$GW/readyz")" = 204 ]; do
    i=$((i + 1))
    if [ $i -gt 300 ]; then
        echo "the gateway did not become ready"
        exit 0
    fi
    sleep 0.1
done
# The first ask resolves my_actor through the DHT; later ones hit the cache.
first=$(curl -s -H 'Content-Type: application/json' -d "$BODY" "$GW$ASK_PATH")
case $first in
'' | *[!0-9]*)
    echo "the first ask through the gateway failed: $first"
    exit 0
    ;;
esac

# ------------------------------------------------------------ throughput

bare=$(run_wrk bare "$MHD_URL")
gwf=$(run_wrk gateway "$GW$ASK_PATH")
row "bare libmicrohttpd ($(nproc) threads)" "$bare"
row "gateway -> counter-node (QUIC)" "$gwf"
b=$(field "$bare" rps)
g=$(field "$gwf" rps)
p99=$(field "$gwf" p99_us)
awk -v b="$b" -v g="$g" -v p="$p99" 'BEGIN {
    r = b > 0 ? 100 * g / b : 0
    v1 = (r >= 40) ? "met" : "short"
    v2 = (p <= 2000) ? "met" : "short"
    printf "gateway / bare                     %7.1f %%   (goal >= 40 %%: %s)\n",
           r, v1
    printf "gateway p99                        %7.2f ms  (goal <= 2 ms: %s)\n",
           p / 1000, v2
}'

# ------------------------------------------------------------ the remote leg

# The asks of a run share the gateway's one connection to the node: its
# peers, the requests in flight sampled during a short run, and UDP
# datagrams sent per ask on each side, from sendmsg(2) calls on the
# process's UDP sockets (actorlib sends one datagram per call).
metric() {
    curl -s "$GW/metrics" | awk -v k="$1" '$1 == k { print $2; exit }'
}
asks_ok() {
    curl -s "$GW/metrics" | awk '/^actorgate_http_requests_total/ && /"ask"/ && /"200"/ { s += $2 } END { print s + 0 }'
}
# udp_filter PID: a perf filter matching the descriptors of PID's UDP
# sockets ("fd == 7 || fd == 9"), empty when there are none.
udp_filter() {
    inodes=$(awk 'NR > 1 { print $10 }' /proc/net/udp /proc/net/udp6 2>/dev/null)
    f=""
    for fd in /proc/"$1"/fd/*; do
        l=$(readlink "$fd" 2>/dev/null) || continue
        case $l in socket:*) ;; *) continue ;; esac
        i=${l#socket:[}
        i=${i%]}
        if echo "$inodes" | grep -qx "$i"; then
            f="${f:+$f || }fd == ${fd##*/}"
        fi
    done
    echo "$f"
}
probe=$((SECS < 3 ? SECS : 3))
fg=$(udp_filter "$gw")
fn=$(udp_filter "$node")
trace=""
if [ -n "$fg" ] && [ -n "$fn" ] &&
    perf stat -e syscalls:sys_enter_sendmsg -o /dev/null true 2>/dev/null; then
    trace=1
    perf stat -x, -e syscalls:sys_enter_sendmsg --filter "$fg" -p "$gw" \
        -o "$work/perf-gw.csv" -- sleep "$probe" &
    pg=$!
    perf stat -x, -e syscalls:sys_enter_sendmsg --filter "$fn" -p "$node" \
        -o "$work/perf-node.csv" -- sleep "$probe" &
    pn=$!
fi
asks_before=$(asks_ok)
run_wrk probe "$GW$ASK_PATH" "$probe" >/dev/null &
pw=$!
samples=""
k=0
while [ $k -lt $((probe * 4)) ]; do
    sleep 0.25
    samples="$samples $(metric actorgate_http_requests_in_flight)"
    k=$((k + 1))
done
wait $pw
[ -n "$trace" ] && wait "$pg" "$pn"
asks=$(($(asks_ok) - asks_before))
echo "remote leg: swarm peers $(metric actorgate_swarm_peers), $(curl -s "$GW/admin/peers" | grep -o '"peer_id"' | wc -l) QUIC connection(s)"
echo "requests in flight in the gateway, sampled every 250 ms:$samples"
if [ -n "$trace" ]; then
    sum() { awk -F, '/sys_enter_sendmsg/ { s += $1 } END { print s + 0 }' "$1"; }
    awk -v a="$asks" -v g="$(sum "$work/perf-gw.csv")" \
        -v n="$(sum "$work/perf-node.csv")" -v s="$probe" 'BEGIN {
        printf "%d asks in %ss: UDP datagrams sent per ask: gateway -> node %.2f, node -> gateway %.2f (1 or more = no coalescing)\n",
               a, s, a ? g / a : 0, a ? n / a : 0 }'
else
    echo "perf cannot count syscalls here (perf_event_paranoid, no tracefs): no datagram counts"
fi

if [ -n "$PROFILE" ]; then
    perf record -g -o "$PROFILE" -p "$gw" -- sleep "$SECS" >/dev/null 2>&1 &
    pr=$!
    run_wrk profiled "$GW$ASK_PATH" >/dev/null
    wait $pr
    echo "profile of the gateway: $PROFILE (perf report -i $PROFILE)"
fi

# ------------------------------------------------------------ memory

mem() {
    echo "$2" | awk -v label="$1" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        printf "%-34s RSS before %5.1f MB  idle %5.1f MB  after %s rounds %5.1f MB" \
               "  2 s later %5.1f MB  closed %5.1f MB  (%s of %s answered 2xx, %s lost)\n",
               label, f["rss_before_kib"] / 1024, f["rss_idle_kib"] / 1024,
               f["rounds"], f["rss_active_kib"] / 1024,
               f["rss_settled_kib"] / 1024, f["rss_closed_kib"] / 1024,
               f["ok"], f["of"], f["lost"] }'
}
gm=$("$B/bin/bench-conns" --port "${GW##*:}" --pid "$gw" --conns "$OPEN" \
    --rounds 3 --path "$ASK_PATH" --body "$BODY" 2>&1)
mem "gateway, $OPEN connections" "$gm"
case $gm in *rss_active_kib=*) ;; *) echo "  $gm" ;; esac
if [ -n "$(field "$gm" rss_settled_kib)" ]; then
    for k in rss_idle_kib rss_active_kib rss_settled_kib; do
        echo "$k $(field "$gm" $k)"
    done | awk -v n="$OPEN" '{ m[$1] = $2 / 1024 }
    END {
        s = m["rss_idle_kib"] > m["rss_settled_kib"] ? m["rss_idle_kib"] : m["rss_settled_kib"]
        v1 = (s <= 30) ? "met" : "short"
        v2 = (m["rss_active_kib"] <= 30) ? "met" : "short"
        printf "gateway RSS at %d open connections %5.1f MB   (goal <= 30 MB at 1000: %s; right after the requests %.1f MB: %s)\n",
               n, s, v1, m["rss_active_kib"], v2 }'
fi
mhd_port=${MHD_URL#http://127.0.0.1:}
mm=$("$B/bin/bench-conns" --port "${mhd_port%%/*}" --pid "$mhd" \
    --conns "$OPEN" --rounds 3 --path "$ASK_PATH" --body "$BODY" 2>&1)
mem "bare libmicrohttpd, $OPEN conns" "$mm"
case $mm in *rss_active_kib=*) ;; *) echo "  $mm" ;; esac
exit 0
