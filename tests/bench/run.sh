#!/bin/sh
# make bench: every benchmark, each next to a baseline measured in the same
# run. Figures are printed, never asserted.
set -u
B=${BUILD:-build}
echo "== local actors (one loop) =="
"$B/bin/bench-local"
