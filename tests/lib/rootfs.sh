#!/bin/bash
# Cached Debian root filesystems, made once with debootstrap and kept as
# tarballs outside the repository. Two consumers:
#   - tests/deps-proof/run.sh unpacks the plain one ("a fresh Debian 12") and
#     proves that `make deps` installs everything on it;
#   - docker/base-image.sh imports the slimmed one as debian:bookworm-slim,
#     because no image registry is reachable here.
#
# Usage: tests/lib/rootfs.sh COMMAND
#   path          make the plain rootfs tarball if missing; print its path
#   slim          make the slimmed tarball (Docker base image) if missing; print its path
#   unpack DIR    unpack the plain rootfs into DIR (created; must be empty)
#   remove DIR    remove an unpacked tree; unmounts what is left mounted inside
#                 it first and refuses (exit 1) if a mount remains
#   info          what is cached
#   refresh       drop the cached tarballs and make them again
#   clean         drop the cached tarballs
#
# Environment:
#   ACTORGATE_CACHE   cache folder (default /var/cache/actorgate); tarballs go
#                     to $ACTORGATE_CACHE/rootfs/
#   ROOTFS_SUITE      default bookworm
#   ROOTFS_MIRROR     default http://deb.debian.org/debian
#   ROOTFS_LOCK_WAIT  seconds to wait for another run building the same
#                     tarball (default 1800)
#
# Needs root, debootstrap, tar, flock and unshare. Building takes about 35 s
# (network bound); a cache hit takes milliseconds. Concurrent runs are
# serialised by a lock; tarballs appear atomically (rename), so a reader never
# sees a half-written one. Progress goes to stderr, paths to stdout.
set -euo pipefail

