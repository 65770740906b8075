#!/bin/bash
# End-to-end test of the Docker image and the compose cluster
# (docker/compose.yaml: three counter nodes, two gateways, host network).
#
#   tests/docker/run.sh
#
# 1. a Docker daemon: docker/dockerd.sh starts one when none answers (and
#    this script stops it at the end only if it started it)
# 2. the base image debian:bookworm-slim: docker/base-image.sh
# 3. docker build --network host -f docker/Dockerfile -t actorgate:local .
# 4. docker-compose up -d, then every service healthy (deadline)
# 5. the checks: an ask through both gateways reaches the same actor; with the
#    actor's node killed both gateways answer 503 or 504; once it is started
#    again they answer 200; after a gateway restart its name cache and its
#    schemas are still there (admin API); docker stop is fast
# 6. teardown: down -v (containers and volumes), dockerd stop if ours;
#    also on failure or interruption (KEEP_CLUSTER=1 leaves the cluster up)
# Last line: "docker: N passed, N failed".
#
# Environment:
#   ACTORGATE_CACHE           cache folder (rootfs, images, dockerd data root)
#   ACTORGATE_IMAGE           image tag (default actorgate:local)
#   ACTORGATE_ADMIN_TOKEN     admin token given to the gateways (default
#                             actorgate-test-token)
#   DOCKER_TEST_PROJECT       compose project name (default actorgate-test)
#   DOCKER_TEST_HEALTH_WAIT   seconds for the cluster to become healthy (120)
#   DOCKER_TEST_DEADLINE      seconds for each failover/recovery check (30)
#   COMPOSE                   compose command (default: docker-compose, else
#                             "docker compose")
# Network: only 127.0.0.1 (host networking); the image build reaches the
# Debian mirror through apt.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export ACTORGATE_CACHE=${ACTORGATE_CACHE:-/var/cache/actorgate}
export ACTORGATE_IMAGE=${ACTORGATE_IMAGE:-actorgate:local}
export ACTORGATE_ADMIN_TOKEN=${ACTORGATE_ADMIN_TOKEN:-actorgate-test-token}
PROJECT=${DOCKER_TEST_PROJECT:-actorgate-test}
HEALTH_WAIT=${DOCKER_TEST_HEALTH_WAIT:-120}
DEADLINE=${DOCKER_TEST_DEADLINE:-30}
GW1=http://127.0.0.1:18080
GW2=http://127.0.0.1:18081
SERVICES="node-1 node-2 node-3 gateway-1 gateway-2"
LOGDIR=$ACTORGATE_CACHE/docker-test
mkdir -p "$LOGDIR"

if [ -z "${COMPOSE:-}" ]; then
    if command -v docker-compose >/dev/null; then
        COMPOSE=docker-compose
    else
        COMPOSE="docker compose"
    fi
fi

passed=0 failed=0 we_started=0 cluster_up=0 t0=$SECONDS
timings=()
body=$(mktemp)

say() { printf 'docker: %s\n' "$*"; }
ok() { passed=$((passed + 1)); say "ok   $*"; }
bad() { failed=$((failed + 1)); say "FAIL $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }
timed() { timings+=("$(printf '%-40s %7s s' "$1" "$2")"); }
compose() { $COMPOSE -f "$top/docker/compose.yaml" -p "$PROJECT" "$@"; }

teardown() {
    local rc=$? s
    trap - EXIT INT TERM
    if [ "$cluster_up" = 1 ]; then
        if [ "${KEEP_CLUSTER:-0}" = 1 ]; then
            say "KEEP_CLUSTER=1: cluster left up (compose -p $PROJECT down -v to remove)"
        else
            compose logs --no-color >"$LOGDIR/cluster.log" 2>&1
            s=$(now)
            compose down -v --remove-orphans --timeout 10 >>"$LOGDIR/compose.log" 2>&1 ||
                bad "compose down failed (see $LOGDIR/compose.log)"
            timed "compose down -v" "$(since "$s")"
        fi
    fi
    if [ "$we_started" = 1 ] && [ "${KEEP_CLUSTER:-0}" != 1 ]; then
        s=$(now)
        "$top/docker/dockerd.sh" stop || bad "dockerd stop"
        timed "dockerd stop" "$(since "$s")"
    fi
    rm -f "$body"
    say "timings:"
    for l in "${timings[@]}"; do printf '  %s\n' "$l"; done
    printf '  %-40s %7s s\n' total "$((SECONDS - t0))"
    say "logs: $LOGDIR"
    echo "docker: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$rc" -eq 0 ] && exit 0
    exit 1
}
trap teardown EXIT
trap 'bad "interrupted"; exit 130' INT TERM

