#!/bin/bash
# Starts a Docker daemon when none answers, and stops only the one it started.
#
#   docker/dockerd.sh start    start dockerd unless one answers already; waits
#                              until `docker info` answers (deadline, no fixed
#                              sleep). Prints "dockerd: started (pid N)" or
#                              "dockerd: already running (ours|not ours)".
#   docker/dockerd.sh stop     stop the daemon only if `start` started it
#   docker/dockerd.sh status   exit 0: ours is running, 3: a daemon not started
#                              here answers, 1: none answers
#
# The daemon runs the way that works on machines without a bridge or
# iptables (research in DESIGN §7): --iptables=false --bridge=none, so
# containers and builds use host networking (`docker build --network host`,
# compose `network_mode: host`). Its data root lives in the cache folder, so
# images (the imported base, the build cache) survive between runs.
#
# Environment:
#   ACTORGATE_CACHE   cache folder (default /var/cache/actorgate); the daemon's
#                     state is in $ACTORGATE_CACHE/docker/
#   DOCKER_HOST       socket to serve and to probe (default
#                     unix:///var/run/docker.sock); must be unix:// to start one
#   DOCKERD_WAIT      seconds to wait for the daemon to answer (default 60)
#   DOCKERD_STOP_WAIT seconds to wait for it to exit on stop (default 30)
set -euo pipefail

CACHE=${ACTORGATE_CACHE:-/var/cache/actorgate}
STATE=$CACHE/docker
HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
WAIT=${DOCKERD_WAIT:-60}
STOP_WAIT=${DOCKERD_STOP_WAIT:-30}
OURS=$STATE/started-here.pid # pid of the daemon this script started
PIDFILE=$STATE/dockerd.pid
LOG=$STATE/dockerd.log

say() { printf 'dockerd: %s\n' "$*"; }
die() { say "error: $*" >&2; exit 1; }

answers() { DOCKER_HOST=$HOST timeout 10 docker info >/dev/null 2>&1; }

# The pid in $OURS, if that process still is a dockerd.
our_pid() {
    local pid
    [ -s "$OURS" ] || return 1
    pid=$(cat "$OURS")
    [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = dockerd ] || return 1
    echo "$pid"
}

lock() {
    mkdir -p "$STATE"
    exec 9>"$STATE/.lock"
    flock -w 120 9 || die "$STATE/.lock held for 120 s by another run"
}

deadline_wait() { # deadline_wait SECONDS COMMAND...: poll every 0.2 s
    local end=$((SECONDS + $1))
    shift
    while ! "$@"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.2
    done
}

start() {
    local pid
    lock
    if answers; then
        if pid=$(our_pid); then
            say "already running (ours, pid $pid)"
        else
            say "already running (not ours)"
        fi
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || die "must run as root to start dockerd"
    command -v dockerd >/dev/null || die "dockerd missing (apt-get install docker.io)"
    case $HOST in unix://*) ;; *) die "can only start a daemon on a unix:// socket, not $HOST" ;; esac
    if pid=$(our_pid); then
        die "our dockerd (pid $pid) runs but does not answer; see $LOG"
    fi
    mkdir -p "$STATE/data" "$STATE/exec"
    # setsid: the daemon gets none of the signals meant for the caller's
    # terminal (Ctrl-C) and outlives the caller; `stop` ends it.
    setsid dockerd --iptables=false --bridge=none \
        --data-root "$STATE/data" --exec-root "$STATE/exec" \
        --pidfile "$PIDFILE" -H "$HOST" </dev/null >"$LOG" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$OURS"
    alive() { kill -0 "$pid" 2>/dev/null; }
    up() { answers || ! alive; }
    if ! deadline_wait "$WAIT" up || ! alive; then
        tail -20 "$LOG" >&2
        kill "$pid" 2>/dev/null || true
        rm -f "$OURS"
        die "dockerd did not answer within ${WAIT}s"
    fi
    say "started (pid $pid, data root $STATE/data, log $LOG)"
}

stop() {
    local pid
    lock
    if ! pid=$(our_pid); then
        rm -f "$OURS"
        if answers; then
            say "running but not started here; leaving it"
        else
            say "not running"
        fi
        return 0
    fi
    kill -TERM "$pid"
    gone() { ! kill -0 "$pid" 2>/dev/null; }
    if ! deadline_wait "$STOP_WAIT" gone; then
        say "pid $pid ignored SIGTERM for ${STOP_WAIT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        deadline_wait 10 gone || die "pid $pid does not exit"
    fi
    # dockerd leaves its default network namespace mounted (nsfs).
    awk -v p="$STATE/exec/" 'index($2, p) == 1 {print $2}' /proc/self/mounts |
        sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -f "$OURS"
    say "stopped (pid $pid)"
}

status() {
    local pid
    if pid=$(our_pid) && answers; then
        say "running (ours, pid $pid)"
        return 0
    elif answers; then
        say "running (not ours)"
        return 3
    fi
    say "not running"
    return 1
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
