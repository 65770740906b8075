#!/bin/bash
# Proof of "setup from nothing": on a freshly debootstrapped Debian 12 (cached
# by tests/lib/rootfs.sh), the repository's own deps installer brings every
# package, adding bookworm-backports itself, and the tree then builds and
# passes its tests.
#
#   tests/deps-proof/run.sh            fast form: make deps, then `make all unit`
#   FULL=1 tests/deps-proof/run.sh     full form: make deps, then `make test`
#                                      (everything CI runs; slow: see README)
#
# Steps, each one counted as a check:
#   1. cached rootfs (debootstrap once, ~35 s; later runs reuse the tarball)
#   2. unpack it into a scratch folder, copy in a clean `git archive` of the
#      checkout (tracked files as they are in the work tree, staged or not)
#   3. the host's resolver is copied in; deb.debian.org must resolve inside
#   4. `make deps` recipe (sh .ci/deps.sh) installs everything; a fresh
#      minbase system has no make, so the recipe is run directly, exactly as
#      `make deps` would run it
#   5. it added bookworm-backports and installed ngtcp2 >= 1.11 from there
#   6. `make deps` now runs (make exists) and is quiet: nothing left missing
#   7. `make $DEPS_PROOF_TARGETS` (default "all unit"; FULL=1: "test")
#   8. afterwards no mount is left behind
# Every command runs in its own mount and PID namespace (unshare), chrooted
# into the scratch tree, so /proc, /dev, /sys and the apt cache mounts vanish
# with it even if the run is killed; the scratch tree is removed on exit
# (KEEP=1 keeps it for inspection).
#
# Environment:
#   ACTORGATE_CACHE       cache folder (default /var/cache/actorgate)
#   DEPS_PROOF_TARGETS    make targets of step 7 (default "all unit")
#   DEPS_PROOF_REF        git revision to test instead of the work tree
#   DEPS_PROOF_APT_CACHE  folder bind-mounted as the chroot's apt archive
#                         cache so that .deb files are downloaded once
#                         (default $ACTORGATE_CACHE/apt-archives; "none" to
#                         download everything every time)
#   DEPS_PROOF_TIMEOUT    seconds allowed per step (default 1800)
#   DEPS_PROOF_JOBS       make -j (default: number of CPUs)
#   DEPS_PROOF_DOCKER     "host": bind-mount the host's Docker socket into the
#                         chroot for step 7 (docker/dockerd.sh starts a daemon
#                         when none runs, and it is stopped afterwards if so);
#                         "none"; default "host" with FULL=1, else "none"
# Needs root, unshare, chroot, tar, git. Network: apt reaches deb.debian.org
# through the host's resolver; nothing else leaves the machine.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
rootfs=$top/tests/lib/rootfs.sh
CACHE=${ACTORGATE_CACHE:-/var/cache/actorgate}
export ACTORGATE_CACHE=$CACHE
FULL=${FULL:-0}
if [ "$FULL" = 1 ]; then
    TARGETS=${DEPS_PROOF_TARGETS:-test}
else
    TARGETS=${DEPS_PROOF_TARGETS:-all unit}
fi
APT_CACHE=${DEPS_PROOF_APT_CACHE:-$CACHE/apt-archives}
DOCKER_SHARE=${DEPS_PROOF_DOCKER:-auto}
[ "$DOCKER_SHARE" != auto ] || { [ "$FULL" = 1 ] && DOCKER_SHARE=host || DOCKER_SHARE=none; }
STEP_TIMEOUT=${DEPS_PROOF_TIMEOUT:-1800}
JOBS=${DEPS_PROOF_JOBS:-$(nproc)}
LOGDIR=$CACHE/deps-proof
LOG=$LOGDIR/last.log

passed=0 failed=0 scratch="" docker_sock="" node_ca="" dockerd_ours=0 t0=$(date +%s.%N)
timings=()

