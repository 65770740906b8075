#!/bin/sh
# make run: starts the local example. (Grows into the local cluster: the
# counter node plus the gateway.)
set -eu
B=${BUILD:-build}
exec "$B/bin/counter-local"
