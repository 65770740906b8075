#!/bin/bash
# Makes sure the base image debian:bookworm-slim exists in the local Docker
# daemon, without an image registry:
#   1. present already: nothing to do;
#   2. a saved copy in the cache: `docker load` (keeps the image ID, so the
#      build cache of everything FROM it stays valid);
#   3. otherwise: the slimmed debootstrap rootfs from tests/lib/rootfs.sh
#      (made once, ~35 s) is imported with `docker import`, then saved to the
#      cache for step 2 next time.
# The tag is the official one, so docker/Dockerfile stays the same on
# machines that can pull from a registry. When no Docker daemon answers, one
# is started for the duration of this script (docker/dockerd.sh) and stopped
# again at its end; the image stays in the daemon's data root for next time.
#
# Environment: ACTORGATE_CACHE (default /var/cache/actorgate), DOCKER_HOST,
# BASE_IMAGE (default debian:bookworm-slim; the suite comes from its tag).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
CACHE=${ACTORGATE_CACHE:-/var/cache/actorgate}
export ACTORGATE_CACHE=$CACHE
IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
suite=${IMAGE#*:}
suite=${suite%-slim}
SAVED=$CACHE/images/${IMAGE//[:\/]/_}.docker.tar

say() { printf 'base-image: %s\n' "$*" >&2; }

present() { docker image inspect "$IMAGE" >/dev/null 2>&1; }

if ! timeout 10 docker info >/dev/null 2>&1; then
    out=$("$here/dockerd.sh" start) || exit 1
    say "${out#dockerd: }"
    case $out in *started*) trap '"$here/dockerd.sh" stop >&2' EXIT ;; esac
fi

present && { say "$IMAGE present"; exit 0; }

mkdir -p "$CACHE/images"
exec 9>"$CACHE/images/.lock"
flock -w 1800 9 || { say "error: $CACHE/images/.lock held too long"; exit 1; }
present && { say "$IMAGE present"; exit 0; }

start=$SECONDS
if [ -s "$SAVED" ] && docker load -i "$SAVED" >/dev/null && present; then
    say "$IMAGE loaded from $SAVED ($((SECONDS - start)) s)"
    exit 0
fi

tarball=$(ROOTFS_SUITE=$suite "$here/../tests/lib/rootfs.sh" slim)
docker import \
    -c 'CMD ["bash"]' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -m "debootstrap --variant=minbase $suite, slimmed like the official -slim images" \
    "$tarball" "$IMAGE" >/dev/null
docker save -o "$SAVED.part" "$IMAGE" && mv -f "$SAVED.part" "$SAVED"
say "$IMAGE imported from $tarball and saved to $SAVED ($((SECONDS - start)) s)"
