#!/bin/sh
# Kademlia interop with js-libp2p (tests/interop/kad.sh) as part of the
# integration stage.
here=$(cd "$(dirname "$0")" && pwd)
exec sh "$here/../interop/kad.sh"