CACHE=${ACTORGATE_CACHE:-/var/cache/actorgate}
SUITE=${ROOTFS_SUITE:-bookworm}
MIRROR=${ROOTFS_MIRROR:-http://deb.debian.org/debian}
LOCK_WAIT=${ROOTFS_LOCK_WAIT:-1800}
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
DIR=$CACHE/rootfs
PLAIN=$DIR/$SUITE-minbase-$ARCH.tar
SLIM=$DIR/$SUITE-slim-$ARCH.tar

log() { printf 'rootfs: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot)"
}

with_lock() {
    mkdir -p "$DIR"
    exec 9>"$DIR/.lock"
    if ! flock -n 9; then
        log "waiting for another run holding $DIR/.lock (up to ${LOCK_WAIT}s)"
        flock -w "$LOCK_WAIT" 9 || die "lock $DIR/.lock not released in ${LOCK_WAIT}s"
    fi
}

# Removes a scratch tree, but never across a mount point: a leftover bind
# mount of /dev or /proc inside it must not be followed by rm -rf.
mounts_under() { # mount points at or below $1, deepest first
    awk -v p="$1" '$2 == p || index($2, p "/") == 1 {print $2}' /proc/self/mounts |
        sort -r
}

remove_tree() {
    local t m
    [ -n "$1" ] && [ -d "$1" ] || return 0
    t=$(realpath "$1")
    [ "$t" != / ] || die "refusing to remove /"
    for m in $(mounts_under "$t"); do umount -l "$m" 2>/dev/null || true; done
    if [ -n "$(mounts_under "$t")" ]; then
        log "warning: mounts remain under $t; not removing it"
        return 1
    fi
    rm -rf --one-file-system "$t"
}

# Files every image of the host's own making must not carry, and the apt
# sources of a freshly installed Debian 12 (main, updates, security; no
# backports: adding that is the job of .ci/deps.sh).
neutralise() {
    local r=$1
    rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin \
        "$r"/var/cache/apt/archives/*.deb "$r"/var/log/* "$r"/tmp/* \
        "$r"/debootstrap
    : >"$r/etc/resolv.conf"
    echo localhost >"$r/etc/hostname"
    cat >"$r/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
EOF
}

# The same trimming as Debian's official -slim images (research/docker.md).
slim_tree() {
    local r=$1
    cat >"$r/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$r/etc/apt/apt.conf.d/docker-no-languages"
    cat >"$r/etc/dpkg/dpkg.cfg.d/docker-excludes" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
EOF
    find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$r/usr/share/man" "$r/usr/share/info" -mindepth 1 -delete
    find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias \
        -exec rm -rf {} +
}

pack() { # pack TREE OUT: numeric owners so the tarball is host-independent
    tar -C "$1" --numeric-owner -cf "$2.part" .
    mv -f "$2.part" "$2"
}

make_plain() {
    [ -s "$PLAIN" ] && return 0
    need_root
    command -v debootstrap >/dev/null || die "debootstrap missing (apt-get install debootstrap)"
    local t start
    t=$(mktemp -d "$DIR/build.XXXXXX")
    trap 'remove_tree "$t"' EXIT
    start=$(date +%s)
    log "debootstrap --variant=minbase $SUITE from $MIRROR (about 35 s)"
    # Own mount namespace: whatever debootstrap mounts in the target (proc,
    # sys) disappears with it, even if it dies half-way. Inside a chroot
    # whose / is no mount point, private propagation cannot be set; there
    # the namespace keeps the propagation it inherits.
    local prop=private
    unshare --mount --propagation private true 2>/dev/null || prop=unchanged
    if ! unshare --mount --propagation "$prop" -- \
        debootstrap --variant=minbase "$SUITE" "$t/root" "$MIRROR" \
        >"$t/debootstrap.log" 2>&1; then
        tail -20 "$t/debootstrap.log" >&2
        die "debootstrap failed"
    fi
    neutralise "$t/root"
    pack "$t/root" "$PLAIN"
    {
        echo "suite=$SUITE variant=minbase arch=$ARCH mirror=$MIRROR"
        echo "made=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$(($(date +%s) - start))"
        echo "debian_version=$(cat "$t/root/etc/debian_version")"
        echo "debootstrap=$(dpkg-query -W -f='${Version}' debootstrap 2>/dev/null || echo '?')"
    } >"$PLAIN.info"
    remove_tree "$t"
    trap - EXIT
    log "made $PLAIN ($(du -m "$PLAIN" | cut -f1) MB, $(($(date +%s) - start)) s)"
}

make_slim() {
    [ -s "$SLIM" ] && return 0
    make_plain
    local t
    t=$(mktemp -d "$DIR/build.XXXXXX")
    trap 'remove_tree "$t"' EXIT
    mkdir "$t/root"
    tar -C "$t/root" --numeric-owner -xf "$PLAIN"
    slim_tree "$t/root"
    pack "$t/root" "$SLIM"
    remove_tree "$t"
    trap - EXIT
    log "made $SLIM ($(du -m "$SLIM" | cut -f1) MB)"
}

cmd=${1:-}
case "$cmd" in
path)
    [ -s "$PLAIN" ] || { with_lock; make_plain; }
    echo "$PLAIN"
    ;;
slim)
    [ -s "$SLIM" ] || { with_lock; make_slim; }
    echo "$SLIM"
    ;;
unpack)
    dest=${2:?usage: rootfs.sh unpack DIR}
    [ -s "$PLAIN" ] || { with_lock; make_plain; }
    mkdir -p "$dest"
    [ -z "$(ls -A "$dest")" ] || die "$dest is not empty"
    tar -C "$dest" --numeric-owner -xf "$PLAIN"
    echo "$dest"
    ;;
remove)
    remove_tree "${2:?usage: rootfs.sh remove DIR}"
    ;;
info)
    for f in "$PLAIN" "$SLIM"; do
        if [ -s "$f" ]; then
            echo "$f $(du -m "$f" | cut -f1) MB"
        else
            echo "$f (missing)"
        fi
    done
    [ -s "$PLAIN.info" ] && cat "$PLAIN.info"
    ;;
refresh)
    with_lock
    rm -f "$PLAIN" "$PLAIN.info" "$SLIM"
    make_slim
    echo "$PLAIN"
    ;;
clean)
    with_lock
    rm -f "$PLAIN" "$PLAIN.info" "$SLIM"
    ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
