/* Kademlia on /ipfs/kad/1.0.0, as rust-libp2p's kad::Behaviour speaks it
 * (libp2p 0.54, what Kameo 0.12-0.17 uses): k-buckets (k = 20) keyed by
 * SHA-256 of peer ids and record keys, iterative lookups with alpha = 3,
 * FIND_NODE / GET_VALUE / PUT_VALUE, an in-memory record store with TTL and
 * republication, client mode until the node listens, then server mode.
 * Record keys are arbitrary bytes (Kameo's key is the raw actor name).
 *
 * Loop thread only. One instance per node, created by the swarm at
 * bootstrap; other modules find it with al__kad_of(node). */
#ifndef AL_KAD_H
#define AL_KAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"
#include "swarm.h"

typedef struct al__kad al__kad;

/* Creates the node's Kademlia instance: registers the protocol handler and a
 * connection watch on sw. Stored in node->kad; freed at node stop. */
int al__kad_init(al__swarm *sw, al__kad **out);
al__kad *al__kad_of(al_node *node);

/* Server mode answers inbound requests; the swarm switches it on after
 * listen_on, as Kameo does. */
void al__kad_set_server_mode(al__kad *kad, bool server);

/* Adds a peer with a binary multiaddr to the routing table (bootstrap
 * peers, identified peers that support the protocol). */
int al__kad_add_address(al__kad *kad, const al_peer_id *peer,
                        const uint8_t *maddr, size_t len);

typedef void (*al__kad_done_cb)(int status, void *ud);

/* Looks up our own id to fill the routing table (after adding bootstrap
 * peers). status 0 when at least one peer answered. */
int al__kad_bootstrap(al__kad *kad, al__kad_done_cb cb, void *ud);

/* Stores key -> value locally, then, when the swarm has connected peers,
 * PUT_VALUE on the k closest peers found by a lookup (quorum 1: cb gets 0
 * once one peer stored it, or at once with no connected peers, as Kameo).
 * AL_ETIMEDOUT when no peer acknowledged in time. Copies key and value. */
int al__kad_put(al__kad *kad, const uint8_t *key, size_t klen,
                const uint8_t *value, size_t vlen, al__kad_done_cb cb,
                void *ud);

/* Finds a record: the local store first, then an iterative GET_VALUE
 * lookup. cb gets 0 and the value (borrowed for the call), AL_ENOTFOUND
 * when the lookup ended without a record, AL_ETIMEDOUT on the deadline. */
typedef void (*al__kad_get_cb)(int status, const uint8_t *value, size_t vlen,
                               void *ud);
int al__kad_get(al__kad *kad, const uint8_t *key, size_t klen,
                al__kad_get_cb cb, void *ud);

/* Drops a record from the local store (unregister); a tombstone (empty
 * value) is put by the caller when peers should forget it too. */
int al__kad_remove_local(al__kad *kad, const uint8_t *key, size_t klen);

/* Counts for diagnostics and tests. */
size_t al__kad_routing_size(al__kad *kad);
size_t al__kad_store_size(al__kad *kad);

#endif
