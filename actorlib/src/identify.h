/* /ipfs/id/1.0.0: answers identify requests (publicKey, listenAddrs,
 * protocols, observedAddr, protocolVersion, agentVersion) and asks every
 * newly connected peer, recording what it says in the swarm (agent,
 * protocols, listen addresses into the address book) and emitting
 * AL_SWARM_IDENTIFIED. The message codec is identify_msg.h. */
#ifndef AL_IDENTIFY_H
#define AL_IDENTIFY_H

#include "swarm.h"

#define AL__IDENTIFY_PROTOCOL         "/ipfs/id/1.0.0"
#define AL__IDENTIFY_PROTOCOL_VERSION "ipfs/0.1.0"

/* Serves identify on sw and asks every new peer; w (owned by the caller,
 * living as long as sw) is the connection watch it registers. */
int al__identify_init(al__swarm *sw, al__conn_watch *w);

#endif
