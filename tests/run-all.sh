#!/bin/sh
# make test: everything the project tests, in order of cost. Each stage
# prints its own summary; the last line totals them.
set -u
cd "$(dirname "$0")/.." || exit 1
log=$(mktemp)
total_p=0 total_f=0 failed_stages=""

stage() {
    name=$1; shift
    echo "== $name =="
    { "$@" 2>&1; echo $? >"$log.rc"; } | tee "$log"
    rc=$(cat "$log.rc")
    last=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    p=$(printf '%s' "$last" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
    f=$(printf '%s' "$last" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
    total_p=$((total_p + ${p:-0})); total_f=$((total_f + ${f:-0}))
    if [ "$rc" -ne 0 ] || [ -z "$last" ]; then
        failed_stages="$failed_stages $name"
        [ -n "$last" ] && [ "${f:-0}" -gt 0 ] || total_f=$((total_f + 1))
    fi
}

run_make() { make --no-print-directory "$@"; }

stage build sh -c 'make --no-print-directory all tools >/dev/null && echo "build: 1 passed, 0 failed"'
stage style sh -c 'make --no-print-directory check-style && echo "style: 1 passed, 0 failed"'
stage unit run_make unit
stage unit-asan run_make unit-asan
stage integration run_make integration
stage integration-asan run_make integration-asan
stage interop env BUILD="${BUILD:-build}" sh tests/interop/run.sh
stage interop-kameo env BUILD="${BUILD:-build}" sh tests/interop/kameo.sh
stage interop-kad env BUILD="${BUILD:-build}" sh tests/interop/kad.sh
stage fuzz env FUZZ_SECONDS="${FUZZ_SECONDS:-5}" make --no-print-directory fuzz-smoke
# The Docker image and the Compose cluster (three nodes, two gateways),
# with dockerd and the base image made locally when missing.
stage docker bash tests/docker/run.sh
# A fresh Debian 12 root (cached debootstrap) runs `make deps` and a build
# with unit tests; ACTORGATE_NESTED marks the run inside it, which must not
# recurse. FULL=1 tests/deps-proof/run.sh runs the whole `make test` there.
if [ -z "${ACTORGATE_NESTED:-}" ]; then
    stage deps-proof bash tests/deps-proof/run.sh
fi
rm -f "$log" "$log.rc"
echo "== total =="
[ -z "$failed_stages" ] || echo "failed stages:$failed_stages"
echo "$total_p passed, $total_f failed"
[ -z "$failed_stages" ]
