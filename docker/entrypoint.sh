#!/bin/bash
# Entrypoint of the actorgate image.
#
#   actorgate-entrypoint gateway [FLAG...]       the gateway (default)
#   actorgate-entrypoint counter-node [FLAG...]  the example counter node
#   actorgate-entrypoint health                  HEALTHCHECK probe
#   actorgate-entrypoint COMMAND...              anything else, run as is
#
# Configuration is the ACTORGATE_* environment:
#   ACTORGATE_HTTP, ACTORGATE_LISTEN, ACTORGATE_BOOTSTRAP (comma-separated
#   multiaddrs), ACTORGATE_KEY, ACTORGATE_DB, ACTORGATE_SCHEMAS,
#   ACTORGATE_ADMIN_TOKEN
#       The gateway reads these itself (fallbacks of its flags, so the token
#       never shows in the process list). For counter-node, which takes
#       flags only, LISTEN, KEY, BOOTSTRAP and NAME become --listen, --key,
#       --bootstrap (one per address) and --name.
#   ACTORGATE_NAME
#       counter-node: the name its counter actor is registered under.
#   ACTORGATE_PUBLISH_ADDR=FILE
#       Once the program has printed "PEER_ID <id>" and "LISTEN <multiaddr>",
#       write "<multiaddr>/p2p/<id>" to FILE (atomically). The bootstrap node
#       of a cluster does this into a volume shared with the other services.
#   ACTORGATE_BOOTSTRAP_FILE=FILE
#       Wait (up to ACTORGATE_BOOTSTRAP_WAIT seconds, default 60) for FILE and
#       add the address in it to ACTORGATE_BOOTSTRAP. This is how the other
#       services learn the bootstrap node's peer id, which comes from its key
#       (kept in its volume, so it stays the same across restarts) rather
#       than from anything fixed in the image or the compose file.
#
# Readiness: the gateway is healthy when GET /readyz on ACTORGATE_HTTP answers
# 204 (any 2xx); a counter node when it has announced its address (and still runs).
set -euo pipefail

RUN_DIR=/tmp/actorgate # container-local; recreated at every start

say() { printf 'entrypoint: %s\n' "$*" >&2; }

# --- health ---------------------------------------------------------------
http_ready() {
    local hp=${ACTORGATE_HTTP:-127.0.0.1:8080} host port status
    port=${hp##*:}
    host=${hp%:*}
    host=${host#[}
    host=${host%]}
    case $host in "" | 0.0.0.0) host=127.0.0.1 ;; "::") host=::1 ;; esac
    exec 3<>"/dev/tcp/$host/$port" || return 1
    printf 'GET /readyz HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$hp" >&3
    IFS= read -r -t 3 status <&3 || return 1
    exec 3>&-
    case $status in "HTTP/1."[01]" 2"[0-9][0-9]*) return 0 ;; esac
    echo "readyz: ${status%$'\r'}" >&2
    return 1
}

health() {
    local role pid
    role=$(cat "$RUN_DIR/role" 2>/dev/null) || { echo "not started" >&2; exit 1; }
    pid=$(cat "$RUN_DIR/pid")
    kill -0 "$pid" 2>/dev/null || { echo "$role (pid $pid) is gone" >&2; exit 1; }
    case $role in
    gateway) http_ready || exit 1 ;;
    *) [ -s "$RUN_DIR/ready" ] || { echo "$role has not announced its address" >&2; exit 1; } ;;
    esac
    exit 0
}

# --- bootstrap address exchange -------------------------------------------
bootstrap_from_file() {
    local f=${ACTORGATE_BOOTSTRAP_FILE:-} wait=${ACTORGATE_BOOTSTRAP_WAIT:-60} addr end
    [ -n "$f" ] || return 0
    end=$((SECONDS + wait))
    until [ -s "$f" ]; do
        if [ "$SECONDS" -ge "$end" ]; then
            say "no bootstrap address in $f after ${wait}s"
            exit 1
        fi
        sleep 0.2
    done
    addr=$(head -n1 "$f")
    say "bootstrap peer from $f: $addr"
    ACTORGATE_BOOTSTRAP=${ACTORGATE_BOOTSTRAP:+$ACTORGATE_BOOTSTRAP,}$addr
    export ACTORGATE_BOOTSTRAP
}

# Copies the program's output through and watches for its announcements.
announce_reader() {
    local line id="" listen="" addr tmp
    while IFS= read -r line; do
        printf '%s\n' "$line"
        case $line in
        "PEER_ID "*) id=${line#PEER_ID } ;;
        "LISTEN "*) [ -n "$listen" ] || listen=${line#LISTEN } ;;
        *) continue ;;
        esac
        [ -n "$id" ] && [ -n "$listen" ] && [ ! -s "$RUN_DIR/ready" ] || continue
        addr=$listen
        case $addr in */p2p/*) ;; *) addr=$addr/p2p/$id ;; esac
        if [ -n "${ACTORGATE_PUBLISH_ADDR:-}" ]; then
            tmp=$ACTORGATE_PUBLISH_ADDR.$$
            if printf '%s\n' "$addr" >"$tmp" && mv -f "$tmp" "$ACTORGATE_PUBLISH_ADDR"; then
                printf 'entrypoint: published %s to %s\n' "$addr" "$ACTORGATE_PUBLISH_ADDR"
            else
                printf 'entrypoint: cannot write %s\n' "$ACTORGATE_PUBLISH_ADDR"
            fi
        fi
        printf '%s\n' "$addr" >"$RUN_DIR/ready"
    done
}

# Replaces this shell with the program (same pid, so it gets the signals
# that docker stop / tini send), its output going through announce_reader.
run() {
    local role=$1
    shift
    rm -rf "$RUN_DIR"
    mkdir -p "$RUN_DIR"
    echo "$role" >"$RUN_DIR/role"
    echo $$ >"$RUN_DIR/pid"
    if [ -n "${ACTORGATE_PUBLISH_ADDR:-}" ]; then
        rm -f "$ACTORGATE_PUBLISH_ADDR" # never hand out a stale address
    fi
    exec 3>&1
    exec > >(announce_reader >&3) 2>&1
    exec 3>&-
    # Line-buffered stdout even when the program does not flush its own.
    exec stdbuf -oL -eL "$@"
}

role=${1:-gateway}
[ $# -eq 0 ] || shift
case $role in
health)
    health
    ;;
gateway)
    bootstrap_from_file
    run gateway gateway "$@"
    ;;
counter-node)
    bootstrap_from_file
    args=()
    [ -z "${ACTORGATE_LISTEN:-}" ] || args+=(--listen "$ACTORGATE_LISTEN")
    [ -z "${ACTORGATE_KEY:-}" ] || args+=(--key "$ACTORGATE_KEY")
    [ -z "${ACTORGATE_NAME:-}" ] || args+=(--name "$ACTORGATE_NAME")
    IFS=, read -r -a peers <<<"${ACTORGATE_BOOTSTRAP:-}"
    for p in "${peers[@]}"; do
        [ -z "$p" ] || args+=(--bootstrap "$p")
    done
    run counter-node counter-node "${args[@]}" "$@"
    ;;
*)
    exec "$role" "$@"
    ;;
esac
