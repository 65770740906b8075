#!/bin/sh
# Installs every Debian package actorgate needs (DESIGN §3) on Debian 12.
# Idempotent and quiet when everything is present. Must run as root
# (or through sudo) when something is missing.
set -eu

MAIN_PKGS="gcc make pkg-config libc6-dev ca-certificates curl git
 libuv1-dev libgnutls28-dev libssl-dev libmicrohttpd-dev libjansson-dev
 libsqlite3-dev sqlite3 libmsgpack-dev libcbor-dev libprotobuf-c-dev
 protobuf-c-compiler libcmocka-dev clang libclang-rt-14-dev clang-format
 valgrind iproute2 procps wrk erlang-base debootstrap docker.io
 docker-compose xz-utils jq linux-perf"
BPO_PKGS="libngtcp2-dev libngtcp2-crypto-gnutls-dev"
BPO_LINE="deb http://deb.debian.org/debian bookworm-backports main"

missing() {
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
            grep -q '^install ok installed$' || echo "$p"
    done
}

# ngtcp2 1.x lives only in backports; bookworm's 0.12 has another API.
ngtcp2_ok() {
    v=$(dpkg-query -W -f='${Version}' libngtcp2-crypto-gnutls-dev 2>/dev/null) || return 1
    dpkg --compare-versions "$v" ge 1.11
}

need_main=$(missing $MAIN_PKGS)
# Node.js >= 20 runs the js-libp2p peer; tests fetch a newer node from npm
# when the system one is older, so npm alone is required here.
command -v npm >/dev/null 2>&1 || need_main="$need_main npm"
need_bpo=""
ngtcp2_ok || need_bpo=$BPO_PKGS

[ -z "$(echo $need_main $need_bpo)" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

if [ -n "$need_bpo" ] &&
   ! grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deps: adding bookworm-backports to apt sources"
    echo "$BPO_LINE" | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
fi

echo "deps: installing:$(echo " " $need_main $need_bpo)"
$SUDO apt-get update -qq
[ -z "$(echo $need_main)" ] ||
    $SUDO apt-get install -y -qq --no-install-recommends $need_main >/dev/null
[ -z "$need_bpo" ] ||
    $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports $need_bpo >/dev/null
echo "deps: done"