# http METHOD URL [DATA] [HEADER...]: sets $code, body in $body
http() {
    local m=$1 url=$2 data=${3:-}
    shift 3 || shift $#
    local args=(-sS -o "$body" -w '%{http_code}' --max-time 15 -X "$m")
    [ -z "$data" ] || args+=(-H 'Content-Type: application/json' --data-raw "$data")
    for h in "$@"; do args+=(-H "$h"); done
    code=$(curl "${args[@]}" "$url" 2>/dev/null) || true
    [ -n "$code" ] || code=000
}
resp() { tr -d ' \r\n' <"$body"; }
auth="Authorization: Bearer $ACTORGATE_ADMIN_TOKEN"

container_of() {
    docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
        --filter "label=com.docker.compose.service=$1" | head -n1
}

health_of() {
    local id
    id=$(container_of "$1")
    [ -n "$id" ] || { echo missing; return; }
    docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null ||
        echo missing
}

# wait_healthy SECONDS SERVICE...
wait_healthy() {
    local end=$((SECONDS + $1)) s all
    shift
    while :; do
        all=1
        for s in "$@"; do
            [ "$(health_of "$s")" = healthy ] || all=0
        done
        [ "$all" = 1 ] && return 0
        [ "$SECONDS" -lt "$end" ] || break
        sleep 0.5
    done
    for s in "$@"; do say "  $s: $(health_of "$s")"; done
    return 1
}

# until_code SECONDS CODES METHOD URL [DATA] [HEADER...]: poll until the
# status is one of CODES (space separated)
until_code() {
    local end=$((SECONDS + $1)) want=" $2 "
    shift 2
    while :; do
        http "$@"
        case $want in *" $code "*) return 0 ;; esac
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.5
    done
}

# --- 1. prerequisites and the daemon -------------------------------------
for c in docker dockerd curl; do
    command -v "$c" >/dev/null || { bad "missing command: $c (make deps)"; exit 1; }
done
$COMPOSE version >/dev/null 2>&1 || { bad "no compose ($COMPOSE)"; exit 1; }

s=$(now)
if out=$("$top/docker/dockerd.sh" start); then
    echo "$out"
    case $out in *started*) we_started=1 ;; esac
    timed "dockerd start" "$(since "$s")"
    ok "docker daemon answers"
else
    bad "dockerd start"; exit 1
fi

# --- 2. base image -------------------------------------------------------
s=$(now)
if "$top/docker/base-image.sh"; then
    timed "base image debian:bookworm-slim" "$(since "$s")"
    ok "base image present"
else
    bad "base image"; exit 1
fi

# --- 3. image ------------------------------------------------------------
s=$(now)
say "docker build (log: $LOGDIR/build.log)"
if docker build --network host --force-rm -f "$top/docker/Dockerfile" \
    -t "$ACTORGATE_IMAGE" "$top" >"$LOGDIR/build.log" 2>&1; then
    timed "docker build" "$(since "$s")"
    ok "image $ACTORGATE_IMAGE built ($(docker image inspect -f '{{.Size}}' "$ACTORGATE_IMAGE" |
        awk '{printf "%.1f MB", $1 / 1e6}'))"
else
    timed "docker build (failed)" "$(since "$s")"
    bad "docker build:"; tail -25 "$LOGDIR/build.log"; exit 1
fi
if docker run --rm --network none --entrypoint id "$ACTORGATE_IMAGE" -u | grep -qv '^0$'; then
    ok "image runs as a non-root user"
else
    bad "image runs as root"
fi

# --- 4. cluster ------------------------------------------------------------
compose down -v --remove-orphans --timeout 5 >"$LOGDIR/compose.log" 2>&1 # leftovers
s=$(now)
cluster_up=1
if compose up -d >>"$LOGDIR/compose.log" 2>&1; then
    timed "compose up -d" "$(since "$s")"
else
    bad "compose up:"; tail -20 "$LOGDIR/compose.log"; exit 1
fi
if wait_healthy "$HEALTH_WAIT" $SERVICES; then
    timed "compose up -d until all healthy" "$(since "$s")"
    ok "all five services healthy"
else
    bad "cluster not healthy within ${HEALTH_WAIT}s"
    compose logs --no-color --tail=20 2>&1 | tail -60
    exit 1
fi

