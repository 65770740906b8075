/* /ipfs/ping/1.0.0: the responder echoes every 32 bytes it reads, any
 * number of times on one stream; al_swarm_ping (actorlib.h) is the
 * initiator. */
#ifndef AL_PING_H
#define AL_PING_H

#include "swarm.h"

#define AL__PING_PROTOCOL   "/ipfs/ping/1.0.0"
#define AL__PING_LEN        32
#define AL__PING_TIMEOUT_MS 10000

/* Serves ping on sw. */
int al__ping_init(al__swarm *sw);

#endif
