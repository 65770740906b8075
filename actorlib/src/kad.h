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

/* Creates the node's Kademlia instance: a connection watch on sw and a
 * node closer. Stored in node->kad. When the node stops, the closer ends
 * the operations (AL_ECANCELED) and the streams; from then on
 * al__kad_of(node) is NULL. */
int al__kad_init(al__swarm *sw, al__kad **out);
al__kad *al__kad_of(al_node *node);
/* Frees the instance; the swarm calls it from its own shutdown, once no
 * more stream or watch callbacks can come (the watch lives in the
 * instance). Also ends everything when the closer has not run. */
void al__kad_free(al__kad *kad);

/* Server mode answers inbound requests; the swarm switches it on after
 * listen_on, as Kameo does. The protocol is registered with the swarm (and
 * so advertised by identify) at the first switch to server mode; before
 * that, inbound kad streams get "na" as from a rust client. Switching back
 * to client mode resets inbound streams. */
void al__kad_set_server_mode(al__kad *kad, bool server);
bool al__kad_server_mode(const al__kad *kad);

/* Adds a peer with a binary multiaddr to the routing table (bootstrap
 * peers) and to the swarm's address book. The address must be a dialable
 * QUIC multiaddr (a trailing /p2p/<peer> is allowed): AL_EINVAL otherwise
 * or for our own id; AL_ELIMIT when the peer's bucket is full. */
int al__kad_add_address(al__kad *kad, const al_peer_id *peer,
                        const uint8_t *maddr, size_t len);

/* For the identify module: what a peer said it serves, with its listen
 * addresses (binary multiaddrs). A peer that serves /ipfs/kad/1.0.0 is
 * put in the routing table (server mode peers only, as the spec wants);
 * one that does not is removed from it. */
void al__kad_peer_protocols(al__kad *kad, const al_peer_id *peer,
                            const char *const *protocols, size_t n,
                            const uint8_t *const *maddrs, const size_t *lens,
                            size_t naddrs);

typedef void (*al__kad_done_cb)(int status, void *ud);

/* Looks up our own id to fill the routing table (after adding bootstrap
 * peers). status 0 when at least one peer answered; AL_ENOTFOUND when no
 * peer is known or none answered; AL_ETIMEDOUT. The routing table is also
 * refreshed this way every 5 minutes while it is not empty.
 *
 * Callbacks of this module never run inside the call that started the
 * operation; they run on the loop, and with AL_ECANCELED when the node
 * stops first. */
int al__kad_bootstrap(al__kad *kad, al__kad_done_cb cb, void *ud);

/* Stores key -> value locally, then, when the swarm has connected peers,
 * PUT_VALUE on the k closest peers found by a lookup (quorum 1: cb gets 0
 * once one peer stored it, or at once with no connected peers, as Kameo).
 * AL_ETIMEDOUT when no peer acknowledged in time (10 s); AL_ENOTFOUND when
 * the lookup found no peer or every peer refused (rust's QuorumFailed);
 * the record stays in the local store either way and is republished. The
 * call fails with AL_ELIMIT when the PUT_VALUE would not fit in one
 * 16 KiB packet (about 16 KiB less the key) or the store is full. Records
 * live 48 h (rust-libp2p's default); own records are republished every
 * 22 h, stored ones replicated hourly. Copies key and value. */
int al__kad_put(al__kad *kad, const uint8_t *key, size_t klen,
                const uint8_t *value, size_t vlen, al__kad_done_cb cb,
                void *ud);

/* Finds a record: the local store first, then an iterative GET_VALUE
 * lookup. cb gets 0 and the value (borrowed for the call; an empty value,
 * a tombstone, is passed as found), AL_ENOTFOUND when the lookup ended
 * without a record, AL_ETIMEDOUT on the deadline (10 s). */
typedef void (*al__kad_get_cb)(int status, const uint8_t *value, size_t vlen,
                               void *ud);
int al__kad_get(al__kad *kad, const uint8_t *key, size_t klen,
                al__kad_get_cb cb, void *ud);

/* Peer routing: an iterative FIND_NODE towards peer's own id, so that its
 * addresses (known to the peers closest to it) reach the swarm's address
 * book and it gets dialed. cb gets 0 when peer itself answered, else
 * AL_ENOTFOUND, AL_ETIMEDOUT or AL_ECANCELED; never inside the call. */
int al__kad_find_peer(al__kad *kad, const al_peer_id *peer, al__kad_done_cb cb,
                      void *ud);

/* Drops a record from the local store (unregister); a tombstone (empty
 * value) is put by the caller when peers should forget it too. */
int al__kad_remove_local(al__kad *kad, const uint8_t *key, size_t klen);

/* Counts for diagnostics and tests. */
size_t al__kad_routing_size(al__kad *kad);
size_t al__kad_store_size(al__kad *kad);

/* The engine (kad_core.h), for tests and diagnostics. */
struct al__kad_core *al__kad_core_of(al__kad *kad);

#endif