say() { printf 'deps-proof: %s\n' "$*"; }
ok() { passed=$((passed + 1)); say "ok   $*"; }
bad() { failed=$((failed + 1)); say "FAIL $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }
timed() { timings+=("$(printf '%-34s %7s s' "$1" "$2")"); }

finish() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$scratch" ]; then
        if [ "${KEEP:-0}" = 1 ]; then
            say "kept $scratch (remove it with: $rootfs remove $scratch)"
        else
            "$rootfs" remove "$scratch" || bad "could not remove $scratch"
        fi
        if [ -n "$(awk -v p="$scratch" 'index($2, p) == 1' /proc/self/mounts)" ]; then
            bad "mounts left behind under $scratch"
        else
            ok "no mount left behind"
        fi
    fi
    if [ "$dockerd_ours" = 1 ]; then
        "$top/docker/dockerd.sh" stop || bad "dockerd stop"
    fi
    say "timings:"
    for l in "${timings[@]}"; do printf '  %s\n' "$l"; done
    printf '  %-34s %7s s\n' total "$(since "$t0")"
    say "log: $LOG"
    echo "deps-proof: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$rc" -eq 0 ] && exit 0
    exit 1
}
trap finish EXIT
trap 'bad "interrupted"; exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || { bad "must run as root (chroot, mounts)"; exit 1; }
for c in unshare chroot tar git flock timeout; do
    command -v "$c" >/dev/null || { bad "missing command: $c"; exit 1; }
done
mkdir -p "$LOGDIR"
: >"$LOG"

# Runs a shell command inside the scratch root, in fresh mount and PID
# namespaces, with the environment of a fresh login (env -i).
in_root() {
    local aptc=""
    [ "$APT_CACHE" = none ] || aptc=$APT_CACHE
    timeout --kill-after=10 "$STEP_TIMEOUT" \
        unshare --mount --pid --fork --kill-child --propagation private -- \
        /bin/sh -euc '
            r=$1 aptc=$2 cmd=$3 sock=$4 ca=$5
            # / of the chroot a mount point, as on a real system (unshare
            # and dockerd inside need to change its propagation).
            mount --bind "$r" "$r"
            mount -t proc proc "$r/proc"
            mount --rbind /dev "$r/dev"
            mount --rbind /sys "$r/sys"
            if [ -n "$aptc" ]; then
                mount --bind "$aptc" "$r/var/cache/apt/archives"
            fi
            if [ -n "$sock" ]; then
                : >"$r/run/docker.sock"
                mount --bind "$sock" "$r/run/docker.sock"
            fi
            exec chroot "$r" /usr/bin/env -i HOME=/root LANG=C.UTF-8 ACTORGATE_NESTED=1 \
                TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                ${ca:+NODE_EXTRA_CA_CERTS=$ca} \
                /bin/sh -c "$cmd"
        ' sh "$scratch/root" "$aptc" "$1" "$docker_sock" "$node_ca"
}

# 1. cached rootfs
s=$(now)
if tarball=$("$rootfs" path 2>"$LOGDIR/rootfs.log"); then
    cat "$LOGDIR/rootfs.log" >>"$LOG"
    if grep -q debootstrap "$LOGDIR/rootfs.log"; then
        timed "rootfs (cache miss: debootstrap)" "$(since "$s")"
    else
        timed "rootfs (cache hit)" "$(since "$s")"
    fi
    ok "rootfs $tarball"
else
    bad "rootfs: see $LOG"; tail -20 "$LOG"; exit 1
fi

# 2. scratch tree with a clean copy of the sources
s=$(now)
scratch=$(mktemp -d "${TMPDIR:-/var/tmp}/actorgate-deps-proof.XXXXXX")
ref=${DEPS_PROOF_REF:-}
if [ -z "$ref" ]; then
    # A stash commit holds the work tree's tracked changes without touching
    # anything; with a clean tree it is empty and HEAD is used.
    ref=$(git -C "$top" stash create 2>/dev/null)
    [ -n "$ref" ] || ref=HEAD
fi
if "$rootfs" unpack "$scratch/root" >/dev/null 2>>"$LOG" &&
    mkdir -p "$scratch/root/src" &&
    git -C "$top" archive --format=tar "$ref" | tar -C "$scratch/root/src" -xf -; then
    timed "unpack rootfs + git archive" "$(since "$s")"
    ok "scratch root $scratch/root with sources of $(git -C "$top" rev-parse --short "$ref")"
else
    bad "unpack or git archive failed: see $LOG"; exit 1
fi
if [ "$APT_CACHE" != none ]; then
    mkdir -p "$APT_CACHE/partial"