# --- 5. checks -------------------------------------------------------------
ask="/v1/actors/my_actor/ask/Inc"
http POST "$GW1$ask" '{"amount":10}'
basic_ok=0
if [ "$code" = 200 ] && [ "$(resp)" = 10 ]; then
    basic_ok=1
    ok "gateway-1: ask my_actor Inc 10 -> 200 10"
else
    bad "gateway-1: ask my_actor Inc 10 -> $code $(resp)"
fi
http POST "$GW2$ask" '{"amount":5}'
if [ "$code" = 200 ] && [ "$(resp)" = 15 ]; then
    ok "gateway-2 reaches the same actor: Inc 5 -> 200 15"
else
    bad "gateway-2: ask my_actor Inc 5 -> $code $(resp) (want 200 15)"
fi

http GET "$GW1/admin/actors" ""
if [ "$code" = 401 ]; then
    ok "/admin/actors without a token -> 401"
else
    bad "/admin/actors without a token -> $code"
fi

if [ "$basic_ok" != 1 ]; then
    # Everything below needs a working ask; fail it fast instead of waiting
    # out every deadline.
    for c in "kill node-2: gateway-1 503/504" "kill node-2: gateway-2 503/504" \
        "restart node-2: gateway-1 200" "restart node-2: gateway-2 200" \
        "gateway-1 healthy after restart" \
        "gateway-1 restart: /admin/actors lists my_actor" \
        "gateway-1 restart: /admin/subjects" "gateway-1 restart: ask"; do
        bad "$c (not tried: the first ask failed)"
    done
else
    s=$(now)
    compose kill -s SIGKILL node-2 >>"$LOGDIR/compose.log" 2>&1
    for gw in "$GW1" "$GW2"; do
        if until_code "$DEADLINE" "503 504" POST "$gw$ask" '{"amount":1}' "X-Timeout-Ms: 3000"; then
            ok "node of my_actor killed: $gw answers $code"
        else
            bad "node of my_actor killed: $gw still answers $code $(resp) after ${DEADLINE}s"
        fi
    done
    timed "kill node-2 until both gateways 503/504" "$(since "$s")"

    s=$(now)
    compose start node-2 >>"$LOGDIR/compose.log" 2>&1
    wait_healthy "$DEADLINE" node-2 || bad "node-2 not healthy again within ${DEADLINE}s"
    for gw in "$GW1" "$GW2"; do
        if until_code "$DEADLINE" 200 POST "$gw$ask" '{"amount":1}'; then
            ok "node-2 started again: $gw answers 200 $(resp)"
        else
            bad "node-2 started again: $gw answers $code $(resp) after ${DEADLINE}s"
        fi
    done
    timed "start node-2 until both gateways 200" "$(since "$s")"

    s=$(now)
    compose restart gateway-1 >>"$LOGDIR/compose.log" 2>&1
    if wait_healthy "$DEADLINE" gateway-1; then
        timed "restart gateway-1 until healthy" "$(since "$s")"
        ok "gateway-1 healthy after restart"
    else
        bad "gateway-1 not healthy after restart"
    fi
    http GET "$GW1/admin/actors" "" "$auth"
    if [ "$code" = 200 ] && grep -q '"my_actor"' "$body"; then
        ok "after restart /admin/actors still lists my_actor"
    else
        bad "after restart /admin/actors -> $code $(head -c 300 "$body")"
    fi
    http GET "$GW1/admin/subjects" "" "$auth"
    if [ "$code" = 200 ] && [ "$(resp | head -c 2)" != "[]" ] && [ "$(resp | head -c 1)" = "[" ]; then
        ok "after restart /admin/subjects lists $(resp | head -c 120)"
    else
        bad "after restart /admin/subjects -> $code $(head -c 300 "$body")"
    fi
    http POST "$GW1$ask" '{"amount":1}'
    if [ "$code" = 200 ]; then
        ok "gateway-1 asks my_actor after restart -> 200 $(resp)"
    else
        bad "gateway-1 asks my_actor after restart -> $code $(resp)"
    fi
fi

# Graceful stop (SIGTERM drains): well under docker's 10 s grace period.
s=$SECONDS
compose stop -t 10 gateway-2 >>"$LOGDIR/compose.log" 2>&1
took=$((SECONDS - s))
code=$(docker inspect -f '{{.State.ExitCode}}' "$(container_of gateway-2)" 2>/dev/null)
if [ "$took" -lt 5 ] && [ "$code" = 0 ]; then
    ok "gateway-2 stops on SIGTERM in ${took}s with exit 0"
else
    bad "gateway-2 stop took ${took}s, exit code $code"
fi
exit 0