fi
# A chroot has no init: services that packages would start (docker.io
# ships one) must not start, exactly as in Debian's container images.
printf '#!/bin/sh\nexit 101\n' >"$scratch/root/usr/sbin/policy-rc.d"
chmod 755 "$scratch/root/usr/sbin/policy-rc.d"

# 3. network for apt through the host's resolver. A host whose HTTPS goes
# through an intercepting proxy trusts the proxy's CA through
# NODE_EXTRA_CA_CERTS; npm inside (the interop tests' js packages) gets the
# same file, as it gets the host's resolver. A fresh machine on the open
# internet needs neither.
cp -L /etc/resolv.conf "$scratch/root/etc/resolv.conf"
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r "$NODE_EXTRA_CA_CERTS" ]; then
    mkdir -p "$scratch/root/etc/ssl"
    cp -L "$NODE_EXTRA_CA_CERTS" "$scratch/root/etc/ssl/host-extra-ca.pem"
    node_ca=/etc/ssl/host-extra-ca.pem
fi
if out=$(in_root 'getent hosts deb.debian.org' 2>&1); then
    ok "deb.debian.org resolves inside ($(echo "$out" | awk 'NR==1 {print $1}'))"
else
    bad "no name resolution inside the chroot: $out"; exit 1
fi

# 4. the deps installer on a system that has none of it
in_root 'command -v make' >/dev/null 2>&1 &&
    say "note: make is already present in the rootfs"
if in_root 'grep -rqs "^[^#]*bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/'; then
    say "note: the rootfs already lists bookworm-backports"
fi
s=$(now)
say "installing dependencies inside (.ci/deps.sh; a few minutes when nothing is cached)"
if in_root 'cd /src && sh .ci/deps.sh' >>"$LOG" 2>&1; then
    timed "deps install (.ci/deps.sh)" "$(since "$s")"
    ok "deps installed on fresh Debian 12 ($(in_root 'dpkg-query -W -f="\${Status}\n" | grep -c "^install ok installed"') packages now)"
else
    timed "deps install (failed)" "$(since "$s")"
    bad "deps install failed:"; tail -30 "$LOG"; exit 1
fi

# 5. backports added by the installer, ngtcp2 1.x from there
if v=$(in_root 'grep -rls "^[^#]*bookworm-backports" /etc/apt/sources.list.d/ /etc/apt/sources.list &&
        v=$(dpkg-query -W -f="\${Version}" libngtcp2-crypto-gnutls-dev) &&
        dpkg --compare-versions "$v" ge 1.11 && echo "$v"' 2>&1); then
    ok "bookworm-backports added, ngtcp2 $(echo "$v" | tail -1)"
else
    bad "backports/ngtcp2 check: $v"
fi

# 6. `make deps` itself, now that make exists: must be a quiet no-op
s=$(now)
if out=$(in_root 'cd /src && make -s deps' 2>&1) && [ -z "$out" ]; then
    timed "make deps (second run, no-op)" "$(since "$s")"
    ok "make deps is idempotent and quiet"
else
    bad "make deps second run not quiet or failed: $out"
fi

# 7. build and tests
if [ "$DOCKER_SHARE" = host ]; then
    # The Docker tests inside use the host's daemon through its socket: a
    # dockerd nested in a chroot runs containers, but `docker exec` (and so
    # every HEALTHCHECK) lands in the host's root instead of the container's.
    if out=$("$top/docker/dockerd.sh" start); then
        case $out in *started*) dockerd_ours=1 ;; esac
        docker_sock=${DOCKER_HOST:-unix:///var/run/docker.sock}
        docker_sock=${docker_sock#unix://}
        ok "host Docker daemon shared with the chroot ($docker_sock)"
    else
        bad "no Docker daemon for the tests inside"
    fi
fi
s=$(now)
say "make $TARGETS inside"
if in_root "cd /src && make -j$JOBS $TARGETS" >>"$LOG" 2>&1; then
    rc=0
else
    rc=$?
fi
timed "make $TARGETS" "$(since "$s")"
grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed' "$LOG" | sed 's/^/  inside: /'
if [ "$rc" -eq 0 ]; then
    ok "make $TARGETS"
else
    bad "make $TARGETS (exit $rc):"; tail -30 "$LOG"
fi
exit 0
